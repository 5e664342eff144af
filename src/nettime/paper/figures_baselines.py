"""The figures that compare NetTIME with other methods, declared once each: Fig 3b (centre
200 bp and 1000 bp), Fig 3c (1 bp), thesis Fig 4.5 (bin widths) and thesis Table 4.1 (every
method and feature setting). The baselines are reimplementations (:mod:`nettime.baselines`):
captions, figures and findings say so."""

from __future__ import annotations

import pandas as pd

from nettime.config import Project
from nettime.paper import draw, findings
from nettime.paper.declare import (
    Claim,
    Figure,
    FigurePlan,
    experiments_section,
    probability_metrics,
)
from nettime.paper.experiments import (
    BASELINES,
    COMPARISON_MODEL,
    base_model,
    baseline_models,
    feature_model,
)

#: The NetTIME model the baselines are compared with (same inputs).
REFERENCE = "NetTIME Seq+DNase"
#: Display names of the baseline kinds.
LABELS = {"leopard": "Leopard", "catchitt": "Catchitt", "deepbind": "DeepBind"}
REIMPLEMENTED = ("The baselines are reimplemented here (Leopard-, Catchitt- and DeepBind-style: "
                 "the original programs cannot be installed offline); see the nettime.baselines "
                 "modules for what each keeps and changes.")


def _section(project: Project) -> dict:
    return experiments_section(project).get("baselines") or {}


def _methods(project: Project, kinds: tuple[str, ...]) -> dict[str, str]:
    """Label -> model of the comparison NetTIME model and the configured baselines of
    ``kinds`` (nothing when no baseline is configured)."""
    section = _section(project)
    if not section:
        return {}
    return {REFERENCE: COMPARISON_MODEL,
            **{LABELS[kind]: kind for kind in kinds if kind in section}}


def _plan_methods(name: str, methods: dict[str, str], **params: object) -> list[FigurePlan]:
    if len(methods) < 2:
        return []
    return [FigurePlan(name=name,
                       files={"methods": {m: probability_metrics(model)
                                          for m, model in methods.items()}},
                       models=tuple(methods.values()),
                       params={"reference": REFERENCE, **params})]


def _claims_beats(figure: str, paper: dict[str, str]):
    """Claims that the reference beats each baseline of the figure at its resolutions."""
    def claims(plan: FigurePlan, numbers: pd.DataFrame) -> list[Claim]:
        others = [m for m in plan.files["methods"] if m in LABELS.values()]
        return [findings.beats_at_resolutions(
            numbers, REFERENCE, other, f"{plan.name}_{other.lower()}", figure,
            paper.get(other, "")) for other in others]
    return claims


FIG3B = Figure(
    key="fig3b", title="Fig 3b-c, Fig 4.5, Table 4.1: other methods",
    caption="""**Fig 3b: NetTIME vs Catchitt and Leopard at 200 bp and 1000 bp.** NetTIME with
the baselines' inputs (Seq+DNase, trained like the base model) against the Catchitt-style and
Leopard-style baselines; each example scores the maximum probability of its centre 200 bp (or
of the whole 1000-bp example), labelled bound when any base there is. Bars: mean auPRC over
conditions (± SEM), dots: conditions; one-sided Wilcoxon p-values (NetTIME greater). """
    + REIMPLEMENTED,
    plan=lambda project: _plan_methods("fig3b_baselines",
                                       _methods(project, ("catchitt", "leopard"))),
    draw=draw.draw_centre_resolutions, models=baseline_models,
    claims=_claims_beats("Fig 3b", {"Catchitt": "NetTIME > Catchitt at 200 and 1000 bp (paper)",
                                    "Leopard": "NetTIME > Leopard at 200 and 1000 bp (paper)"}))

FIG3C = Figure(
    key="fig3c", title="Fig 3b-c, Fig 4.5, Table 4.1: other methods",
    caption="""**Fig 3c: NetTIME vs Leopard at 1 bp.** Per condition, the test auPRC at 1 bp of
NetTIME (Seq+DNase) against the Leopard-style baseline; one-sided Wilcoxon p-value (NetTIME
greater). """ + REIMPLEMENTED,
    plan=lambda project: _plan_methods("fig3c_leopard_1bp", _methods(project, ("leopard",)),
                                       other="Leopard", resolution=1),
    draw=draw.draw_paired_methods,
    claims=lambda plan, numbers: [findings.beats_paired(
        numbers, REFERENCE, "Leopard", "fig3c_leopard", "Fig 3c",
        "NetTIME > Leopard at 1 bp (paper)")])

FIG4_5 = Figure(
    key="fig4_5", title="Fig 3b-c, Fig 4.5, Table 4.1: other methods",
    caption="""**Thesis Fig 4.5: auPRC against the bin width.** Each 1000-bp test example is cut
into bins of 1, 20, 50, 100, 200, 500 and 1000 bp scored by their maximum; mean auPRC over
conditions (± SEM) of NetTIME (the base model, Seq+CT, and the Seq+DNase comparison model) and
of the baselines. The Catchitt-style baseline scores 50-bp bins: at 1 bp each base carries its
bin's score (as the thesis compared it), at 20 bp it has no score and its curve has a gap
there (the thesis drew 0). """ + REIMPLEMENTED,
    plan=lambda project: _plan_methods(
        "fig4_5_resolutions", {"NetTIME": base_model(project)[0],
                               **_methods(project, tuple(LABELS))}) if _section(project) else [],
    draw=draw.draw_resolution_curves,
    claims=_claims_beats("thesis Fig 4.5",
                         {"Catchitt": "NetTIME higher at every bin width (thesis)"}))


def _plan_table(project: Project) -> list[FigurePlan]:
    section = _section(project)
    if not section:
        return []
    experiments = experiments_section(project)
    base, base_raw = base_model(project)
    settings = {f: feature_model(experiments, {base: base_raw}, f)
                for f in experiments.get("feature_settings") or [base_raw["feature_set"]]}
    settings[section.get("feature_set", "Seq+DNase")] = COMPARISON_MODEL
    cells = {"NetTIME": {f: probability_metrics(m) for f, m in settings.items()}}
    for kind, feature_set in BASELINES.items():
        if kind in section:
            cells[LABELS[kind]] = {feature_set: probability_metrics(kind)}
    columns = [c for c in ("Seq", "Seq+TF", "Seq+DNase", "Seq+DNase+TF", "Seq+CT", "Seq+CT+TF")
               if any(c in row for row in cells.values())]
    models = tuple(dict.fromkeys([*settings.values(),
                                  *[k for k in BASELINES if k in section]]))
    return [FigurePlan(name="table4_1", files={"cells": cells}, models=models,
                       params={"columns": columns, "base_feature_set": base_raw["feature_set"]})]


TABLE4_1 = Figure(
    key="table4_1", title="Fig 3b-c, Fig 4.5, Table 4.1: other methods",
    caption="""**Thesis Table 4.1: every method and input feature setting at 1 bp.** Mean ± SD
test auPRC at 1 bp over the training conditions (n conditions) of NetTIME per feature setting
and of the baselines in the column of the inputs they use (DeepBind-style: sequence;
Leopard-style: sequence and DNase; Catchitt-style: DNase and motif scores, its 50-bp bins'
scores assigned to their bases). """ + REIMPLEMENTED,
    table_caption="""**Thesis Table 4.1 (complete)**: test auPRC at 1 bp (mean, SD, SEM, n) per
method and input feature setting; baselines reimplemented here.""",
    plan=_plan_table, draw=draw.draw_method_table,
    claims=lambda plan, numbers: [findings.doubles_at_1bp(
        numbers, ("NetTIME", plan.params["base_feature_set"]), ("Catchitt", "Seq+DNase+TF"))]
    if "Catchitt" in plan.files["cells"] else [])
