"""Fig 3d, declared once: NetTIME (Seq+DNase) against the Catchitt- and Leopard-style
baselines on the ENCODE-DREAM challenge's protocol (:mod:`nettime.evaluation.dream`): 200-bp
bins sliding by 50 bp over whole chromosomes, B/A/U labels, auPRC and auROC per condition with
the ambiguous bins left out. The paper reports NetTIME's mean auPRC 11.8% above Catchitt's and
6.3% above Leopard's over 13 test conditions.

Config ``dream:`` (schema defaults in ``workflow/schemas/config.schema.yaml``) turns the
benchmark on and chooses the conditions (default: the supervised conditions the compared
models were trained on), the chromosomes (default: the test split's), the bins and the labels
(the conditions' conserved and relaxed peaks, or the challenge's own label files in
``labels_dir``); :func:`dream_settings` resolves and checks it. The figure is planned when
``experiments.baselines`` configures a Catchitt- or Leopard-style baseline and ``dream:`` is
present. The baselines are reimplemented (:mod:`nettime.baselines`).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from nettime import layout
from nettime.config import ConfigError, Problem, Project, load_schema
from nettime.evaluation.dream import dream_model_conditions
from nettime.evaluation.statistics import describe, wilcoxon_p
from nettime.models.registry import model_specs
from nettime.paper import findings
from nettime.paper.comparisons import METHOD_COLOURS
from nettime.paper.declare import Claim, Figure, FigurePlan, experiments_section
from nettime.paper.draw import FigureError, write_numbers
from nettime.paper.experiments import (
    COMPARISON_MODEL,
    baseline_models,
    supervised_conditions,
)
from nettime.paper.figures_baselines import LABELS, REFERENCE, REIMPLEMENTED
from nettime.paper.plots import format_p, pyplot, save_figure

SECTION = "dream"
#: The paper's relative gain in mean auPRC of NetTIME over each baseline (Fig 3d).
PAPER_GAINS = {"Catchitt": 0.118, "Leopard": 0.063}
#: The metrics the figure shows, with their axis labels.
METRICS = {"auprc": "auPRC", "auroc": "auROC"}


def dream_settings(project: Project) -> dict[str, Any] | None:
    """The ``dream`` section with the schema's defaults, its conditions (default: the
    supervised conditions) and chromosomes (default: the test split's) resolved; None when
    the configuration has no ``dream`` section.

    Raises
    ------
    ConfigError
        Naming the key, for an unknown condition or chromosome, or bins, steps and windows
        that do not fit on one grid.
    """
    raw = project.config.get(SECTION)
    if raw is None:
        return None
    schema = load_schema("config")["properties"][SECTION]["properties"]
    settings = {key: sub.get("default") for key, sub in schema.items()}
    settings.update(raw)
    problems = []

    def problem(message: str, key: str) -> None:
        problems.append(Problem(project.config_path, message, column=f"{SECTION}.{key}"))

    known = list(project.conditions["condition"])
    settings["conditions"] = list(settings["conditions"] or supervised_conditions(project))
    unknown = [c for c in settings["conditions"] if c not in known]
    if unknown:
        problem(f"unknown condition(s) {', '.join(unknown)} (not in "
                f"{project.config['conditions']})", "conditions")
    settings["chromosomes"] = list(settings["chromosomes"] or project.config["splits"]["test"])
    genome = project.config["genome"]["chromosomes"]
    missing = [c for c in settings["chromosomes"] if c not in genome]
    if missing:
        problem(f"chromosome(s) {', '.join(missing)} are not in genome.chromosomes", "chromosomes")
    width, step = int(settings["bin"]), int(settings["step"])
    window = int((project.config.get("peaks") or {}).get("window", 1000))
    if width % step:
        problem(f"bins of {width} bp do not slide on a {step}-bp grid (bin must be a multiple "
                "of step)", "bin")
    if window % step or window < max(2 * step, width):
        problem(f"the {window}-bp windows (peaks.window) cannot tile the genome on a {step}-bp "
                f"grid: the window must be a multiple of step, at least twice it and at least "
                f"a bin", "step")
    if problems:
        raise ConfigError(problems)
    return settings


def labels_text(project: Project, settings: Mapping[str, Any]) -> str:
    """What the labels were made from, for the caption."""
    if settings.get("labels_dir"):
        return (f"the challenge's own label files ({os.path.join(settings['labels_dir'], '')}"
                "{TF}.train.labels.tsv.gz, the column of the condition's cell type)")
    kind = "simulated " if project.source == "simulated" else ""
    return f"the conditions' {kind}conserved (B) and relaxed (A) ChIP-seq peaks"


def _methods(project: Project) -> dict[str, str]:
    section = experiments_section(project).get("baselines") or {}
    others = {LABELS[kind]: kind for kind in ("catchitt", "leopard") if kind in section}
    return {REFERENCE: COMPARISON_MODEL, **others} if others else {}


def _plan(project: Project) -> list[FigurePlan]:
    settings = dream_settings(project)  # checked whenever present: the rules read it too
    methods = _methods(project)
    if settings is None or not methods:
        return []
    models = project.config.get("models") or {}
    if not all(model in models for model in methods.values()):
        # Planned before the registry holds the generated models: resolve them on a copy.
        project = copy.deepcopy(project)
        project.config["models"] = {**models, **baseline_models(project)}
    specs = model_specs(project)
    for model in methods.values():
        lacking = [c for c in settings["conditions"]
                   if c not in dream_model_conditions(specs, model, settings["conditions"])]
        if lacking:
            raise ConfigError([Problem(project.config_path, f"condition(s) {', '.join(lacking)} "
                                       f"cannot be predicted by model {model!r} (its TF or cell "
                                       f"type is not trained), which Fig 3d compares",
                                       column=f"{SECTION}.conditions")])
    params = {"reference": REFERENCE, "bin": int(settings["bin"]),
              "step": int(settings["step"]), "n_conditions": len(settings["conditions"]),
              "chromosomes": ", ".join(settings["chromosomes"]),
              "labels": labels_text(project, settings),
              "blacklist": "left out" if settings["exclude_blacklist"] else "kept"}
    return [FigurePlan(name="fig3d_dream",
                       files={"methods": {label: layout.path("dream_metrics", model=model)
                                          for label, model in methods.items()}},
                       models=tuple(methods.values()), params=params)]


# ---- drawing ---------------------------------------------------------------------------------

def read_dream(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Columns ``condition``, ``metric``, ``value`` of the auPRC and auROC rows of a DREAM
    table (:func:`nettime.evaluation.dream.evaluate_dream`)."""
    table = pd.read_csv(path, sep="\t")
    rows = table[(table["method"] == "probability") & table["metric"].isin(list(METRICS))]
    if rows.empty:
        raise FigureError(f"{path}: no auprc or auroc rows of method 'probability'")
    return rows[["condition", "metric", "value"]].reset_index(drop=True)


def plot_dream(table: pd.DataFrame, path: str | os.PathLike[str], reference: str,
               title: str) -> pd.DataFrame:
    """Fig 3d: per metric (auPRC, auROC) each method's mean ± SEM over conditions, the
    conditions as dots, and the one-sided Wilcoxon p-value of ``reference`` > each method.

    Parameters
    ----------
    table
        Columns ``method``, ``condition``, ``metric``, ``value``.

    Returns
    -------
    pandas.DataFrame
        Per metric and method: mean, sd, sem, n, ``p_{reference}_greater``, ``gain`` (the
        relative gain of ``reference``'s mean over the method's) and ``paper_gain`` (auPRC).
    """
    plt = pyplot()
    methods = list(dict.fromkeys(table["method"]))
    fig, axes = plt.subplots(1, len(METRICS), figsize=(3.9 * len(METRICS), 3.9), squeeze=False)
    fig.subplots_adjust(wspace=0.4)
    rows = []
    for ax, (metric, label) in zip(axes[0], METRICS.items(), strict=True):
        wide = table[table["metric"] == metric].pivot_table(index="condition", columns="method",
                                                            values="value")
        mine = describe(wide[reference].dropna())["mean"] if reference in wide else np.nan
        texts = []
        for i, method in enumerate(methods):
            values = wide[method].dropna() if method in wide else pd.Series(dtype=float)
            summary = describe(values)
            ax.bar(i, summary["mean"], yerr=summary["sem"], capsize=4,
                   color=METHOD_COLOURS.get(method, "#777777"))
            ax.scatter(np.full(len(values), i) + np.linspace(-0.2, 0.2, len(values)), values,
                       s=6, color="black", zorder=3)
            p, gain = np.nan, np.nan
            if method != reference and method in wide and reference in wide:
                both = wide[[reference, method]].dropna()
                p = wilcoxon_p(both[reference], both[method], alternative="greater")
                gain = mine / summary["mean"] - 1.0 if summary["mean"] else np.nan
                paper = PAPER_GAINS.get(method) if metric == "auprc" else None
                texts.append(f"vs {method}: {format_p(p)}, mean {gain:+.1%}"
                             + (f" (paper {paper:+.1%})" if paper is not None else ""))
            rows.append({"metric": metric, "method": method, **summary,
                         f"p_{reference}_greater": p, "gain": gain,
                         "paper_gain": PAPER_GAINS.get(method, np.nan)
                         if metric == "auprc" else np.nan})
        ax.set_xticks(range(len(methods)), methods, rotation=30, ha="right")
        ax.set_ylabel(f"{label} (DREAM bins), mean ± SEM")
        ax.set_title("\n".join(texts), fontsize=6.5)
    fig.suptitle(title, fontsize=8, y=1.06)
    save_figure(fig, path)
    return pd.DataFrame(rows)


def draw_dream(files: Mapping[str, Any], params: Mapping[str, Any], pdf: str | os.PathLike[str],
               tsv: str | os.PathLike[str]) -> pd.DataFrame:
    """Fig 3d: ``files["methods"]`` maps a method's label to its DREAM table (NetTIME's
    first); ``params``: ``reference``, ``bin``, ``step``, ``chromosomes``."""
    table = pd.concat([read_dream(path).assign(method=label)
                       for label, path in files["methods"].items()], ignore_index=True)
    title = (f"ENCODE-DREAM protocol: {params['bin']}-bp bins sliding by {params['step']} bp "
             f"on {params['chromosomes']}\n(ambiguous bins excluded; baselines reimplemented)")
    numbers = plot_dream(table, pdf, params["reference"], title)
    write_numbers(numbers, tsv)
    return numbers


# ---- findings --------------------------------------------------------------------------------

def beats_on_dream(numbers: pd.DataFrame, reference: str, other: str) -> Claim:
    """``reference`` beats ``other`` on the DREAM protocol: a higher mean auPRC and a
    one-sided Wilcoxon p < 0.05 over conditions; the relative gain beside the paper's."""
    table = numbers.set_index(["metric", "method"])
    p = float(table.loc[("auprc", other), f"p_{reference}_greater"])
    mine = float(table.loc[("auprc", reference), "mean"])
    theirs = float(table.loc[("auprc", other), "mean"])
    gain = float(table.loc[("auprc", other), "gain"])
    roc = (float(table.loc[("auroc", reference), "mean"]),
           float(table.loc[("auroc", other), "mean"]))
    paper = PAPER_GAINS.get(other, np.nan)
    return findings.claim_row(
        f"fig3d_dream_{other.lower()}",
        f"{reference} beats {other} (reimplemented) on the ENCODE-DREAM protocol", "Fig 3d",
        f"mean auPRC {mine:.3f} vs {theirs:.3f} ({gain:+.1%}; paper {paper:+.1%}); mean auROC "
        f"{roc[0]:.3f} vs {roc[1]:.3f}", p,
        f"NetTIME mean auPRC {paper:+.1%} over {other} (13 conditions, paper Fig 3d)",
        "higher mean auPRC and one-sided Wilcoxon p < 0.05",
        bool(mine > theirs and np.isfinite(p) and p < findings.ALPHA))


def _claims(plan: FigurePlan, numbers: pd.DataFrame) -> list[Claim]:
    reference = plan.params["reference"]
    return [beats_on_dream(numbers, reference, other) for other in plan.files["methods"]
            if other != reference]


FIG3D = Figure(
    key="fig3d", title="Fig 3b-d, Fig 4.5, Table 4.1: other methods",
    caption="""**Fig 3d: NetTIME vs Catchitt and Leopard on the ENCODE-DREAM protocol.** Every
{bin}-bp bin sliding by {step} bp wholly inside {chromosomes}, per condition ({n_conditions}
conditions): bound (B) when it overlaps a conserved peak by at least 1 bp, ambiguous (A, left
out) when it overlaps a relaxed peak only, unbound (U) otherwise; labels from {labels};
blacklisted bins {blacklist}. A bin scores the maximum per-base probability over it, predicted
genome-wide by each model over windows tiling the chromosomes (half-window overlap, each base
from the window where it lies most central). Bars: mean auPRC and auROC over conditions (±
SEM), dots: conditions; one-sided Wilcoxon p-values (NetTIME greater) and the relative gain in
mean auPRC beside the paper's (+11.8% over Catchitt, +6.3% over Leopard). NetTIME: Seq+DNase,
trained like the base model. """ + REIMPLEMENTED,
    plan=_plan, draw=draw_dream, claims=_claims)
