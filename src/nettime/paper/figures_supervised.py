"""The figures of the paper's supervised results, declared once each: the reference (what the
base model scores against its untrained inputs: the check every verdict needs), Fig 2
(multitask learning), Fig 3a / Table 4.1 (input features), Fig 4 (embeddings), Fig 7 (binary
calls)."""

from __future__ import annotations

import pandas as pd

from nettime import layout
from nettime.config import Project
from nettime.layout import FIGURE_SPLIT, RANDOM_EMBEDDING_VARIANTS
from nettime.models.registry import model_specs, predictable
from nettime.paper import draw, findings
from nettime.paper.declare import (
    Claim,
    Figure,
    FigurePlan,
    experiments_section,
    probability_metrics,
)
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

# ---- reference: the base model against its free inputs -------------------------------------------

#: Arms of the reference figure: label -> method of the reference table.
FREE_ARMS = {"DNase z-score": "dnase", "sum of assays": "assays_sum", "motif channel": "motif"}
ORACLE_ARM = "oracle (true binding)"


def _plan_reference(project: Project) -> list[FigurePlan]:
    if not experiments_section(project):
        return []
    model = base_model(project)[0]
    reference = layout.path("reference_metrics", split=FIGURE_SPLIT)
    conditions = predictable(model_specs(project), model)
    arms = {"NetTIME (base model)": probability_metrics(model),
            **dict.fromkeys(FREE_ARMS, reference)}
    methods = dict(FREE_ARMS)
    if project.source == "simulated":
        arms[ORACLE_ARM] = reference
        methods[ORACLE_ARM] = "oracle"
    return [FigurePlan(name="reference_free_signal", files={"arms": arms}, models=(model,),
                       params={"conditions": conditions, "methods": methods,
                               "tests": [["NetTIME (base model)", arm] for arm in FREE_ARMS],
                               "title": "Base model vs its untrained inputs",
                               "note": "untrained: the input channel itself as the score"})]


REFERENCE = Figure(
    key="reference", title="Reference: what the inputs give for free",
    caption="""**Reference: the base model against its untrained inputs.** Per condition, the
test auPRC at 1 bp of the base model and of scores that need no training: the cell type's DNase
z-score, the sum of its assays' z-scores, and the TF's motif channel (the larger strand); on
simulated data also an oracle that knows the true binding (each base scores the occupancy of
the strongest true site within 150 bp), which the peak caller's noise keeps below 1. A model
at the level of its best untrained input has learned nothing it was not handed: while it is
there, the findings table marks every other verdict "not meaningful".""",
    plan=_plan_reference, draw=draw.draw_transfer,
    claims=lambda plan, numbers: [findings.learned_beyond_free_signal(
        numbers, "NetTIME (base model)", list(FREE_ARMS),
        ORACLE_ARM if ORACLE_ARM in plan.files["arms"] else None)])


# ---- Fig 2: multitask vs single-task ------------------------------------------------------------

def _plan_multitask(project: Project) -> list[FigurePlan]:
    section = experiments_section(project).get("multitask") or {}
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
    experiments = experiments_section(project)
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
    if not experiments_section(project):
        return []
    model = base_model(project)[0]
    return [FigurePlan(name="fig4a_embeddings_prediction",
                       files={"trained": probability_metrics(model),
                              "variants": {v: layout.path("metrics_of", model=model, split=FIGURE_SPLIT, kind=v)
                                           for v in RANDOM_EMBEDDING_VARIANTS}},
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
    experiments = experiments_section(project)
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
    if not experiments_section(project):
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
    if not experiments_section(project):
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
