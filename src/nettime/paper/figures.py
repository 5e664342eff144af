"""The figure registry: every figure and table of the paper, each declared once.

A :class:`~nettime.paper.declare.Figure` declaration says which models it needs (generated into
the model registry), which files it reads on a configuration
(:class:`~nettime.paper.declare.FigurePlan`), how it is drawn, which claims of the paper its
numbers test, and its report caption. The declarations live by section of the paper
(:mod:`~.figures_supervised`, :mod:`~.figures_baselines`); :data:`FIGURES` lists them in the
order of the paper. The workflow makes one rule per planned figure, the default target, the
findings table and the report entries from it; the figure script calls :func:`draw_figure`,
the findings script :func:`write_findings`.

Adding a figure: write its draw function (:mod:`nettime.paper.draw`, plots in
:mod:`nettime.paper.plots` or :mod:`nettime.paper.comparisons`), its claims
(:mod:`nettime.paper.findings`), and one declaration in the module of its section; list it in
:data:`FIGURES`.

No torch and no matplotlib are imported here: Snakemake reads this module when it parses the
workflow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from nettime import layout
from nettime.config import ConfigError, Problem, Project
from nettime.files import PathLike
from nettime.layout import FIGURE_SPLIT
from nettime.models.registry import ModelSpec, model_specs
from nettime.paper import draw, findings
from nettime.paper.declare import Claim, Figure, FigurePlan
from nettime.paper.experiments import new_conditions
from nettime.paper.figures_baselines import FIG3B, FIG3C, FIG4_5, TABLE4_1
from nettime.paper.figures_dream import FIG3D
from nettime.paper.figures_motifs import FIG6B
from nettime.paper.figures_supervised import FIG2, FIG3A, FIG4A, FIG4B, FIG4C, FIG7, REFERENCE
from nettime.paper.figures_transfer import FIG4_7C, FIG5B, FIG6A, FIGS5AC, FIGS5BD

#: Every figure, in the order of the paper (and of the findings table).
FIGURES: tuple[Figure, ...] = (
    REFERENCE, FIG2, FIG3A, TABLE4_1, FIG3B, FIG3C, FIG3D, FIG4_5, FIG4A, FIG4B, FIG4C,
    FIG5B, FIGS5AC, FIGS5BD, FIG4_7C, FIG6A, FIG6B, FIG7)


# ---- what the workflow asks of the registry ------------------------------------------------------

def figure_by_key(key: str) -> Figure:
    for figure in FIGURES:
        if figure.key == key:
            return figure
    raise KeyError(f"no figure {key!r}; figures: {', '.join(f.key for f in FIGURES)}")


#: The key of a plan's files that holds the reference table (see :func:`plan_figures`).
REFERENCE_FILES = "reference"


def plan_figures(project: Project) -> dict[str, tuple[Figure, FigurePlan]]:
    """Every figure file this configuration makes: name -> (declaration, plan).

    Every figure but the reference itself also reads the reference tables
    (``files["reference"]``: the supervised conditions', and for a figure that shows new
    conditions theirs too): its TSV carries the untrained scores of its conditions beside its
    own numbers (:func:`draw_figure`)."""
    out: dict[str, tuple[Figure, FigurePlan]] = {}
    supervised = {"supervised": layout.path("reference_metrics", split=FIGURE_SPLIT)}
    with_new = {**supervised,
                "new": layout.path("new_reference_metrics", split=FIGURE_SPLIT)}
    any_new = bool(new_conditions(project))
    for figure in FIGURES:
        for plan in figure.plan(project):
            if figure is not REFERENCE:
                reference = with_new if figure.shows_new_conditions and any_new else supervised
                plan = replace(plan, files={**plan.files, REFERENCE_FILES: reference})
            out[plan.name] = (figure, plan)
    return out


def figure_models(project: Project) -> dict[str, dict[str, Any]]:
    """The raw model specs every figure needs beyond ``config["models"]``.

    Raises
    ------
    ConfigError
        When a generated name is a model of ``config["models"]`` (the user's spec would win
        silently), or two figures generate one name with different specs.
    """
    models = project.config.get("models") or {}
    out: dict[str, dict[str, Any]] = {}
    for figure in FIGURES:
        for name, spec in figure.models(project).items():
            if name in models:
                raise ConfigError([Problem(project.config_path, f"model {name!r} is generated "
                                           "by experiments: remove it from models",
                                           column="models")])
            if name in out and out[name] != spec:
                raise ConfigError([Problem(project.config_path, f"two figures generate model "
                                           f"{name!r} with different specs",
                                           column="experiments")])
            out[name] = spec
    return out


def model_registry(project: Project) -> dict[str, ModelSpec]:
    """Every model spec of a configuration: ``config["models"]`` and those the figures
    generate (added to ``project.config["models"]``), resolved.

    Raises
    ------
    ConfigError
        With every problem of the specs (see :func:`nettime.models.registry.model_specs`).
    """
    project.config["models"] = {**(project.config.get("models") or {}),
                                **figure_models(project)}
    return model_specs(project)


def caption(figure: Figure, plan: FigurePlan) -> str:
    """The report caption of one planned figure."""
    return figure.caption.format(name=plan.name, **plan.params)


def draw_figure(key: str, files: Mapping[str, Any], params: Mapping[str, Any], pdf: PathLike,
                tsv: PathLike) -> pd.DataFrame:
    """Draw a planned figure of declaration ``key`` (what the figure rules run); the TSV gets
    the reference rows of the figure's conditions (columns ``reference``, ``condition``,
    ``reference_auprc``: the untrained scores, and on simulated data the oracle)."""
    files = dict(files)
    reference = files.pop(REFERENCE_FILES, None)
    numbers = figure_by_key(key).draw(files, params, pdf, tsv)
    if reference is None:
        return numbers
    tables = list(reference.values()) if isinstance(reference, Mapping) else [reference]
    table = pd.concat([pd.read_csv(path, sep="\t") for path in tables], ignore_index=True)
    table = table[(table["metric"] == "auprc") & (table["resolution"] == 1)]
    # The figure's conditions: those named anywhere in its numbers (a condition or a group
    # column), else every condition (a figure of summaries only).
    named = {value for column in numbers.columns if numbers[column].dtype.kind in "OUS"
             or isinstance(numbers[column].dtype, (pd.StringDtype, pd.CategoricalDtype))
             for value in numbers[column].dropna().unique() if isinstance(value, str)}
    if named & set(table["condition"]):
        table = table[table["condition"].isin(named)]
    rows = pd.DataFrame({"reference": table["method"], "condition": table["condition"],
                         "reference_auprc": table["value"]})
    numbers = pd.concat([numbers, rows], ignore_index=True)
    draw.write_numbers(numbers, tsv)
    return numbers


def figure_numbers(path: PathLike) -> pd.DataFrame:
    """A figure's numbers as its draw function returned them (without the reference rows)."""
    numbers = pd.read_csv(path, sep="\t")
    if "reference" in numbers:
        numbers = numbers[numbers["reference"].isna()].drop(
            columns=["reference", "reference_auprc"]).reset_index(drop=True)
        if numbers["condition"].isna().all():  # added with the reference rows only
            numbers = numbers.drop(columns=["condition"])
        # Integer columns read as float where the reference rows left them empty.
        for column in numbers.columns:
            values = numbers[column]
            if (values.dtype.kind == "f" and values.notna().all()
                    and np.array_equal(values, np.round(values))):
                numbers[column] = values.astype(np.int64)
    return numbers


def write_findings(planned: Mapping[str, Mapping[str, Any]], numbers: Mapping[str, PathLike],
                   out: PathLike) -> pd.DataFrame:
    """The findings table: every claim of every planned figure, judged on its numbers.

    Parameters
    ----------
    planned
        Figure name -> ``{"key", "files", "models", "params"}`` (:func:`plan_record`), in the
        order of the table.
    numbers
        Figure name -> its numbers' TSV.
    out
        The findings TSV (written atomically).
    """
    rows: list[Claim] = []
    for name, record in planned.items():
        figure = figure_by_key(record["key"])
        plan = FigurePlan(name, dict(record["files"]), tuple(record["models"]),
                          dict(record["params"]))
        rows += figure.claims(plan, figure_numbers(numbers[name]))
    table = findings.findings_table(rows)
    draw.write_numbers(table, out)
    return table


def plan_record(figure: Figure, plan: FigurePlan) -> dict[str, Any]:
    """A planned figure as plain data (a Snakemake param)."""
    return {"key": figure.key, "files": plan.files, "models": list(plan.models),
            "params": plan.params}
