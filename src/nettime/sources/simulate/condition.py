"""Stage 2 of the simulated data set: the ChIP-seq peaks and ground-truth sites of one
condition (a TF in a cell type), of the world or beyond it (a new TF or cell type)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from nettime.files import read_chrom_sizes, write_text
from nettime.motifs.matrices import Motif
from nettime.sources.simulate.binding import WorldState
from nettime.sources.simulate.common import (
    frame_text,
    load_motif_table,
    narrowpeak_text,
    random_windows,
    read_bed3,
    read_world,
    sort_bed,
    stream,
    write_gzip,
)

# ---------------------------------------------------------------------------------------------
# stage 2: one condition


def simulate_condition(outdir: str | os.PathLike[str], tf: str, cell_type: str,
                       motif: Motif | str | None = None) -> None:
    """Stage 2: ``peaks/{TF}.{cell}.{conserved,relaxed}.narrowPeak.gz`` and
    ``truth/{TF}.{cell}.sites.bed`` for one condition in ``outdir``.

    A condition of the world reads its binding from ``truth/binding.tsv.gz``; one beyond it (a
    TF or cell type the world lacks) is bound from the world's files as the world binds its own
    (:class:`~.binding.WorldState`), changing none of them. Conserved peaks are the strongest
    bound sites; relaxed peaks are the conserved peaks (same intervals) plus weaker bound sites
    and noise peaks (partly in blacklisted regions).

    Parameters
    ----------
    motif
        The TF's motif, or its JASPAR ID or MEME path; needed only for a TF beyond the world,
        which binds the sites of the world TF with the most similar motif's family.
    """
    out = Path(outdir)
    world = read_world(out)
    rng = stream(world["seed"], "condition", tf, cell_type)
    if tf in world["tfs"] and cell_type in world["cell_types"]:
        binding = pd.read_csv(out / "truth" / "binding.tsv.gz", sep="\t")
        bound = binding[(binding["tf"] == tf) & (binding["cell_type"] == cell_type)]
    else:
        if isinstance(motif, str) and tf not in world["tfs"]:
            motif = load_motif_table({tf: motif}, [tf], "the workflow's config")[tf]
        bound = WorldState(out).binding(tf, cell_type, motif if isinstance(motif, Motif)
                                        else None)
    bound = bound.reset_index(drop=True)
    sizes = read_chrom_sizes(out / "genome" / "chrom.sizes")
    gaps = read_bed3(out / "truth" / "gaps.bed")
    blacklist = read_bed3(out / "genome" / "blacklist.bed")

    truth = bound[["chrom", "start", "end"]].copy()
    truth["name"] = bound["kind"] + ":" + bound["site"]
    truth["score"] = np.clip(np.round(bound["occupancy"] * 500), 0, 1000).astype(np.int64)
    truth["strand"] = "."
    write_text(out / "truth" / f"{tf}.{cell_type}.sites.bed", frame_text(sort_bed(truth)))

    n = len(bound)
    detect = bound["occupancy"].to_numpy() * rng.lognormal(0, 0.3, n)
    cutoff = np.quantile(detect, 0.4) if n else 0.0
    strong = detect >= cutoff
    centre = ((bound["start"] + bound["end"]) // 2).to_numpy() + np.round(
        rng.normal(0, 20, n)).astype(np.int64)
    width = np.clip(np.round(rng.normal(300, 70, n)), 150, 600).astype(np.int64)
    left = np.round(width * rng.uniform(0.35, 0.65, n)).astype(np.int64)
    size = bound["chrom"].map(sizes).to_numpy()
    start = np.clip(centre - left, 0, None)
    end = np.minimum(start + width, size)
    site_mid = ((bound["start"] + bound["end"]) // 2).to_numpy()
    summit = np.clip(site_mid + np.round(rng.normal(0, 4, n)).astype(np.int64) - start, 0,
                     end - start - 1)
    p = 4 + 30 * detect + rng.exponential(1.0, n)
    peaks = pd.DataFrame({"chrom": bound["chrom"], "start": start, "end": end,
                          "signal": 3 + 25 * detect + rng.exponential(0.5, n), "p": p,
                          "q": np.maximum(p - 2.0 - rng.exponential(0.5, n), 0.5),
                          "summit": summit})
    conserved = peaks[strong]
    # Noise: false peaks in random places and in blacklisted regions.
    n_noise = max(2, int(0.08 * n))
    noise = random_windows(sizes, gaps, 250, n_noise, rng)
    in_bl = blacklist.sample(n=min(len(blacklist), max(1, n_noise // 3)),
                             random_state=rng.integers(2**31)).reset_index(drop=True)
    in_bl["end"] = np.minimum(in_bl["start"] + 250, in_bl["end"])
    noise = pd.concat([noise, in_bl[["chrom", "start", "end"]]], ignore_index=True)
    m = len(noise)
    q_noise = 2.0 + rng.exponential(1.0, m)
    noise["signal"] = 2 + rng.exponential(2.0, m)
    noise["p"] = q_noise + 1.5
    noise["q"] = q_noise
    noise["summit"] = (noise["end"] - noise["start"]) // 2
    relaxed = pd.concat([peaks, noise], ignore_index=True)
    write_gzip(out / "peaks" / f"{tf}.{cell_type}.conserved.narrowPeak.gz",
                narrowpeak_text(conserved))
    write_gzip(out / "peaks" / f"{tf}.{cell_type}.relaxed.narrowPeak.gz", narrowpeak_text(relaxed))
