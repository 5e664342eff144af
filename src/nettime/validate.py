"""Everything about a configuration that can be checked before any work starts, in one function
that the workflow (``_load()`` in ``workflow/rules/common.smk``) and ``nettime validate`` both
call, so that "valid" from one means that the other starts too.

:func:`check_project` checks, in order, stopping after a step that found problems:

1. the configuration file (UTF-8 YAML, no key given twice, the schema) and both sheets, with
   the checks across them (:func:`nettime.config.load_project`);
2. the names and references of the configuration: names short enough for file names, feature
   sets that exist and whose assays every cell type of the sheets has, condition selectors
   whose TFs, cell types and panels are in the sheets, the TFs of the experiments' panels;
3. the model registry and the figure plans (:func:`nettime.paper.figures.model_registry`,
   :func:`~nettime.paper.figures.plan_figures`: selectors, base model, generated models);
4. the motifs (JASPAR IDs known, MEME files readable, a motif for every TF whose model reads
   motif channels; for the simulated source also that a TF beyond the simulated world can bind
   in it) and the TF families of Fig 4c.

Values given on the command line (``snakemake --config key=value``) are coerced as Snakemake
users expect (a string is read as YAML where the schema wants a number, a boolean, a list or a
mapping) and their problems are reported as the command line's, not the file's.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from nettime.config import (
    NAME_LIMIT,
    ConfigError,
    Problem,
    Project,
    load_project,
    load_schema,
    read_config,
    split_condition,
)
from nettime.inputs import MAX_INPUT_BYTES, attribute, resolve_ref, shown
from nettime.models.registry import ModelSpec
from nettime.motifs.matrices import NO_MOTIF
from nettime.paper.declare import Figure, FigurePlan
from nettime.paper.figures import model_registry, plan_figures

#: Panels a condition may be in (the conditions sheet's ``panel`` column).
PANELS = ("train", "heldout", "new")
SUPERVISED = ("train", "heldout")


@dataclass
class Checked:
    """A configuration that passed every check.

    Attributes
    ----------
    project
        The configuration and its sheets.
    user_models
        Names of the models of ``config["models"]`` (before the figures add theirs).
    models
        Every model spec: the user's and those the figures generate.
    figures
        Every planned figure: name -> (declaration, plan).
    """

    project: Project
    user_models: list[str]
    models: dict[str, ModelSpec]
    figures: dict[str, tuple[Figure, FigurePlan]]


def check_project(config_path: str | os.PathLike[str] = "config/config.yaml",
                  config: dict[str, Any] | None = None,
                  overrides: Mapping[str, Any] | None = None) -> Checked:
    """Check a configuration, its sheets, models, figures and motifs before any work.

    Parameters
    ----------
    config_path
        The configuration file. Sheet paths in it are relative to the working directory.
    config
        The configuration as Snakemake parsed it (its ``--config`` values merged in; coerced
        here in place); read from ``config_path`` when not given.
    overrides
        The values of ``snakemake --config key=value`` (Snakemake's parsed mapping).

    Raises
    ------
    ConfigError
        With one problem per line, each naming its file (or the command line), line, row and
        column or key.
    """
    path = str(config_path)
    if config is None:
        config, lines = read_config(path)
    else:
        # The file as Snakemake read it: line numbers, and keys given twice (Snakemake keeps
        # the last silently).
        lines = read_config(path)[1] if os.path.exists(path) else {}
        coerce_overrides(config, overrides or {})

    def stop(problems: list[Problem]) -> None:
        if problems:
            problems = [_with_line(p, path, lines) for p in attribute(problems, path, overrides)]
            raise ConfigError(problems)

    project = load_project(path, config=config, lines=lines, overrides=overrides)
    stop(_check_names(project, lines) + _check_references(project))
    named = {name for _, name in _feature_set_uses(project.config)}  # before the figures' models
    user_models = list(project.config.get("models") or {})
    try:
        models = model_registry(project)
        figures = plan_figures(project)
    except ConfigError as error:
        stop(error.problems)
        raise
    stop(_check_motifs(project, models) + _check_families(project, models)
         + _check_model_features(project, models, named))
    return Checked(project, user_models, models, figures)


def _with_line(problem: Problem, path: str, lines: Mapping[tuple[Any, ...], int]) -> Problem:
    """The problem with the line of its key in ``path``, when it names one and has none."""
    if problem.file != path or problem.line is not None or not problem.column:
        return problem
    keys = tuple(int(k) if k.isdigit() else k
                 for k in problem.column.replace("[", ".").replace("]", "").split("."))
    while keys and keys not in lines:
        keys = keys[:-1]
    if not keys:
        return problem
    return Problem(problem.file, problem.message, line=lines[keys], row=problem.row,
                   column=problem.column)


# ---- values from the command line ----------------------------------------------------------------


def coerce_overrides(config: dict[str, Any], overrides: Mapping[str, Any]) -> None:
    """Give the values of ``snakemake --config`` the types the schema wants, in place.

    Snakemake reads ``key=value`` as a number or a boolean where it can, else as YAML whose
    nested values all stay strings (``simulation="{seed: 3}"`` gives ``{"seed": "3"}``). A
    string where the schema wants another type is read as YAML; a number where it wants a
    string becomes its text. Only the keys given on the command line are touched.
    """
    root = load_schema("config")
    validator = jsonschema.Draft202012Validator(root)
    _coerce_into(config, overrides, root, root, validator)


def _coerce_into(target: dict[str, Any], given: Mapping[str, Any], schema: Mapping[str, Any],
                 root: Mapping[str, Any], validator: jsonschema.Validator) -> None:
    for key, value in given.items():
        sub = _subschema(schema, key, root)
        if sub is None or key not in target:
            continue
        if isinstance(value, Mapping) and isinstance(target[key], dict):
            _coerce_into(target[key], value, sub, root, validator)
        else:
            target[key] = _coerce(target[key], sub, root, validator)


def _coerce(value: Any, schema: Mapping[str, Any], root: Mapping[str, Any],
            validator: jsonschema.Validator) -> Any:
    if validator.evolve(schema=schema).is_valid(value):
        return value
    if isinstance(value, str):
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError:
            return value
        return value if isinstance(parsed, str) else parsed
    if isinstance(value, list):
        items = _subschema(schema, 0, root)
        return [_coerce(v, items, root, validator) for v in value] if items else value
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            sub = _subschema(schema, key, root)
            out[key] = _coerce(item, sub, root, validator) if sub is not None else item
        return out
    if isinstance(value, int | float) and not isinstance(value, bool):
        text = str(value)
        if validator.evolve(schema=schema).is_valid(text):
            return text
    return value


def _subschema(schema: Mapping[str, Any], key: str | int,
               root: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The schema of ``key`` (an index for a list) within ``schema``, if it says."""
    schema = resolve_ref(root, schema)
    for alternative in [schema, *schema.get("anyOf", []), *schema.get("oneOf", [])]:
        alternative = resolve_ref(root, alternative)
        if isinstance(key, int) and isinstance(alternative.get("items"), Mapping):
            return alternative["items"]
        if not isinstance(key, int):
            if key in alternative.get("properties", {}):
                return alternative["properties"][key]
            if isinstance(alternative.get("additionalProperties"), Mapping):
                return alternative["additionalProperties"]
    return None


# ---- names and references --------------------------------------------------------------------


def _too_long(name: str, what: str) -> str | None:
    if len(name) <= NAME_LIMIT:
        return None
    return (f"the {what} name '{name[:20]}...' has {len(name)} characters; at most "
            f"{NAME_LIMIT} are allowed (names become file names, which may have at most 255 "
            "bytes)")


def _check_names(project: Project, lines: Mapping[tuple[Any, ...], int]) -> list[Problem]:
    """Names of the configuration that become file names are short enough (the key shown is
    the name's start)."""
    config, path = project.config, project.config_path
    experiments = config.get("experiments") or {}
    named = [(("models",), "model", config.get("models") or {}),
             (("feature_sets",), "feature set", config.get("feature_sets") or {}),
             (("experiments", "multitask", "panels"), "panel",
              (experiments.get("multitask") or {}).get("panels") or {})]
    problems = []
    for keys, what, mapping in named:
        for name in mapping:
            message = _too_long(str(name), what)
            if message:
                problems.append(Problem(path, message, line=lines.get((*keys, name)),
                                        column=".".join(keys) + f".{str(name)[:20]}..."))
    return problems


def _feature_set_uses(config: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """(key, feature set name) of every place of the configuration that names a feature set."""
    experiments = config.get("experiments") or {}
    defaults = (config.get("training") or {}).get("defaults") or {}
    uses = [("training.defaults.feature_set", defaults.get("feature_set"))]
    uses += [(f"models.{name}.feature_set", (spec or {}).get("feature_set"))
             for name, spec in (config.get("models") or {}).items()]
    uses += [(f"experiments.feature_settings[{i}]", name)
             for i, name in enumerate(experiments.get("feature_settings") or [])]
    uses.append(("experiments.baselines.feature_set",
                 (experiments.get("baselines") or {}).get("feature_set")))
    return [(key, name) for key, name in uses if name is not None]


def _lacking(project: Project, feature_set: str) -> str | None:
    """Why a feature set cannot be built for the sheets' cell types (None when it can)."""
    assays = list((project.config.get("feature_sets") or {})[feature_set].get("assays") or [])
    lacking = {cell: [a for a in assays if a not in project.assays_of(cell)]
               for cell in project.cell_types}
    lacking = {cell: missing for cell, missing in lacking.items() if missing}
    if not lacking:
        return None
    cells = ", ".join(f"{cell} ({', '.join(missing)})" for cell, missing in lacking.items())
    return (f"feature set {feature_set!r} needs assay(s) {', '.join(assays)}, which cell "
            f"type(s) of {project.config['cell_features']} lack: {cells}; add those rows or "
            "use another feature set")


def _check_references(project: Project) -> list[Problem]:
    """Feature sets, selectors and the experiments' TFs name things that exist."""
    config, path = project.config, project.config_path
    feature_sets = config.get("feature_sets") or {}
    problems = []
    for key, name in _feature_set_uses(config):
        if name not in feature_sets:
            problems.append(Problem(path, f"unknown feature set {shown(name)}; feature sets: "
                                    f"{', '.join(feature_sets)}", column=key))
        elif (why := _lacking(project, name)) is not None:
            problems.append(Problem(path, why, column=key))
    selectors = [("training.defaults", (config.get("training") or {}).get("defaults") or {})]
    selectors += [(f"models.{n}", spec or {}) for n, spec in (config.get("models") or {}).items()]
    for where, spec in selectors:
        for field in ("conditions", "predict"):
            if isinstance(spec.get(field), Mapping):
                problems += _check_selector(project, spec[field], f"{where}.{field}")
    experiments = config.get("experiments") or {}
    supervised = set(project.conditions.loc[project.conditions["panel"].isin(SUPERVISED), "tf"])
    panels = (experiments.get("multitask") or {}).get("panels") or {}
    for panel, spec in panels.items():
        for index, tf in enumerate((spec or {}).get("tfs") or []):
            if tf not in supervised:
                problems.append(Problem(path, f"TF {shown(tf)} has no train or heldout "
                                        f"condition in {config['conditions']} (TFs there: "
                                        f"{', '.join(sorted(supervised))})",
                                        column=f"experiments.multitask.panels.{panel}.tfs"
                                        f"[{index}]"))
    return problems


def _check_selector(project: Project, selector: Mapping[str, Any], where: str) -> list[Problem]:
    """Every TF, cell type and panel a mapping selector names is in the sheets: a name that is
    not would select nothing, silently, beside the names that do."""
    config, path = project.config, project.config_path
    conditions = project.conditions
    known = {"tf": list(dict.fromkeys(conditions["tf"])),
             "cell_type": list(dict.fromkeys(conditions["cell_type"])), "panel": list(PANELS)}
    problems = []
    for key, value in selector.items():
        if key not in known:
            continue  # the registry names an unknown selector key
        for name in [value] if isinstance(value, str) else list(value):
            if name in known[key]:
                continue
            if key == "cell_type" and name not in project.cell_types:
                why = f"has no rows in {config['cell_features']}"
            elif key == "cell_type":
                why = f"has no condition in {config['conditions']}"
            elif key == "tf":
                why = f"has no condition in {config['conditions']}"
            else:
                why = "is not a panel"
            what = {"tf": "TF", "cell_type": "cell type", "panel": "panel"}[key]
            problems.append(Problem(path, f"{what} {shown(name)} {why} (known: "
                                    f"{', '.join(known[key])})", column=f"{where}.{key}"))
    return problems


def _check_model_features(project: Project, models: Mapping[str, ModelSpec],
                          named: set[str]) -> list[Problem]:
    """Feature sets of generated models and defaults, but those ``named`` in the configuration
    (checked by :func:`_check_references`)."""
    problems, seen = [], set()
    for name, spec in models.items():
        if spec.feature_set in named or spec.feature_set in seen:
            continue
        seen.add(spec.feature_set)
        if spec.feature_set not in (project.config.get("feature_sets") or {}):
            continue  # the registry reports an unknown feature set
        why = _lacking(project, spec.feature_set)
        if why is not None:
            problems.append(Problem(project.config_path, f"model {name!r}: {why}",
                                    column=f"models.{name}"))
    return problems


# ---- motifs and families ------------------------------------------------------------------------


def _motif_tfs(project: Project, models: Mapping[str, ModelSpec]) -> dict[str, str]:
    """TF -> why it needs a motif: every TF of the simulated source, and each TF of a model
    whose feature set has motif channels."""
    if project.source == "simulated":
        return dict.fromkeys(project.tfs, "the simulated data set plants its sites")
    feature_sets = project.config.get("feature_sets") or {}
    out: dict[str, str] = {}
    for name, spec in models.items():
        if (feature_sets.get(spec.feature_set) or {}).get("motifs"):
            for condition in (*spec.conditions, *spec.predict):
                out.setdefault(split_condition(condition)[0], f"model {name!r} (feature set "
                               f"{spec.feature_set}) reads motif channels")
    return out


def _check_motifs(project: Project, models: Mapping[str, ModelSpec]) -> list[Problem]:
    from nettime.sources.simulate.common import check_new_conditions, load_motif_table

    path = project.config_path
    table = project.config.get("motifs") or {}
    needed = _motif_tfs(project, models)
    problems = []
    for tf, why in needed.items():
        if tf not in table and project.source != "simulated":  # config.py reports those
            problems.append(Problem(path, f"TF {tf!r} has no motif, and {why}; add '{tf}: "
                                    "<JASPAR matrix ID, MEME file or none>' under motifs",
                                    column="motifs"))
    base_dir = Path(path).parent
    for tf in needed:
        spec = str(table.get(tf, ""))
        if spec.endswith(".meme"):
            file = Path(spec) if Path(spec).exists() else base_dir / spec
            if file.exists() and (not file.is_file() or file.stat().st_size > MAX_INPUT_BYTES):
                problems.append(Problem(path, f"{spec} is not a regular file (a device, "
                                        "directory or pipe) or is larger than "
                                        f"{MAX_INPUT_BYTES >> 20} MiB; give the path of a MEME "
                                        "file", column=f"motifs.{tf}"))
    if problems:
        return problems
    try:
        if project.source == "simulated":
            check_new_conditions(project)
        else:  # no motif ("none") gives channels of zeros
            load_motif_table(table, [tf for tf in needed if str(table[tf]) != NO_MOTIF], path,
                             str(base_dir))
    except ConfigError as error:
        return error.problems
    return []


def _check_families(project: Project, models: Mapping[str, ModelSpec]) -> list[Problem]:
    """Fig 4c colours the base model's TF embeddings by family: each family's TFs must be TFs
    of the base model, and a TF may be in one family only."""
    experiments = project.config.get("experiments") or {}
    base = models.get(experiments.get("base_model", ""))
    if base is None:
        return []
    tfs = list(dict.fromkeys(split_condition(c)[0] for c in base.conditions))
    problems, family_of = [], {}
    for family, members in (experiments.get("families") or {}).items():
        for index, tf in enumerate(members):
            key = f"experiments.families.{family}[{index}]"
            if tf not in tfs:
                problems.append(Problem(project.config_path, f"TF {shown(tf)} is not a TF of "
                                        f"the base model {base.name!r} (its TFs: "
                                        f"{', '.join(tfs)})", column=key))
            elif tf in family_of:
                problems.append(Problem(project.config_path, f"TF {tf!r} is in two families "
                                        f"({family_of[tf]} and {family}); give it one",
                                        column=key))
            family_of.setdefault(tf, family)
    return problems
