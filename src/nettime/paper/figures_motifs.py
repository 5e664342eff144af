"""Fig 6b (paper) / thesis Fig 4.8b, declared once: de novo motifs under a model's predicted
binding sites beside those under the condition's conserved ChIP-seq peaks, and the findings rows
that judge them. :func:`motif_models` alone decides whose called sites each condition shows.

Config ``motif_discovery:`` (schema defaults in ``workflow/schemas/config.schema.yaml``) chooses
the conditions, the split, the calls (threshold or CRF), the engine and the thresholds; the
motifs are found by the rule ``denovo_motifs`` (:func:`nettime.evaluation.denovo.denovo_condition`)
and drawn by :func:`nettime.paper.logos.draw_motif_logos`.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from nettime import layout
from nettime.config import ConfigError, Problem, Project, schema_defaults, split_condition
from nettime.models.registry import model_specs, predictable, select_conditions
from nettime.paper import findings, logos
from nettime.paper.declare import Claim, Figure, FigurePlan, experiments_section
from nettime.paper.experiments import base_model, slug
from nettime.paper.transfer import new_section, new_targets, tuned_name

SECTION = "motif_discovery"
#: What the caption says of each configured engine (``auto`` is resolved when the rule runs).
ENGINE_TEXT = {
    "builtin": "Motifs: the STREME-like engine reimplemented in nettime "
               "(nettime.motifs.discovery), not the MEME Suite's streme.",
    "streme": "Motifs: the MEME Suite's streme.",
    "auto": "Motifs: the MEME Suite's streme where it was on the PATH when the rule ran, "
            "else the STREME-like engine reimplemented in nettime; the engine that made each "
            "motif is named in the figure and its table.",
}
PAPER = "motifs under predicted sites resemble those under ChIP-seq peaks (paper Fig 6b)"


def motif_settings(project: Project) -> dict[str, Any]:
    """The ``motif_discovery`` section with the schema's defaults for keys left out."""
    return {**schema_defaults()[SECTION], **(project.config.get(SECTION) or {})}


def motif_models(project: Project) -> dict[str, str]:
    """Condition -> the model whose called sites Fig 6b searches for it.

    ``motif_discovery.model`` decides: ``transfer`` takes the Fig 6a model of a new condition
    (the base model fine-tuned for it, :func:`nettime.paper.transfer.tuned_name`), as the
    paper; ``supervised`` the supervised base model (``experiments.base_model``); ``auto``
    (the default) the Fig 6a model where the condition has one, else the base model. The
    conditions are ``motif_discovery.conditions``, or every condition the base model predicts
    when that list is empty.

    Raises
    ------
    ConfigError
        Naming the key ``motif_discovery.conditions`` for a condition that is not in the
        conditions sheet or that the chosen model does not predict (it has no calls there).
    """
    settings = motif_settings(project)
    base = base_model(project)[0]
    known = predictable(model_specs(project), base)
    transfer = set(new_targets(project)) if new_section(project) else set()
    choice = settings.get("model", "auto")
    chosen = settings["conditions"]
    if not chosen:
        return dict.fromkeys(known, base)
    where = f"{SECTION}.conditions"
    conditions = select_conditions(project, list(chosen), where)
    out, missing = {}, []
    for condition in conditions:
        if choice != "supervised" and condition in transfer:
            out[condition] = tuned_name(condition, "new")
        elif choice != "transfer" and condition in known:
            out[condition] = base
        else:
            missing.append(condition)
    if missing:
        source = {"transfer": "a Fig 6a model (experiments.new_conditions)",
                  "supervised": f"the model {base!r}"}.get(
                      choice, f"a Fig 6a model or the model {base!r}")
        raise ConfigError([Problem(project.config_path, f"condition(s) {', '.join(missing)} "
                                   f"have no calls of {source}, whose predicted sites Fig 6b "
                                   f"searches ({base!r} predicts: {', '.join(known)})",
                                   column=where)])
    return out


def _plan(project: Project) -> list[FigurePlan]:
    if not experiments_section(project):
        return []
    settings = motif_settings(project)
    models = motif_models(project)
    if not models:
        return []
    split = settings["split"]
    conditions = {}
    for condition, model in models.items():
        paths = layout.denovo_files(model=model, split=split, condition=condition)
        conditions[condition] = {role: paths[role]
                                 for role in ("table", "sites_meme", "peaks_meme")}
    files: dict[str, Any] = {"conditions": conditions}
    simulated = project.source == "simulated"
    beyond_world: dict[str, str] = {}
    if simulated:
        from nettime.sources.simulate.common import world_members

        world = layout.simulated_world()
        files["planted"] = {"meme": world["meme"], "world": world["world"]}
        # A new TF the world lacks binds the sites of the family its own motif is like.
        world_tfs = set(world_members(project)[0])
        table = project.config.get("motifs", {}) or {}
        beyond_world = {tf: str(table[tf]) for tf in
                        sorted({split_condition(c)[0] for c in models} - world_tfs)
                        if tf in table}
    params = {"models": models, "split": split, "calls": settings["calls"],
              "tomtom_threshold": settings["tomtom_threshold"],
              "e_value_threshold": settings["e_value_threshold"],
              "flank": settings["flank"], "min_length": settings["min_length"],
              "engine": settings["engine"], "engine_text": ENGINE_TEXT[settings["engine"]],
              "model_text": ", ".join(dict.fromkeys(models.values())),
              "beyond_world_motifs": beyond_world,
              "planted_text": "; on simulated data also each motif's TOMTOM p- and q-value "
                              "against the matrix the simulator planted for the TF and the "
                              "best over its motif family" if simulated else ""}
    return [FigurePlan(name="fig6b_motifs", files=files,
                       models=tuple(dict.fromkeys(models.values())), params=params)]


# ---- findings -----------------------------------------------------------------------------------

def claim_row(claim_id: str, claim: str, measured: str, p_value: float, paper: str,
              criterion: str, holds: bool) -> Claim:
    """A findings row of Fig 6b (:func:`nettime.paper.findings.claim_row`)."""
    return findings.claim_row(claim_id, claim, "Fig 6b", measured, p_value, paper, criterion,
                              holds)


def _number(value: Any) -> float:
    """A cell as a float (NaN where empty)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number


def _count(row: pd.Series, kind: str) -> str:
    n = _number(row.get(f"{kind}_n_sequences"))
    return "?" if math.isnan(n) else str(int(n))


def _motif_text(row: pd.Series, kind: str) -> str:
    e = _number(row.get(f"{kind}_log10_e_value"))
    return f"{row[f'{kind}_consensus']} (E={logos.format_log10(e)})"


def motif_match_claims(numbers: pd.DataFrame, tomtom_threshold: float,
                       e_value_threshold: float) -> list[Claim]:
    """Per condition and overall: the top motif under predicted sites matches the top motif
    under ChIP-seq peaks (TOMTOM p < ``tomtom_threshold``). A condition without a significant
    motif in a set is reported so, and does not hold."""
    rows = []
    criterion = (f"a motif with E <= {e_value_threshold:g} in both sets and TOMTOM p < "
                 f"{tomtom_threshold:g}")
    matched, ps = 0, []
    for _, row in numbers.iterrows():
        p = _number(row.get("tomtom_p_value"))
        compared = not math.isnan(p)
        holds = compared and p < tomtom_threshold
        matched += holds
        if compared:
            ps.append(p)
            measured = (f"prediction {_motif_text(row, 'sites')} vs target "
                        f"{_motif_text(row, 'peaks')}: TOMTOM p={p:.2g}, "
                        f"E={_number(row.get('tomtom_e_value')):.2g}, "
                        f"q={_number(row.get('tomtom_q_value')):.2g}")
        else:
            measured = (f"{row['status']} ({_count(row, 'sites')} predicted sites, "
                        f"{_count(row, 'peaks')} peaks)")
        rows.append(claim_row(f"motif_match_{slug(row['condition'])}",
                              f"the motif under predicted sites matches the ChIP-seq motif "
                              f"({row['condition']}, model {row['model']})", measured, p,
                              PAPER, criterion, holds))
    missing = {kind: int(numbers[f"{kind}_motif_id"].isna().sum()) for kind in ("sites", "peaks")}
    rows.append(claim_row(
        "motif_match", "the motif under predicted sites matches the ChIP-seq motif in every "
        "condition shown", f"{matched} of {len(numbers)} conditions match; no significant motif "
        f"under predicted sites in {missing['sites']}, under peaks in {missing['peaks']}",
        max(ps) if ps else math.nan, PAPER, f"every condition: {criterion}",
        bool(len(numbers)) and matched == len(numbers)))
    return rows


def planted_claims(numbers: pd.DataFrame) -> list[Claim]:
    """Simulated data: per condition and overall, the top motif under predicted sites recovers
    the matrix planted for the TF or for a TF of its motif family (TOMTOM q <
    :data:`nettime.paper.logos.PLANTED_Q`)."""
    if "planted_tf" not in numbers.columns:
        return []
    criterion = (f"a significant motif under predicted sites with TOMTOM q < "
                 f"{logos.PLANTED_Q:g} against the planted matrix of the TF or of a TF of its "
                 "motif family (the simulator lets a TF bind its family's sites)")
    paper = "simulation check (the paper had no planted motifs)"
    rows, recovered = [], 0
    for _, row in numbers.iterrows():
        tf = row["planted_tf"]
        best_q = _number(row.get("sites_planted_best_q_value"))
        holds = not math.isnan(best_q) and best_q < logos.PLANTED_Q
        recovered += holds
        # A TF the simulated world lacks has no planted matrix of its own.
        beyond = pd.isna(row["planted_id"])
        if math.isnan(best_q):
            measured = (f"no significant motif under predicted sites ({_count(row, 'sites')} "
                        "sequences)")
        else:
            own = ("no planted matrix of its own (a TF the simulated world lacks: it binds "
                   "the sites of the family its motif is like)" if beyond else
                   f"p={_number(row['sites_planted_p_value']):.2g}, "
                   f"q={_number(row['sites_planted_q_value']):.2g}")
            measured = (f"prediction {_motif_text(row, 'sites')} vs planted {tf} "
                        f"({'none' if beyond else row['planted_id']}): "
                        f"{own}; best of family {row['planted_family']}: "
                        f"{row['sites_planted_best_tf']} q={best_q:.2g}")
        peaks_q = _number(row.get("peaks_planted_best_q_value"))
        measured += ("; ChIP-seq motif: " + (f"q={peaks_q:.2g}" if not math.isnan(peaks_q)
                                            else "none significant"))
        target = (f"a planted motif of the family {tf} binds ({row['planted_family']})"
                  if beyond else f"the planted {tf} motif")
        p_value = row.get("sites_planted_best_p_value" if beyond else "sites_planted_p_value")
        rows.append(claim_row(f"motif_planted_{slug(row['condition'])}",
                              f"the motif under predicted sites recovers {target} "
                              f"({row['condition']}, simulated)", measured,
                              _number(p_value), paper, criterion, holds))
    rows.append(claim_row("motif_planted", "the motifs under predicted sites recover the "
                          "planted motifs in every condition shown (simulated)",
                          f"{recovered} of {len(numbers)} conditions recover their planted "
                          "motif", math.nan, paper, f"every condition: {criterion}",
                          bool(len(numbers)) and recovered == len(numbers)))
    return rows


def _claims(plan: FigurePlan, numbers: pd.DataFrame) -> list[Claim]:
    return (motif_match_claims(numbers, float(plan.params["tomtom_threshold"]),
                               float(plan.params["e_value_threshold"]))
            + planted_claims(numbers))


FIG6B = Figure(
    key="fig6b", title="Fig 6b: de novo motifs",
    caption="""**Fig 6b (paper) / thesis Fig 4.8b: de novo motifs under predicted binding
sites.** One row per condition. Prediction: the top de novo motif in the sequences under the
{calls} calls of model ``{model_text}`` on the {split} split (sites shorter than {min_length} bp
widened to it around their centre). Target: the top motif under the summit ± {flank} bp of the
condition's conserved ChIP-seq peaks on the same chromosomes. Each set is searched against
background windows of the same lengths drawn from the split's example windows, away from sites
and peaks; its top motif is its best with E ≤ {e_value_threshold}, and a cell without a logo says
that the set had none. Logos show information content; the two logos of a row are aligned as
TOMTOM aligned them. Top right of the prediction logo: the TOMTOM p-value of the prediction
against the target motif (scored in a search of the target together with the JASPAR vertebrate
CORE collection); below each logo its best JASPAR match. {engine_text} The TSV gives each
motif's consensus, E-value, site count and best JASPAR match, and TOMTOM's p-, E- and q-value
of the pair{planted_text}.""",
    plan=_plan, draw=logos.draw_motif_logos, claims=_claims, shows_new_conditions=True)
