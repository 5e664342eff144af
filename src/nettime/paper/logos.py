"""Fig 6b (paper) / thesis Fig 4.8b drawn: the de novo motif under each condition's predicted
binding sites beside the one under its conserved ChIP-seq peaks, as sequence logos.

:func:`draw_motif_logos` reads the tables and MEME files of
:func:`nettime.evaluation.denovo.denovo_condition` (one table per condition), compares each top
motif with the matrix the simulator planted for the condition's TF when the data are simulated
(TOMTOM, :func:`nettime.motifs.compare.compare_motifs`), writes every number to the TSV and draws
one row of logos per condition. Logos show information content (bits against a uniform
background); the two logos of a row are aligned as TOMTOM aligned them. The engine that made the
motifs (the MEME Suite's ``streme`` or the STREME-like reimplementation) is named in the figure.

matplotlib and logomaker are imported when a figure is drawn, not when this module is imported.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from nettime.config import split_condition
from nettime.files import PathLike
from nettime.layout import DENOVO_SETS
from nettime.motifs.matrices import ALPHABET, Motif, read_meme
from nettime.motifs.streme import mantissa_exponent, read_streme_txt
from nettime.paper.draw import FigureError, write_numbers
from nettime.paper.plots import pyplot, save_figure

#: Column headings of the figure, by set.
HEADINGS = {"sites": "Prediction", "peaks": "Target (ChIP-seq conserved peaks)"}
#: TOMTOM q-value below which a motif recovers a planted matrix.
PLANTED_Q = 0.05
#: Complements of the IUPAC letters (a consensus of the other strand, read backwards).
IUPAC_COMPLEMENT = str.maketrans("ACGTMKRYWSBVDHN", "TGCAKMYRWSVBHDN")


def read_table(path: PathLike) -> pd.DataFrame:
    """A de novo motif table (NA cells missing), as
    :func:`nettime.evaluation.denovo.read_denovo_table` reads it.

    Raises
    ------
    FigureError
        When the file is missing or holds no row.
    """
    if not os.path.exists(path):
        raise FigureError(f"{path}: no such de novo motif table")
    table = pd.read_csv(path, sep="\t", na_values=["NA"], keep_default_na=False)
    if table.empty or "condition" not in table.columns:
        raise FigureError(f"{path}: expected one row with a 'condition' column")
    return table


def top_motif(meme: PathLike, motif_id: Any) -> Motif | None:
    """The motif ``motif_id`` of a STREME-format MEME file (None when ``motif_id`` is missing).

    Raises
    ------
    FigureError
        When the file holds no motif of that identifier.
    """
    if motif_id is None or (isinstance(motif_id, float) and math.isnan(motif_id)):
        return None
    for motif in read_streme_txt(meme):
        if motif.matrix_id == str(motif_id):
            return motif
    raise FigureError(f"{meme}: no motif {motif_id!r} (named in its de novo table)")


def planted_motifs(files: Mapping[str, PathLike]) -> tuple[dict[str, Motif], dict[str, int]]:
    """The matrices the simulator planted (TF -> motif, from ``files["meme"]``) and its motif
    families (TF -> family index, from the world's ``files["world"]``)."""
    motifs = {motif.name: motif for motif in read_meme(files["meme"])}
    with open(files["world"]) as handle:
        families = {str(k): int(v) for k, v in json.load(handle).get("families", {}).items()}
    return motifs, families


def family_of(tf: str, planted: Mapping[str, Motif], families: Mapping[str, int],
              motif: Motif | None = None) -> list[str]:
    """The planted TFs of ``tf``'s motif family (``tf`` itself included), in file order.

    A TF beyond the simulated world (a ``new`` row's TF of no supervised panel) has no planted
    matrix: the simulator lets it bind the sites of the family of the world TF whose motif is
    most like its own (``motif``, from the configuration's motif table), and that family is
    returned.

    Raises
    ------
    FigureError
        For a TF beyond the world without its motif, or whose motif is like no planted one.
    """
    if tf in planted:
        return [t for t in planted
                if t == tf or (tf in families and families.get(t) == families[tf])]
    from nettime.sources.simulate.common import new_tf_family

    family = None if motif is None else new_tf_family(motif, dict(planted), dict(families))
    if family is None:
        raise FigureError(f"no planted motif for TF {tf!r} (planted: "
                          f"{', '.join(sorted(planted))}), and "
                          + ("no motif of its own in the configuration" if motif is None
                             else f"its motif {motif.matrix_id} is like none of them"))
    return [t for t in planted if families.get(t) == family]


def compare_with_planted(motif: Motif, tf: str, planted: Mapping[str, Motif],
                         family: list[str]) -> dict[str, object]:
    """TOMTOM of a discovered motif against the planted matrix of ``tf`` and of each TF of its
    motif ``family`` (:func:`family_of`; the simulator lets a TF bind its family's sites).

    Returns
    -------
    dict
        ``planted_p_value``, ``planted_q_value`` (against the TF's own matrix; missing for a
        TF beyond the world, which has none) and ``planted_best_tf``,
        ``planted_best_p_value``, ``planted_best_q_value`` (the family matrix with the
        smallest q-value, the TF's own included).
    """
    from nettime.motifs.compare import compare_motifs  # numba start-up only where compared

    matches = {t: compare_motifs(motif, planted[t]) for t in family}
    best = min(matches, key=lambda t: (matches[t].q_value, matches[t].p_value, t != tf))
    own = matches.get(tf)
    return {"planted_p_value": own.p_value if own else pd.NA,
            "planted_q_value": own.q_value if own else pd.NA,
            "planted_best_tf": best, "planted_best_p_value": matches[best].p_value,
            "planted_best_q_value": matches[best].q_value}


def motif_numbers(files: Mapping[str, Any], params: Mapping[str, Any]
                  ) -> tuple[pd.DataFrame, dict[str, dict[str, Motif | None]]]:
    """The figure's numbers and the top motif of each set of each condition.

    Parameters
    ----------
    files
        ``conditions``: condition -> {``table``, ``sites_meme``, ``peaks_meme``}; on simulated
        data also ``planted``: {``meme``, ``world``}.
    params
        ``models`` (condition -> model), ``split``, ``calls``, ``tomtom_threshold``; on
        simulated data ``beyond_world_motifs``: TF -> its motif (JASPAR ID or MEME path) for
        the TFs that the simulated world lacks (their planted family is chosen by it).

    Returns
    -------
    numbers
        One row per condition: the columns of its de novo table, then model, split, calls,
        tomtom_threshold and ``match`` (yes, no, or ``not compared`` without a significant motif
        in both sets); with planted matrices also planted_tf, planted_id, planted_family and per
        set ``{set}_planted_*`` (:func:`compare_with_planted`) and ``{set}_recovers_planted``.
    motifs
        condition -> set -> its top motif (None without a significant one).
    """
    planted: dict[str, Motif] = {}
    families: dict[str, int] = {}
    beyond_world: dict[str, Motif] = {}
    if "planted" in files:
        planted, families = planted_motifs(files["planted"])
        if params.get("beyond_world_motifs"):
            from nettime.sources.simulate.common import load_motif_table

            beyond_world = load_motif_table(dict(params["beyond_world_motifs"]),
                                            params["beyond_world_motifs"],
                                            "the configuration's motifs")
    threshold = float(params["tomtom_threshold"])
    rows, motifs = [], {}
    for condition, paths in files["conditions"].items():
        table = read_table(paths["table"])
        row = table.iloc[0].to_dict()
        if row["condition"] != condition:
            raise FigureError(f"{paths['table']}: holds condition {row['condition']!r}, "
                              f"expected {condition!r}")
        row.update(model=params["models"][condition], split=params["split"],
                   calls=params["calls"], tomtom_threshold=threshold)
        p = row.get("tomtom_p_value")
        row["match"] = ("not compared" if p is None or pd.isna(p)
                        else "yes" if p < threshold else "no")
        motifs[condition] = {kind: top_motif(paths[f"{kind}_meme"], row[f"{kind}_motif_id"])
                             for kind in DENOVO_SETS}
        if planted:
            tf = split_condition(condition)[0]
            own = planted.get(tf)
            try:
                family = family_of(tf, planted, families, beyond_world.get(tf))
            except FigureError as error:
                raise FigureError(f"{files['planted']['meme']}: {error}") from None
            row.update(planted_tf=tf, planted_id=own.matrix_id if own else pd.NA,
                       planted_family=",".join(family))
            for kind in DENOVO_SETS:
                motif = motifs[condition][kind]
                found = (compare_with_planted(motif, tf, planted, family)
                         if motif is not None else dict.fromkeys(
                             ["planted_p_value", "planted_q_value", "planted_best_tf",
                              "planted_best_p_value", "planted_best_q_value"], pd.NA))
                row.update({f"{kind}_{key}": value for key, value in found.items()})
                best = found["planted_best_q_value"]
                row[f"{kind}_recovers_planted"] = (
                    "no motif" if motif is None else "yes" if best < PLANTED_Q else "no")
        rows.append(row)
    return pd.DataFrame(rows), motifs


def format_log10(log10_value: float) -> str:
    """A small number given by its log10 (``1.2e-45``), exact below the float range."""
    if math.isnan(log10_value):
        return "n/a"
    if not math.isfinite(log10_value):
        return "0" if log10_value < 0 else "inf"
    mantissa, exponent = mantissa_exponent(log10_value)
    return f"{mantissa:.1f}e{exponent:d}" if exponent < -2 else f"{10 ** log10_value:.2g}"


def _information(motif: Motif, start: int) -> pd.DataFrame:
    """float64 (w, 4) information content of each letter (bits), indexed from ``start``."""
    import logomaker

    ppm = pd.DataFrame(motif.ppm, columns=list(ALPHABET),
                       index=np.arange(start, start + motif.width))
    return logomaker.transform_matrix(ppm, from_type="probability", to_type="information")


def _placement(row: Mapping[str, Any], motifs: Mapping[str, Motif | None]
               ) -> dict[str, tuple[Motif, int, bool]]:
    """Set -> (motif as drawn, first column, reverse-complemented): TOMTOM's offset is the
    target (peaks) column aligned with the query's (sites') first column, in the orientation
    of the target it used, so the target is drawn in that orientation."""
    sites, peaks = motifs["sites"], motifs["peaks"]
    out: dict[str, tuple[Motif, int, bool]] = {}
    compared = row["match"] != "not compared" and sites is not None and peaks is not None
    flip = compared and row.get("tomtom_orientation") == "-"
    offset = int(row["tomtom_offset"]) if compared else 0
    if peaks is not None:
        out["peaks"] = (peaks.reverse_complement() if flip else peaks, 0, flip)
    if sites is not None:
        out["sites"] = (sites, offset, False)
    return out


def _value(row: Mapping[str, Any], key: str) -> Any:
    value = row.get(key)
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def _cell_labels(row: Mapping[str, Any], kind: str, flipped: bool) -> tuple[str, str]:
    """Title (consensus, E-value, sites) and bottom line (best JASPAR match, planted) of a
    logo."""
    e = _value(row, f"{kind}_log10_e_value")
    nsites, n = _value(row, f"{kind}_nsites"), _value(row, f"{kind}_n_sequences")
    text = str(row[f"{kind}_consensus"])
    if flipped:
        text = text.translate(IUPAC_COMPLEMENT)[::-1] + " (rev. compl.)"
    title = f"{text}   E = {format_log10(float(e)) if e is not None else 'n/a'}"
    if nsites is not None and n is not None:
        title += f"   {int(nsites)}/{int(n)} seq."
    lines = []
    name = _value(row, f"{kind}_jaspar_name")
    if name is not None:
        lines.append(f"JASPAR: {name} ({row[f'{kind}_jaspar_id']}), "
                     f"q = {float(row[f'{kind}_jaspar_q_value']):.1g}")
    best = _value(row, f"{kind}_planted_best_tf")
    if best is not None:
        lines.append(f"planted {best}: q = {float(row[f'{kind}_planted_best_q_value']):.1g}")
    return title, "\n".join(lines)


def _empty_cell(ax: Any, row: Mapping[str, Any], kind: str, threshold: float) -> None:
    n = _value(row, f"{kind}_n_sequences")
    if n is not None and int(n) == 0:
        text = "no predicted sites" if kind == "sites" else "no peaks on this split"
    elif n is not None and int(n) == 1:
        text = "1 sequence: too few to search"
    else:
        text = (f"no significant motif\n(E ≤ {threshold:g}"
                + (f"; {int(n)} sequences)" if n is not None else ")"))
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=8, color="0.35",
            transform=ax.transAxes)


def plot_motif_logos(numbers: pd.DataFrame, motifs: Mapping[str, Mapping[str, Motif | None]],
                     pdf: PathLike, title: str) -> None:
    """One row per condition: the logo of its top motif under predicted sites (with the TOMTOM
    p-value against the target motif in its top-right corner) and under ChIP-seq peaks, or a
    short text where a set had no significant motif."""
    import logomaker

    plt = pyplot()
    n = len(numbers)
    fig, axes = plt.subplots(n, 2, figsize=(10, 1.8 * n + 0.8), squeeze=False,
                             gridspec_kw={"hspace": 1.0, "wspace": 0.12})
    for i, row in enumerate(numbers.to_dict("records")):
        condition = row["condition"]
        placed = _placement(row, motifs[condition])
        spans = [(start, start + motif.width) for motif, start, _ in placed.values()]
        left = min([s for s, _ in spans], default=0)
        right = max([e for _, e in spans], default=1)
        for j, kind in enumerate(DENOVO_SETS):
            ax = axes[i, j]
            if kind not in placed:
                _empty_cell(ax, row, kind, float(row["e_value_threshold"]))
            else:
                motif, start, flipped = placed[kind]
                logomaker.Logo(_information(motif, start), ax=ax, color_scheme="classic",
                               show_spines=False)
                ax.set_xlim(left - 0.5, right - 0.5)
                ax.set_ylim(0, 2)
                ax.set_yticks([0, 1, 2])
                ax.set_xticks([])
                ax.tick_params(labelsize=7)
                heading, below = _cell_labels(row, kind, flipped)
                ax.set_title(heading, fontsize=8, loc="left")
                ax.set_xlabel(below, fontsize=7, loc="left")
                if j == 0:
                    ax.set_ylabel("bits", fontsize=7, labelpad=1)
                p = _value(row, "tomtom_p_value")
                if kind == "sites" and p is not None:
                    ax.text(0.99, 0.97, f"TOMTOM p = {float(p):.2g}", ha="right", va="top",
                            fontsize=8, transform=ax.transAxes,
                            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "0.6"})
            if i == 0:
                ax.annotate(HEADINGS[kind], xy=(0.5, 1.55), xycoords="axes fraction",
                            ha="center", fontsize=10, fontweight="bold")
        axes[i, 0].annotate(f"{condition}\n({row['model']})", xy=(-0.12, 0.5),
                            xycoords="axes fraction", ha="right", va="center", fontsize=9)
    fig.suptitle(title, fontsize=10, y=1.0 + 0.35 / max(n, 1))
    save_figure(fig, pdf)


def engines(numbers: pd.DataFrame) -> list[str]:
    """The engines that made the motifs of the figure, as their tables name them."""
    names = [numbers[f"{kind}_engine"] for kind in DENOVO_SETS if f"{kind}_engine" in numbers]
    return list(dict.fromkeys(str(v) for column in names for v in column if not pd.isna(v)))


def draw_motif_logos(files: Mapping[str, Any], params: Mapping[str, Any], pdf: PathLike,
                     tsv: PathLike) -> pd.DataFrame:
    """Fig 6b (the signature of :attr:`nettime.paper.declare.Figure.draw`): the numbers of
    :func:`motif_numbers` to ``tsv`` and the logos of :func:`plot_motif_logos` to ``pdf``."""
    numbers, motifs = motif_numbers(files, params)
    title = (f"De novo motifs: {params['calls']} calls ({params['split']} split) vs conserved "
             f"ChIP-seq peaks\nmotifs: {'; '.join(engines(numbers)) or 'none'}")
    plot_motif_logos(numbers, motifs, pdf, title)
    write_numbers(numbers, tsv)
    return numbers
