"""The transfer experiments as model specs: Fig 5b, Supp Fig S5 and thesis Fig 4.7 (transfer
to held-out conditions within the panels), Fig 6a / thesis Fig 4.8a (new conditions beyond
them).

Panels of the conditions sheet: ``train`` conditions train every pretrained model; ``heldout``
conditions [p, q] (TF p and cell type q each seen in ``train``, the pair not) are the transfer
targets of Fig 5; ``new`` conditions bring a TF or a cell type no supervised condition has
(Fig 6a).

Fig 5 (``experiments.transfer``), per held-out condition [p, q]:

- Supervised: the base model (trained with [p, q]);
- Embedding Transfer: the leave-out model :data:`PRETRAINED` (like the base model, on the
  ``train`` panel) with p's and q's trained embeddings;
- Average Train: the leave-out model's predictions with the embedding of each cell type r
  where [p, r] was trained, on q's features, averaged (prediction variant ``average_train``);
- No Embedding Transfer (AgentBind-style): :data:`PRETRAINED_NONE`, trained without embeddings,
  fine-tuned on p's other conditions;
- fine-tuned copies of both leave-out models per target and fine-tuning set: the paper's
  [p, *] minus [p, q] and the thesis's [p, *] and [*, q] minus [p, q], both within ``train``;
- the baselines' Average Train transfer: each configured baseline trained on ``train``,
  predicting the held-out conditions from their own features.

Fig 6a (``experiments.new_conditions``), per new condition [p', q']: the base model, one like
it without embeddings and one with random embeddings (the Fig 4b model), each fine-tuned on
[p', *] and [*, q'] minus [p', q'] over the whole sheet; fine-tuning grows the embedding tables
for a new TF or cell type, keeping the trained rows.

This module imports no torch, so Snakefiles can use it at parse time.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from nettime.config import ConfigError, Problem, Project, split_condition
from nettime.paper.experiments import (
    BASELINES,
    base_model,
    supervised_conditions,
    training_variant_model,
)

#: The leave-out models of Fig 5: trained on the ``train`` panel only.
PRETRAINED = "transfer_pretrained"
PRETRAINED_NONE = "transfer_pretrained_none"
#: The fine-tuning sets: the paper's [p, *] \ [p, q] and the thesis's [p, *] U [*, q] \ [p, q].
FINE_TUNING_SETS = ("paper", "thesis")
#: Baseline kinds whose Average Train transfer Supp Fig S5a/c compare.
TRANSFER_BASELINES = ("catchitt", "leopard")
#: Fig 6a's controls: embedding mode of the pretrained model each starts from.
NEW_CONTROLS = {"none": "none", "random": "random_both"}
#: Fig 6a: the model trained with no embeddings, like the base model otherwise.
NEW_PRETRAINED_NONE = "fig6a_pretrained_none"


def _section(project: Project, key: str) -> dict[str, Any]:
    return dict((project.config.get("experiments") or {}).get(key) or {})


def transfer_section(project: Project) -> dict[str, Any]:
    """``experiments.transfer`` (empty: Fig 5 is not configured)."""
    return _section(project, "transfer")


def new_section(project: Project) -> dict[str, Any]:
    """``experiments.new_conditions`` (empty: Fig 6a is not configured)."""
    return _section(project, "new_conditions")


def transfer_sets(project: Project) -> list[str]:
    return list(transfer_section(project).get("sets") or FINE_TUNING_SETS)


def transfer_baselines(project: Project) -> list[str]:
    """Baselines of ``experiments.baselines`` whose transfer Supp Fig S5a/c compare."""
    configured = (project.config.get("experiments") or {}).get("baselines") or {}
    wanted = transfer_section(project).get("baselines", TRANSFER_BASELINES)
    return [kind for kind in wanted if kind in configured]


def heldout_targets(project: Project) -> list[str]:
    """The held-out conditions [p, q]; p and q must each have a ``train`` condition (else the
    leave-out model knows no embedding for them)."""
    train = [split_condition(c) for c in project.condition_names(["train"])]
    tfs, cells = {t for t, _ in train}, {c for _, c in train}
    targets = project.condition_names(["heldout"])
    problems = [Problem(project.config_path, f"heldout condition {c} has no train condition of "
                        f"its {'TF' if split_condition(c)[0] not in tfs else 'cell type'}: a "
                        "transfer target needs both seen in the train panel",
                        column="experiments.transfer")
                for c in targets
                if split_condition(c)[0] not in tfs or split_condition(c)[1] not in cells]
    if problems:
        raise ConfigError(problems)
    return targets


def fine_tuning_conditions(target: str, pool: Sequence[str], which: str) -> list[str]:
    """The conditions of ``pool`` a model is fine-tuned on for ``target`` [p, q]: [p, *]
    (``paper``) or [p, *] and [*, q] (``thesis``, ``new``), without [p, q]."""
    tf, cell = split_condition(target)
    out = []
    for condition in pool:
        t, c = split_condition(condition)
        if condition != target and (t == tf or (which != "paper" and c == cell)):
            out.append(condition)
    return out


def tuned_name(target: str, which: str, mode: str = "trained") -> str:
    """A fine-tuned model: ``tune_{TF}_{cell}_{set}`` (``_none`` without embeddings) for Fig 5,
    ``new_{TF}_{cell}`` (``_none``, ``_random``) for Fig 6a."""
    tf, cell = split_condition(target)
    suffix = "" if mode == "trained" else f"_{mode}"
    if which == "new":
        return f"new_{tf}_{cell}{suffix}"
    return f"tune_{tf}_{cell}_{which}{suffix}"


def baseline_transfer_name(kind: str) -> str:
    """A baseline trained on the ``train`` panel for Supp Fig S5a/c."""
    return f"{kind}_transfer"


def _like_base(base: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
    spec = copy.deepcopy(dict(base))
    spec.update(changes)
    return spec


def _tuned(init: str, conditions: list[str], target: str,
           fine_tune: Mapping[str, Any], feature_set: str, embeddings: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"init": {"from": init}, "conditions": conditions,
                            "predict": [target], "feature_set": feature_set,
                            "embeddings": embeddings,
                            "budget": copy.deepcopy(dict(fine_tune.get("budget") or {}))}
    if "seed" in fine_tune:
        spec["seed"] = int(fine_tune["seed"])
    return spec


def transfer_models(project: Project) -> dict[str, dict[str, Any]]:
    """Fig 5b and Supp Fig S5 / thesis Fig 4.7: the leave-out models, their fine-tuned copies
    per held-out condition and set, and the baselines trained on ``train``."""
    section = transfer_section(project)
    if not section:
        return {}
    targets = heldout_targets(project)
    base_raw = base_model(project)[1]
    train = project.condition_names(["train"])
    leave_out = {"conditions": train, "predict": targets}
    if section.get("budget"):
        leave_out["budget"] = copy.deepcopy(section["budget"])
    out = {PRETRAINED: _like_base(base_raw, **leave_out),
           PRETRAINED_NONE: _like_base(base_raw, embeddings="none", **leave_out)}
    fine_tune = section.get("fine_tune") or {}
    for target in targets:
        for which in transfer_sets(project):
            conditions = fine_tuning_conditions(target, train, which)
            for init, mode in ((PRETRAINED, "trained"), (PRETRAINED_NONE, "none")):
                out[tuned_name(target, which, mode)] = _tuned(
                    init, conditions, target, fine_tune, base_raw["feature_set"],
                    "both" if mode == "trained" else "none")
    baselines = (project.config.get("experiments") or {}).get("baselines") or {}
    for kind in transfer_baselines(project):
        out[baseline_transfer_name(kind)] = {
            "kind": kind, "feature_set": BASELINES[kind], "conditions": train,
            "predict": targets, **copy.deepcopy(baselines[kind] or {})}
    return out


def new_targets(project: Project) -> list[str]:
    """Fig 6a's targets: ``experiments.new_conditions.conditions`` or the ``new`` panel."""
    section = new_section(project)
    known = project.condition_names()
    targets = list(section.get("conditions") or project.condition_names(["new"]))
    missing = [c for c in targets if c not in known]
    if missing:
        raise ConfigError([Problem(project.config_path, "unknown condition(s) "
                                   f"{', '.join(missing)} (not in the conditions sheet)",
                                   column="experiments.new_conditions.conditions")])
    return targets


def new_pretrained(project: Project) -> dict[str, str]:
    """Fig 6a: control (``trained``, ``none``, ``random``) -> the pretrained model it
    fine-tunes."""
    experiments = project.config.get("experiments") or {}
    out = {"trained": base_model(project)[0]}
    for control in new_section(project).get("controls", list(NEW_CONTROLS)):
        out[control] = (NEW_PRETRAINED_NONE if control == "none" else
                        training_variant_model(experiments, NEW_CONTROLS[control]))
    return out


def new_condition_models(project: Project) -> dict[str, dict[str, Any]]:
    """Fig 6a: per new condition the base model and each control fine-tuned on [p', *] and
    [*, q'] minus [p', q'] (every panel of the sheet); the control's pretrained models."""
    section = new_section(project)
    if not section:
        return {}
    base, base_raw = base_model(project)
    pretrained = new_pretrained(project)
    out: dict[str, dict[str, Any]] = {}
    for control, name in pretrained.items():
        if control != "trained":
            out[name] = _like_base(base_raw, embeddings=NEW_CONTROLS[control],
                                   predict="trained")
    base_conditions = set(supervised_conditions(project))
    seen_tfs = {split_condition(c)[0] for c in base_conditions}
    seen_cells = {split_condition(c)[1] for c in base_conditions}
    problems = []
    fine_tune = section.get("fine_tune") or {}
    for target in new_targets(project):
        conditions = fine_tuning_conditions(target, project.condition_names(), "new")
        tf, cell = split_condition(target)
        tfs = seen_tfs | {split_condition(c)[0] for c in conditions}
        cells = seen_cells | {split_condition(c)[1] for c in conditions}
        if tf not in tfs or cell not in cells or not conditions:
            what = f"TF {tf}" if tf not in tfs else f"cell type {cell}"
            problems.append(Problem(project.config_path, f"new condition {target}: no other "
                                    f"condition of its {what} to fine-tune on; add one to "
                                    "the conditions sheet", column="experiments.new_conditions"))
            continue
        for control, init in pretrained.items():
            mode = "both" if control == "trained" else NEW_CONTROLS[control]
            out[tuned_name(target, "new", control)] = _tuned(
                init, conditions, target, fine_tune, base_raw["feature_set"], mode)
    if problems:
        raise ConfigError(problems)
    return out
