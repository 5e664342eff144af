"""Stage 3 of the simulated data set: the chromatin signals (bigWig) and their peak calls
(narrowPeak) of every assay of one cell type, of the world or beyond it."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from nettime.files import atomic_output, read_chrom_sizes
from nettime.sources.simulate.binding import WorldState
from nettime.sources.simulate.common import (
    BIN,
    narrowpeak_text,
    read_bed3,
    read_world,
    sort_bed,
    stream,
    write_gzip,
)

# ---------------------------------------------------------------------------------------------
# stage 3: one cell type's chromatin features

#: Width (bp) of the DNase/ATAC hypersensitive site around a bound site.
DHS_WIDTH = 200


def _bump(n: int) -> np.ndarray:
    """float64 (n,): a smooth bump (raised cosine) peaking at 1."""
    return 0.5 - 0.5 * np.cos(2 * np.pi * (np.arange(n) + 0.5) / n)


def _signal_track(assay: str, size: int, elements: pd.DataFrame, bound: pd.DataFrame,
                  blacklist: pd.DataFrame, gaps: pd.DataFrame, rng: np.random.Generator
                  ) -> np.ndarray:
    """float64 (size // BIN,): one assay's signal on one chromosome, in BIN-bp bins.

    ``elements`` has the chromosome's elements (``start``, ``end``, ``type``, ``open``: the
    openness in this cell type); ``bound`` one row per site bound in this cell type
    (``start``, ``end``, ``occupancy``: the largest of the TFs that bind it).
    """
    n_bins = size // BIN
    # Background in 100-bp blocks, mostly zero: few runs, so small bigWig files.
    coarse = np.round(rng.gamma(0.25, 0.3, -(-n_bins // 10)) * 5) / 5
    track = np.repeat(coarse, 10)[:n_bins]
    openness = elements["open"].to_numpy()
    starts = elements["start"].to_numpy() // BIN
    ends = elements["end"].to_numpy() // BIN
    types = elements["type"].to_numpy()
    for a, b, o, t in zip(starts, ends, openness, types, strict=True):
        if o <= 0:
            continue
        if assay in ("DNase", "ATAC"):
            lo, hi, height = a, b, 2 + 8 * o
        elif assay == "H3K4me3":
            lo, hi, height = a - 100, b + 100, (3 + 10 * o) * (1.0 if t == "promoter" else 0.1)
        elif assay == "H3K27ac":
            lo, hi, height = a - 50, b + 50, 2 + 8 * o
        else:  # H3K4me1 flanks enhancers, weakly promoters, and dips at the centre
            width = 150
            h = (2 + 6 * o) * (1.0 if t == "enhancer" else 0.3)
            for f_lo in (a - width, b):
                f_lo = max(f_lo, 0)
                f_hi = min(f_lo + width, n_bins)
                track[f_lo:f_hi] += h * _bump(f_hi - f_lo)
            continue
        lo, hi = max(lo, 0), min(hi, n_bins)
        track[lo:hi] += height * _bump(hi - lo) * rng.lognormal(0, 0.1, hi - lo)
    if assay in ("DNase", "ATAC") and len(bound):
        starts = bound["start"].to_numpy() // BIN
        ends = -(-bound["end"].to_numpy() // BIN)
        # Hypersensitive sites: binding clears nucleosomes from a few hundred bp around a bound
        # site, so accessibility peaks there rather than spreading evenly over the element (on
        # real data a TF's peaks sit on DNase peaks of about this width).
        half = DHS_WIDTH // BIN // 2
        for s, e, occupancy in zip(starts, ends, bound["occupancy"].to_numpy(), strict=True):
            centre = (s + e) // 2
            lo, hi = max(centre - half, 0), min(centre + half, n_bins)
            track[lo:hi] += ((1.5 + 4.5 * occupancy) * _bump(hi - lo)
                             * rng.lognormal(0, 0.1, hi - lo))
        # Footprints: the bound motif is protected, its flanks are hypersensitive.
        for s, e in zip(starts, ends, strict=True):
            track[max(s - 2, 0):s] *= 1.3
            track[e:e + 2] *= 1.3
            track[s:e] *= 0.3
    for a, b in zip(blacklist["start"] // BIN, blacklist["end"] // BIN, strict=True):
        track[a:b] += np.round(rng.uniform(15, 40) * _bump(b - a), 1)
    for a, b in zip(gaps["start"] // BIN, gaps["end"] // BIN, strict=True):
        track[a:b] = 0.0
    return np.round(track, 2)


def _runs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge equal neighbours: int64 starts, int64 ends (bins) and float64 values of runs."""
    change = np.flatnonzero(np.diff(values) != 0) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [values.size]])
    return starts, ends, values[starts]


def _call_peaks(chrom: str, track: np.ndarray, threshold: float) -> pd.DataFrame:
    """Intervals of bins above ``threshold`` (at least 5 bins), with summit and scores."""
    above = np.concatenate([[False], track > threshold, [False]])
    edges = np.flatnonzero(np.diff(above.astype(np.int8)))
    lo, hi = edges[0::2], edges[1::2]
    keep = hi - lo >= 5
    lo, hi = lo[keep], hi[keep]
    rows = []
    for a, b in zip(lo, hi, strict=True):
        seg = track[a:b]
        top = int(np.argmax(seg))
        rows.append((chrom, a * BIN, b * BIN, float(seg.mean()), float(seg[top]),
                     top * BIN + BIN // 2))
    frame = pd.DataFrame(rows, columns=["chrom", "start", "end", "signal", "top", "summit"])
    frame["p"] = 2 + 2.5 * frame["top"]
    frame["q"] = np.maximum(frame["p"] - 1.5, 0.5)
    return frame


def simulate_cell(outdir: str | os.PathLike[str], cell_type: str, assays: Sequence[str],
                  progress: Callable[[str], None] | None = None) -> None:
    """Stage 3: ``features/{cell}.{assay}.bigWig`` and ``.narrowPeak.gz`` for each assay.

    A world cell type reads its element openness and binding from the world's files. A cell
    type beyond the world gets the openness the world would have given it and the binding of
    the world's TFs in it (:class:`~.binding.WorldState`): TFs beyond the world leave no mark
    on any signal, so adding one changes no cell type's files.
    """
    import pyBigWig

    out = Path(outdir)
    say = progress or (lambda _msg: None)
    world = read_world(out)
    sizes = read_chrom_sizes(out / "genome" / "chrom.sizes")
    elements = pd.read_csv(out / "truth" / "elements.tsv", sep="\t")
    if cell_type in world["cell_types"]:
        elements["open"] = elements[f"open_{cell_type}"]
        binding = pd.read_csv(out / "truth" / "binding.tsv.gz", sep="\t")
        binding = binding[binding["cell_type"] == cell_type]
    else:
        state = WorldState(out)
        openness = state.openness(cell_type)
        # elements.tsv lists the elements in the order of their IDs, as the state does.
        if not (elements["element"].to_numpy() == state.elements["element"].to_numpy()).all():
            raise ValueError(f"{out / 'truth' / 'elements.tsv'}: elements are not in the order "
                             "of their IDs; rerun the world stage")
        elements["open"] = openness
        binding = sort_bed(pd.concat([state.binding(tf, cell_type, openness=openness)
                                      for tf in state.tfs], ignore_index=True))
    # One row per bound site, with the largest occupancy of the TFs that bind it.
    bound = (binding.groupby(["chrom", "start", "end"], as_index=False, sort=False)["occupancy"]
             .max())
    blacklist = read_bed3(out / "genome" / "blacklist.bed")
    gaps = read_bed3(out / "truth" / "gaps.bed")
    for assay in assays:
        say(f"{cell_type}: {assay}")
        target = out / "features" / f"{cell_type}.{assay}.bigWig"
        calls = []
        with atomic_output(target, suffix=".bigWig") as tmp:
            bw = pyBigWig.open(str(tmp), "w")
            bw.addHeader(list(sizes.items()), maxZooms=6)
            for chrom, size in sizes.items():
                rng = stream(world["seed"], "signal", cell_type, assay, chrom)
                track = _signal_track(assay, size, elements[elements["chrom"] == chrom],
                                      bound[bound["chrom"] == chrom],
                                      blacklist[blacklist["chrom"] == chrom],
                                      gaps[gaps["chrom"] == chrom], rng)
                starts, ends, values = _runs(track)
                bw.addEntries([chrom] * starts.size, (starts * BIN).tolist(),
                              ends=(ends * BIN).tolist(), values=values.tolist())
                calls.append(_call_peaks(chrom, track, threshold=1.5))
            bw.close()
        write_gzip(out / "features" / f"{cell_type}.{assay}.narrowPeak.gz",
                    narrowpeak_text(pd.concat(calls, ignore_index=True)))
