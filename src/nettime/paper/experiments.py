"""The paper's experiments as model specs, generated from config ``experiments:``.

Each experiment names what a figure compares; this module turns it into entries of the model
registry (``config["models"]``, see :mod:`nettime.models.registry`) with stable, readable names, and
says which models and metric files each figure reads. Every generated model predicts only the
conditions its figure scores (an STL model: its own condition), so prediction stays cheap.

Config (all keys optional except ``base_model``)::

    experiments:
      base_model: multitask        # Seq+CT, trained embeddings, all training conditions
      multitask:                   # Fig 2: one MTL, one MTL-sampled per panel, one STL per
        budget: {epochs: 2}        #   condition (shared between panels); over training.defaults
        samples_per_condition: 512 #   per epoch (default: all; the paper)
        panels: {jund: {tfs: [JUND]}, jun_family: {tfs: [JUN, JUNB, JUND]}}
      feature_settings: [Seq, Seq+TF, Seq+CT, Seq+CT+TF]   # Fig 3a, each like the base model
      random_at_training: [random_tf, random_cell, random_both]   # Fig 4b, each like the base
      families: {JUN: [JUN, JUNB, JUND]}                   # Fig 4c and its finding
      baselines:                   # Figs 3b, 3c, thesis Fig 4.5, Table 4.1
        feature_set: Seq+DNase     #   the NetTIME model they are compared with (like the base)
        leopard: {budget: {steps: 200}, options: {window: 1024}}   # each: a model of that
        catchitt: {options: {rounds: 5}}                           #   kind on the training
        deepbind: {budget: {steps: 200}}                           #   conditions

This module imports no torch, so Snakefiles can use it at parse time.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from nettime.config import ConfigError, Problem, Project, split_condition
from nettime.models.registry import select_conditions

#: Fig 4b variants: embedding mode -> the label the figure uses.
TRAINING_VARIANTS = {"random_tf": "random TF", "random_cell": "random CT",
                     "random_both": "random both"}


def slug(name: str) -> str:
    """A model-name-safe lower-case form of a feature set or panel name (Seq+CT -> seq_ct)."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def stl_name(condition: str) -> str:
    """The single-task model of a condition: ``stl_{TF}_{cell}``."""
    tf, cell = split_condition(condition)
    return f"stl_{tf}_{cell}"


def multitask_names(panel: str) -> dict[str, str]:
    """Arm -> model name of a Fig 2 panel (the STL arm is per condition)."""
    return {"MTL": f"fig2_{slug(panel)}_mtl", "MTL-sampled": f"fig2_{slug(panel)}_sampled"}


def feature_model(experiments: Mapping[str, Any], models: Mapping[str, Any],
                  feature_set: str) -> str:
    """The model of a Fig 3a feature setting: the base model where its feature set matches."""
    base = experiments["base_model"]
    base_set = (models.get(base) or {}).get("feature_set")
    if feature_set == base_set:
        return base
    return f"fig3a_{slug(feature_set)}"


def training_variant_model(experiments: Mapping[str, Any], mode: str) -> str:
    """The Fig 4b model trained with embedding mode ``mode`` (``trained``: the base)."""
    return experiments["base_model"] if mode == "trained" else f"fig4b_{mode}"


#: Panels of the supervised experiments: every condition a model may be trained on. ``heldout``
#: conditions are left out of the transfer experiments' pretrained models only; ``new``
#: conditions are beyond the panel (transfer to new TFs and cell types).
SUPERVISED_PANELS = ("train", "heldout")
NEW_PANEL = "new"


def supervised_conditions(project: Project) -> list[str]:
    """The conditions of the supervised panels."""
    return project.condition_names(SUPERVISED_PANELS)


def new_conditions(project: Project) -> list[str]:
    """The conditions beyond the panel (TFs or cell types no supervised condition has)."""
    return project.condition_names([NEW_PANEL])


def panel_conditions(project: Project, panel: Mapping[str, Any], where: str) -> list[str]:
    """Supervised conditions of a Fig 2 panel's TFs."""
    return select_conditions(project, {"tf": list(panel["tfs"]),
                                       "panel": list(SUPERVISED_PANELS)}, where)


def base_model(project: Project) -> tuple[str, dict[str, Any]]:
    """The base model's name and raw spec (its feature set resolved; it may come from the
    training defaults). It must be a model of ``config["models"]``."""
    config = project.config
    base = config["experiments"]["base_model"]
    if base not in (config.get("models") or {}):
        raise ConfigError([Problem(project.config_path, f"base_model {base!r} is not a model "
                                   f"(models: {', '.join(config.get('models') or {})})",
                                   column="experiments.base_model")])
    return base, _base_spec(project)


def multitask_models(project: Project) -> dict[str, dict[str, Any]]:
    """Fig 2: per panel an MTL and an MTL-sampled model, and one STL model per condition
    (shared between panels)."""
    section = (project.config.get("experiments") or {}).get("multitask") or {}
    if not section.get("panels"):
        return {}
    base_set = base_model(project)[1]["feature_set"]
    fig2_budget = dict(section.get("budget") or {})
    # Samples per condition and epoch (None: all). A smaller number shrinks every arm alike:
    # MTL still sees n_conditions times the data of STL, and MTL-sampled as much as STL.
    per_condition = section.get("samples_per_condition")
    single = "single_task" if per_condition is None else int(per_condition)
    out: dict[str, dict[str, Any]] = {}
    stl: dict[str, None] = {}
    for panel, spec in section["panels"].items():
        conditions = panel_conditions(project, spec, f"experiments.multitask.panels.{panel}")
        names = multitask_names(panel)
        common = {"feature_set": base_set, "conditions": conditions, "predict": conditions,
                  "budget": fig2_budget}
        out[names["MTL"]] = {**common, "sample_count": None if per_condition is None
                             else int(per_condition) * len(conditions)}
        out[names["MTL-sampled"]] = {**common, "sample_count": single}
        stl.update(dict.fromkeys(conditions))
    for condition in stl:
        out[stl_name(condition)] = {"feature_set": base_set, "conditions": [condition],
                                    "predict": [condition], "budget": fig2_budget,
                                    "sample_count": None if per_condition is None
                                    else int(per_condition)}
    return out


def feature_setting_models(project: Project) -> dict[str, dict[str, Any]]:
    """Fig 3a: one model per feature setting, like the base model but for its inputs (the
    base model itself serves its own feature set)."""
    experiments = project.config.get("experiments") or {}
    if not experiments.get("feature_settings"):
        return {}
    base, base_raw = base_model(project)
    out = {}
    for feature_set in experiments["feature_settings"]:
        name = feature_model(experiments, {base: base_raw}, feature_set)
        if name != base:
            out[name] = _derived(base_raw, feature_set=feature_set)
    return out


def random_at_training_models(project: Project) -> dict[str, dict[str, Any]]:
    """Fig 4b: one model per embedding mode with random vectors at training time, like the
    base model but for that mode."""
    experiments = project.config.get("experiments") or {}
    if not experiments.get("random_at_training"):
        return {}
    base_raw = base_model(project)[1]
    return {training_variant_model(experiments, mode): _derived(base_raw, embeddings=mode)
            for mode in experiments["random_at_training"]}


#: Baseline kinds the experiments may name, and the feature set of the inputs each one reads
#: (its spec's feature set: the workflow declares the data files of a model from it).
BASELINES = {"leopard": "Seq+DNase", "catchitt": "Seq+DNase+TF", "deepbind": "Seq"}
#: The NetTIME model the baselines are compared with (Seq+DNase in the paper).
COMPARISON_MODEL = "fig3b_seq_dnase"


def baseline_models(project: Project) -> dict[str, dict[str, Any]]:
    """Figs 3b, 3c, 4.5 and Table 4.1: NetTIME with the baselines' inputs (like the base
    model, but for its feature set) and one model of each configured baseline kind, all on the
    training conditions; the baselines' models are named by their kind."""
    section = (project.config.get("experiments") or {}).get("baselines") or {}
    if not section:
        return {}
    base_raw = base_model(project)[1]
    out = {COMPARISON_MODEL: _derived(base_raw,
                                      feature_set=section.get("feature_set", "Seq+DNase"))}
    for kind in BASELINES:
        if kind in section:
            out[kind] = {"kind": kind, "feature_set": BASELINES[kind],
                         "conditions": supervised_conditions(project), "predict": "trained",
                         **copy.deepcopy(section[kind] or {})}
    return out


def _base_spec(project: Project) -> dict[str, Any]:
    """The base model's raw spec with its feature set resolved (it may come from defaults)."""
    config = project.config
    base = config["experiments"]["base_model"]
    spec = copy.deepcopy((config.get("models") or {}).get(base) or {})
    spec["feature_set"] = spec.get("feature_set") or (
        (config.get("training") or {}).get("defaults") or {}).get("feature_set", "Seq+CT")
    return spec


def _derived(base: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
    # Same budget, seed and conditions as the base model: only the changed factor differs;
    # scored on what it is trained on.
    spec = copy.deepcopy(dict(base))
    spec.update(changes)
    spec["predict"] = "trained"
    return spec




def families(project: Project) -> dict[str, str]:
    """TF -> family name, from ``experiments.families``."""
    out = {}
    for family, tfs in ((project.config.get("experiments") or {}).get("families") or {}).items():
        for tf in tfs:
            out[tf] = family
    return out
