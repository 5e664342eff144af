"""The figure registry: every figure and table of the paper, declared once.

A :class:`Figure` declaration says which models it needs (generated into the model registry),
which files it reads on a configuration (:class:`FigurePlan`), how it is drawn, which claims of
the paper its numbers test, and its report caption. The workflow makes one rule per planned
figure, the default target, the findings table and the report entries from :data:`FIGURES`; the
figure script calls :func:`draw_figure`, the findings script :func:`nettime.paper.findings.
write_findings`.

Adding a figure: write its draw function (:mod:`nettime.paper.draw`, plots in
:mod:`nettime.paper.plots`), its claims (:mod:`nettime.paper.findings`), and one declaration
below; add it to :data:`FIGURES`.

No torch and no matplotlib are imported here: Snakemake reads this module when it parses the
workflow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from nettime import layout
from nettime.config import ConfigError, Problem, Project
from nettime.files import PathLike
from nettime.layout import FIGURE_SPLIT, PREDICTION_VARIANTS
from nettime.models.registry import ModelSpec, model_specs
from nettime.paper import draw, findings
from nettime.paper.experiments import (
    TRAINING_VARIANTS,
    base_model,
    families,
    feature_model,
    feature_setting_models,
    multitask_models,
    multitask_names,
    panel_conditions,
    random_at_training_models,
    slug,
    stl_name,
    training_variant_model,
)

#: One row of the findings table (see :mod:`nettime.paper.findings`).
Claim = dict[str, object]


@dataclass(frozen=True)
class FigurePlan:
    """One figure file on a configuration.

    Attributes
    ----------
    name
        File stem: ``results/figures/{name}.pdf`` and ``.tsv``.
    files
        Input files by role (a nested mapping of paths), as the draw function reads them.
    models
        The models the figure compares: their checkpoints are inputs too, so that a deleted
        model is retrained and the figure redrawn.
    params
        What else the draw and claim functions need (titles, TF families, ...).
    """

    name: str
    files: dict[str, Any]
    models: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Figure:
    """The declaration of a figure (or a family of figures, one per panel).

    Attributes
    ----------
    key
        Short identifier of the declaration (``fig2``, ``fig3a``, ...).
    title
        Heading of its figures in the report.
    caption
        Report caption (reStructuredText); ``{name}`` and the plan's params are filled in.
    plan
        The figure files this configuration makes (none when its experiment is not
        configured).
    draw
        ``draw(files, params, pdf, tsv) -> numbers``: writes the PDF and the TSV.
    models
        The model specs the figure needs beyond ``config["models"]``: name -> raw spec.
    claims
        ``claims(plan, numbers) -> rows`` of the findings table.
    table_caption
        When given, the TSV is shown in the report as a table with this caption.
    """

    key: str
    title: str
    caption: str
    plan: Callable[[Project], list[FigurePlan]]
    draw: Callable[[Mapping[str, Any], Mapping[str, Any], PathLike, PathLike], pd.DataFrame]
    models: Callable[[Project], dict[str, dict[str, Any]]] = lambda project: {}
    claims: Callable[[FigurePlan, pd.DataFrame], list[Claim]] = lambda plan, numbers: []
    table_caption: str | None = None


def probability_metrics(model: str) -> str:
    """The auPRC/AP table of a model on the figures' split."""
    return layout.path("metrics_of", model=model, split=FIGURE_SPLIT, kind="probability")


def _experiments(project: Project) -> Mapping[str, Any]:
    return project.config.get("experiments") or {}


# ---- Fig 2: multitask vs single-task ------------------------------------------------------------

def _plan_multitask(project: Project) -> list[FigurePlan]:
    section = _experiments(project).get("multitask") or {}
    plans = []
    for panel, spec in (section.get("panels") or {}).items():
        conditions = panel_conditions(project, spec, f"experiments.multitask.panels.{panel}")
        arms = multitask_names(panel)
        stl = {c: stl_name(c) for c in conditions}
        plans.append(FigurePlan(
            name=f"fig2_{slug(panel)}",
            files={"arms": {arm: probability_metrics(m) for arm, m in arms.items()},
                   "stl": {c: probability_metrics(m) for c, m in stl.items()}},
            models=tuple(dict.fromkeys([*arms.values(), *stl.values()])),
            params={"panel": slug(panel), "title": f"{panel}: " + ", ".join(spec["tfs"]),
                    "group_by": spec.get("group_by", "condition")}))
    return plans


def _claims_multitask(plan: FigurePlan, numbers: pd.DataFrame) -> list[Claim]:
    panel = plan.params["panel"]
    figure, paper = {"jund": ("Fig 2a", "MTL > STL, p < 0.05 (paper)"),
                     "jun_family": ("Fig 2b", "MTL > STL, p < 0.05 (paper)")}.get(
        panel, ("thesis Fig 4.4", "MTL > STL (thesis)"))
    return [findings.mtl_beats_stl(numbers, f"mtl_{panel}", panel, figure, paper),
            findings.sampled_does_not_beat_stl(numbers, f"sampled_{panel}", panel, figure,
                                               "no significant gain (paper)")]


FIG2 = Figure(
    key="fig2", title="Fig 2: multitask learning",
    caption="""**Fig 2 (paper) / thesis Figs 4.3-4.4: multitask vs single-task learning**, panel
``{panel}``.

Left: test-split auPRC at 1 bp per condition of the panel for three arms: MTL (one model trained
on every condition of the panel), MTL-sampled (the same conditions, subsampled each epoch to the
sample count of one condition) and STL (one model per condition). Right: mean over conditions
(error bars: SEM) with paired Wilcoxon signed-rank p-values against STL. All arms train for the
same number of epochs (config ``experiments.multitask.budget``), so MTL sees more data than STL
and MTL-sampled as much. Numbers: ``results/figures/{name}.tsv``.""",
    plan=_plan_multitask, draw=draw.draw_multitask, models=multitask_models,
    claims=_claims_multitask)


# ---- Fig 3a / Table 4.1: input feature settings -------------------------------------------------

def _plan_feature_settings(project: Project) -> list[FigurePlan]:
    experiments = _experiments(project)
    if not experiments.get("feature_settings"):
        return []
    base, base_raw = base_model(project)
    settings = {f: feature_model(experiments, {base: base_raw}, f)
                for f in experiments["feature_settings"]}
    return [FigurePlan(name="fig3a_features",
                       files={"settings": {f: probability_metrics(m)
                                           for f, m in settings.items()}},
                       models=tuple(dict.fromkeys(settings.values())))]


FIG3A = Figure(
    key="fig3a", title="Fig 3a / Table 4.1: input features",
    caption="""**Fig 3a / thesis Table 4.1 (NetTIME rows): input feature settings.** One NetTIME
model per feature setting (Seq, Seq+TF, Seq+CT, Seq+CT+TF), each trained on every training
condition with the same budget; bars give the mean test auPRC at 1 bp over conditions (error
bars: SD), dots the conditions; the TSV gives mean/SD/SEM and paired Wilcoxon p-values against
Seq (and Seq+CT+TF against Seq+CT).""",
    table_caption="""**Thesis Table 4.1 (NetTIME rows)**: test auPRC at 1 bp (mean, SD, SEM, n
over training conditions) per input feature setting, with paired Wilcoxon p-values.""",
    plan=_plan_feature_settings, draw=draw.draw_feature_settings,
    models=feature_setting_models,
    claims=lambda plan, numbers: [findings.cell_type_features_help(numbers),
                                  findings.motif_features_add_little(numbers)])


# ---- Fig 4: embeddings --------------------------------------------------------------------------

def _plan_at_prediction(project: Project) -> list[FigurePlan]:
    if not _experiments(project):
        return []
    model = base_model(project)[0]
    return [FigurePlan(name="fig4a_embeddings_prediction",
                       files={"trained": probability_metrics(model),
                              "variants": {v: layout.path("metrics_of", model=model, split=FIGURE_SPLIT, kind=v)
                                           for v in PREDICTION_VARIANTS}},
                       models=(model,))]


FIG4A = Figure(
    key="fig4a", title="Fig 4: embeddings",
    caption="""**Fig 4a / thesis Table 4.2: embeddings replaced at prediction time.** The base
multitask model (trained TF and cell-type embeddings) predicts the test split with its trained
embeddings, and again with the TF embeddings, the cell-type embeddings or both replaced by random
vectors. Cells give the mean (± SD) test auPRC at 1 bp over conditions; the TSV adds the relative
drop from the trained/trained cell and paired Wilcoxon p-values.""",
    table_caption="""**Thesis Table 4.2**: test auPRC at 1 bp (mean, SD, SEM, n) with trained or
random TF and cell-type embeddings at prediction time, relative drop and Wilcoxon p-value against
trained.""",
    plan=_plan_at_prediction, draw=draw.draw_embeddings_at_prediction,
    claims=lambda plan, numbers: [findings.random_at_prediction_hurts(numbers)])


def _plan_at_training(project: Project) -> list[FigurePlan]:
    experiments = _experiments(project)
    if not experiments.get("random_at_training"):
        return []
    base_model(project)
    variants = {"trained": training_variant_model(experiments, "trained"),
                **{TRAINING_VARIANTS[m]: training_variant_model(experiments, m)
                   for m in experiments["random_at_training"]}}
    return [FigurePlan(name="fig4b_embeddings_training",
                       files={"variants": {v: probability_metrics(m)
                                           for v, m in variants.items()}},
                       models=tuple(dict.fromkeys(variants.values())))]


FIG4B = Figure(
    key="fig4b", title="Fig 4: embeddings",
    caption="""**Fig 4b: embeddings random at training time.** Models trained like the base
multitask model but with fixed random TF embeddings, fixed random cell-type embeddings or both;
bars give the mean test auPRC at 1 bp over training conditions (error bars: SEM); the TSV adds the
relative drop from the trained model and paired Wilcoxon p-values.""",
    plan=_plan_at_training, draw=draw.draw_embeddings_at_training,
    models=random_at_training_models,
    claims=lambda plan, numbers: [findings.tf_embeddings_matter_more(numbers)])


def _plan_tf_embeddings(project: Project) -> list[FigurePlan]:
    if not _experiments(project):
        return []
    model = base_model(project)[0]
    return [FigurePlan(name="fig4c_tf_embeddings",
                       files={"embeddings": layout.path("model_embeddings", model=model)}, models=(model,),
                       params={"families": families(project)})]


def _claims_tf_embeddings(plan: FigurePlan, numbers: pd.DataFrame) -> list[Claim]:
    weights, names = draw.read_embeddings(plan.files["embeddings"])
    return [findings.related_tfs_are_closer(weights, names, plan.params["families"])]


FIG4C = Figure(
    key="fig4c", title="Fig 4: embeddings",
    caption="""**Fig 4c: trained TF embeddings.** t-SNE (perplexity min(5, (n-1)/3), PCA start)
of the TF embedding vectors of the base multitask model, coloured by TF family (config
``experiments.families``). t-SNE rather than UMAP: no extra dependency, and with a dozen points
both only show neighbourhoods; the claim is judged in the full embedding space (cosine
distances, see the findings).""",
    plan=_plan_tf_embeddings, draw=draw.draw_tf_embedding_map, claims=_claims_tf_embeddings)


# ---- Fig 7: binary calls -----------------------------------------------------------------------

def _plan_binary_calls(project: Project) -> list[FigurePlan]:
    if not _experiments(project):
        return []
    model = base_model(project)[0]
    return [FigurePlan(name="fig7_crf",
                       files={"metrics": layout.path("metrics", model=model, split=FIGURE_SPLIT),
                              "thresholds": layout.path("thresholds", model=model)}, models=(model,))]


FIG7 = Figure(
    key="fig7", title="Fig 7: binary calls",
    caption="""**Fig 7 and thesis Figs 4.9-4.10: binary calls.** Left: validation IOU of each
random probability threshold of the base multitask model, the chosen one marked. Middle: test IOU
per condition of the best threshold vs the CRF (mean ± SEM, paired Wilcoxon). Right: label
transitions per sequence (%) of the targets, the threshold calls and the CRF calls.""",
    plan=_plan_binary_calls, draw=draw.draw_binary_calls,
    claims=lambda plan, numbers: [findings.crf_matches_threshold(numbers)])


#: Every figure, in the order of the paper (and of the findings table).
FIGURES: tuple[Figure, ...] = (FIG2, FIG3A, FIG4A, FIG4B, FIG4C, FIG7)


# ---- what the workflow asks of the registry ------------------------------------------------------

def figure_by_key(key: str) -> Figure:
    for figure in FIGURES:
        if figure.key == key:
            return figure
    raise KeyError(f"no figure {key!r}; figures: {', '.join(f.key for f in FIGURES)}")


def plan_figures(project: Project) -> dict[str, tuple[Figure, FigurePlan]]:
    """Every figure file this configuration makes: name -> (declaration, plan)."""
    out: dict[str, tuple[Figure, FigurePlan]] = {}
    for figure in FIGURES:
        for plan in figure.plan(project):
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
    """Draw a planned figure of declaration ``key`` (what the figure rules run)."""
    return figure_by_key(key).draw(files, params, pdf, tsv)


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
        rows += figure.claims(plan, pd.read_csv(numbers[name], sep="\t"))
    table = findings.findings_table(rows)
    draw.write_numbers(table, out)
    return table


def plan_record(figure: Figure, plan: FigurePlan) -> dict[str, Any]:
    """A planned figure as plain data (a Snakemake param)."""
    return {"key": figure.key, "files": plan.files, "models": list(plan.models),
            "params": plan.params}
