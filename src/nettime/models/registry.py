"""The model registry: named model specs in config, resolved against the project.

``config["models"]`` maps a model name to a spec; every key left out comes from
``config["training"]["defaults"]``, then from the paper's values (:data:`PAPER_SPEC`). A spec
says which kind of model it is (NetTIME, or a baseline of :data:`MODEL_KINDS`), what to train
(feature set, conditions, sample count), how (embedding mode, sizes, budget, seed, the kind's
own options) and from what (``init: scratch`` or ``init: {from: <model>}`` to fine-tune a
trained model on the spec's conditions). This module imports no torch, so Snakefiles can use
it at parse time.

Condition selectors (``conditions`` and ``predict``):
- a panel name (``train``, ``heldout``, ``new``) or ``all``; for ``predict`` also ``trained``
  (the model's own conditions, the default: a model is scored on what it was trained on);
- a list of condition names ``TF.cell``;
- a mapping with any of ``tf``, ``cell_type``, ``panel`` (each a name or a list), e.g.
  ``{tf: JUND}`` or ``{tf: [JUN, JUNB, JUND], panel: train}``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nettime.config import ConfigError, Problem, Project, split_condition

#: Kinds of model a spec may name: NetTIME and the reimplemented baselines
#: (:mod:`nettime.baselines`); each trains on the data sets and writes the predictions file.
MODEL_KINDS = ("nettime", "leopard", "catchitt", "deepbind")

#: The original implementation's sizes and training budget.
PAPER_SPEC: dict[str, Any] = {
    "kind": "nettime",
    "feature_set": "Seq+CT",
    "conditions": "train",
    "embeddings": "both",
    "sample_count": None,
    "init": "scratch",
    "sizes": {"embedding_dim": 50, "tf_table_size": 256, "cell_table_size": 64,
              "dropout": 0.1},
    "budget": {"steps": None, "epochs": 50, "batch_size": 1800, "eval_every": 500,
               "lr": 1e-4, "valid_examples": None, "patience": None, "bound_fraction": None},
    "seed": 1,
    "predict": "trained",
    "options": {},
}

#: Training-rule settings shared by every model.
TRAINING_DEFAULTS: dict[str, Any] = {"device": "auto", "gpus": 1, "threads": 2,
                                     "mem_mb": 8000, "runtime": 1440, "amp": True,
                                     "predict_batch_size": 64, "cpu_bf16_inference": False}


@dataclass(frozen=True)
class ModelSpec:
    """A resolved model spec.

    Attributes
    ----------
    name
        The model's name (its directory under ``results/models``).
    feature_set
        Name of a feature set of ``config["feature_sets"]``.
    conditions
        Condition names trained on (fine-tuned on, with ``init_from``).
    embeddings
        Embedding mode (``nettime.model.EMBEDDING_MODES``).
    sample_count
        Subsample the training samples to this many (None: all; ``"single_task"``: as many as
        one condition has).
    init_from
        Name of the model to fine-tune, or None to train from scratch.
    sizes, budget
        Network sizes and training budget (see :data:`PAPER_SPEC` for the keys).
    seed
        Seed of initialisation, sampling and dropout.
    predict
        Condition names to predict (trained or not); only those whose TF and cell type the
        model knows are predicted (see :func:`predictable`).
    kind
        A key of :data:`MODEL_KINDS`.
    options
        The kind's own settings (a baseline's window, bins, rounds, ...; see its module).
    """

    name: str
    feature_set: str
    conditions: tuple[str, ...]
    embeddings: str
    sample_count: int | str | None
    init_from: str | None
    sizes: dict[str, Any]
    budget: dict[str, Any]
    seed: int
    predict: tuple[str, ...]
    kind: str = "nettime"
    options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = {"name": self.name, "feature_set": self.feature_set,
               "conditions": list(self.conditions), "embeddings": self.embeddings,
               "sample_count": self.sample_count, "init_from": self.init_from,
               "sizes": dict(self.sizes), "budget": dict(self.budget), "seed": self.seed,
               "predict": list(self.predict)}
        if self.kind != "nettime":  # NetTIME's records stay as they were before kinds
            out.update(kind=self.kind, options=dict(self.options))
        return out


def paper_spec(name: str, conditions: Sequence[str], **overrides: Any) -> ModelSpec:
    """A resolved spec with the paper's defaults (:data:`PAPER_SPEC`), for use outside a
    configuration.

    Parameters
    ----------
    name
        The model's name.
    conditions
        Condition names ``TF.cell`` to train on; they are also what the model predicts unless
        ``predict`` is given.
    overrides
        Any key of :data:`PAPER_SPEC`; ``sizes`` and ``budget`` are merged key by key, e.g.
        ``budget={"steps": 100, "epochs": None}``.
    """
    unknown = sorted(set(overrides) - set(PAPER_SPEC) - {"conditions"})
    if unknown:
        raise ValueError(f"unknown spec key(s) {', '.join(unknown)}; keys: "
                         f"{', '.join(PAPER_SPEC)}")
    spec = _merge(PAPER_SPEC, overrides)
    init = spec["init"]
    return ModelSpec(name=name, feature_set=spec["feature_set"], conditions=tuple(conditions),
                     embeddings=spec["embeddings"], sample_count=spec["sample_count"],
                     init_from=init.get("from") if isinstance(init, Mapping) else None,
                     sizes=dict(spec["sizes"]), budget=dict(spec["budget"]),
                     seed=int(spec["seed"]),
                     predict=tuple(overrides.get("predict") or conditions),
                     kind=spec["kind"], options=dict(spec["options"]))


def training_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """``config["training"]`` over :data:`TRAINING_DEFAULTS` (without ``defaults``)."""
    section = dict(config.get("training") or {})
    section.pop("defaults", None)
    return {**TRAINING_DEFAULTS, **section}


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def select_conditions(project: Project, selector: Any, where: str) -> list[str]:
    """Condition names chosen by a selector (see the module docstring)."""
    frame = project.conditions
    known = list(frame["condition"])
    if isinstance(selector, str):
        if selector == "all":
            return known
        panels = sorted(set(frame["panel"]))
        if selector not in panels:
            raise ConfigError([Problem(project.config_path, f"{selector!r} is neither 'all' "
                                       f"nor a panel (panels: {', '.join(panels)})",
                                       column=where)])
        return project.condition_names([selector])
    if isinstance(selector, list):
        missing = [c for c in selector if c not in known]
        if missing:
            raise ConfigError([Problem(project.config_path, f"unknown condition(s) "
                                       f"{', '.join(missing)} (not in {project.config['conditions']})",
                                       column=where)])
        return list(dict.fromkeys(selector))
    if isinstance(selector, Mapping):
        mask = frame["condition"].notna()
        columns = {"tf": "tf", "cell_type": "cell_type", "panel": "panel"}
        for key, value in selector.items():
            if key not in columns:
                raise ConfigError([Problem(project.config_path, f"unknown selector key "
                                           f"{key!r}; use tf, cell_type, panel",
                                           column=where)])
            values = [value] if isinstance(value, str) else list(value)
            mask &= frame[columns[key]].isin(values)
        chosen = list(frame.loc[mask, "condition"])
        if not chosen:
            raise ConfigError([Problem(project.config_path, f"the selector {dict(selector)} "
                                       "matches no condition", column=where)])
        return chosen
    raise ConfigError([Problem(project.config_path, "expected a panel name, 'all', a list of "
                               "conditions or a mapping of tf/cell_type/panel", column=where)])


def model_specs(project: Project) -> dict[str, ModelSpec]:
    """Every model of ``config["models"]``, resolved; problems raise one ConfigError."""
    config = project.config
    defaults = _merge(PAPER_SPEC, (config.get("training") or {}).get("defaults") or {})
    models = config.get("models") or {}
    feature_sets = config.get("feature_sets") or {}
    specs: dict[str, ModelSpec] = {}
    problems: list[Problem] = []
    for name, raw in models.items():
        spec = _merge(defaults, raw or {})
        where = f"models.{name}"
        try:
            conditions = select_conditions(project, spec["conditions"], f"{where}.conditions")
            predict = (conditions if spec["predict"] == "trained" else
                       select_conditions(project, spec["predict"], f"{where}.predict"))
        except ConfigError as error:
            problems += error.problems
            continue
        if feature_sets and spec["feature_set"] not in feature_sets:
            problems.append(Problem(project.config_path, f"unknown feature set "
                                    f"{spec['feature_set']!r} (feature_sets: "
                                    f"{', '.join(feature_sets)})", column=f"{where}.feature_set"))
        init = spec["init"]
        init_from = None
        if isinstance(init, Mapping):
            init_from = init.get("from")
            if init_from not in models or init_from == name:
                problems.append(Problem(project.config_path, f"init.from names "
                                        f"{init_from!r}, which is not another model "
                                        f"(models: {', '.join(models)})", column=f"{where}.init"))
        elif init != "scratch":
            problems.append(Problem(project.config_path, "init must be 'scratch' or "
                                    "{from: <model>}", column=f"{where}.init"))
        budget = spec["budget"]
        if spec["kind"] != "nettime" and budget.get("bound_fraction") is not None:
            # The baselines keep their own samplers; a default meant for NetTIME skips them.
            if "bound_fraction" in ((raw or {}).get("budget") or {}):
                problems.append(Problem(project.config_path, "bound_fraction is a sampling of "
                                        f"NetTIME models; kind {spec['kind']!r} keeps its own",
                                        column=f"{where}.budget.bound_fraction"))
            budget = {**budget, "bound_fraction": None}
        if budget.get("steps") is None and budget.get("epochs") is None:
            problems.append(Problem(project.config_path, "the budget needs steps or epochs",
                                    column=f"{where}.budget"))
        if spec["kind"] not in MODEL_KINDS:
            problems.append(Problem(project.config_path, f"unknown kind {spec['kind']!r}; "
                                    f"allowed: {', '.join(MODEL_KINDS)}", column=f"{where}.kind"))
        specs[name] = ModelSpec(name=name, feature_set=spec["feature_set"],
                                conditions=tuple(conditions), embeddings=spec["embeddings"],
                                sample_count=spec["sample_count"], init_from=init_from,
                                sizes=dict(spec["sizes"]), budget=dict(budget),
                                seed=int(spec["seed"]), predict=tuple(predict),
                                kind=spec["kind"], options=dict(spec["options"] or {}))
    problems += _check_chains(project, specs)
    if problems:
        raise ConfigError(problems)
    return specs


def _check_chains(project: Project, specs: Mapping[str, ModelSpec]) -> list[Problem]:
    """Fine-tuning chains must end at a scratch model (no cycles)."""
    problems = []
    for name in specs:
        seen = [name]
        current = specs[name].init_from
        while current is not None and current in specs:
            if current in seen:
                problems.append(Problem(project.config_path, "fine-tuning cycle: "
                                        + " -> ".join(seen + [current]),
                                        column=f"models.{name}.init"))
                break
            seen.append(current)
            current = specs[current].init_from
    return problems


def vocabularies(specs: Mapping[str, ModelSpec], name: str) -> tuple[list[str], list[str]]:
    """TF and cell-type names a model knows: those of its training conditions, after those
    of the model it fine-tunes (whose rows keep their positions).

    Only the model's own chain decides this, so adding rows to the conditions sheet does not
    change (and retrain) existing models.
    """
    spec = specs[name]
    tfs, cells = vocabularies(specs, spec.init_from) if spec.init_from else ([], [])
    for tf, cell in map(split_condition, spec.conditions):
        if tf not in tfs:
            tfs.append(tf)
        if cell not in cells:
            cells.append(cell)
    return tfs, cells


def predictable(specs: Mapping[str, ModelSpec], name: str) -> list[str]:
    """The model's ``predict`` conditions whose TF and cell type it knows (trained or not as
    a pair)."""
    tfs, cells = vocabularies(specs, name)
    return [c for c in specs[name].predict
            if split_condition(c)[0] in tfs and split_condition(c)[1] in cells]


def chain_conditions(specs: Mapping[str, ModelSpec], name: str) -> list[str]:
    """Every condition a model was trained on: those of the models it fine-tunes, then its
    own."""
    spec = specs[name]
    earlier = chain_conditions(specs, spec.init_from) if spec.init_from else []
    return list(dict.fromkeys([*earlier, *spec.conditions]))


def average_train_cells(specs: Mapping[str, ModelSpec], name: str) -> dict[str, list[str]]:
    """Average Train: each predictable condition [p, q] -> the cell types r != q where [p, r]
    was trained (along the fine-tuning chain), whose embeddings predict it in turn on q's
    features. A condition whose TF was trained in no other cell type is left out (it has no
    Average Train prediction)."""
    trained = [split_condition(c) for c in chain_conditions(specs, name)]
    out = {}
    for condition in predictable(specs, name):
        tf, cell = split_condition(condition)
        cells = [r for p, r in trained if p == tf and r != cell]
        if cells:
            out[condition] = list(dict.fromkeys(cells))
    return out
