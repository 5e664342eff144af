"""Stage 1 of the simulated data set: genome FASTA (+ .fai), chrom.sizes, blacklist, N gaps,
regulatory elements with per-cell-type openness, planted motif sites, decoys, the binding of every
TF in every cell type, and the planted motifs (MEME).

It depends on the TFs and cell types of the supervised panels (the world's, recorded in
``truth/world.json``), their motifs, the scale and the seed. A TF or cell type of another panel
is simulated later from these files (:mod:`~.binding`), the way the world simulates its own.

The biology, in brief: elements (promoters, enhancers) are open in some cell types (some in all);
TFs bind planted sites of their motif family inside open elements, with a probability set by the
motif's strength, a TF x cell-type preference and a TF x element-type preference; some TFs also
bind without a motif (tethered to other TFs' sites) in one cell type; strong motif instances are
also planted in closed chromatin (decoys) and never bound. A cell type's accessibility (stage 3)
covers its open elements and peaks in a hypersensitive site around each bound site.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from nettime.files import atomic_output, write_text
from nettime.motifs.matrices import Motif, write_meme
from nettime.sources.simulate.binding import (
    PlantedSites,
    TFTraits,
    bind_pair,
    cell_preference,
    element_openness,
    tf_traits,
)
from nettime.sources.simulate.common import (
    BIN,
    ELEMENT_SLOT,
    WorldSpec,
    chromosome_sizes,
    frame_text,
    load_motif_table,
    motif_families,
    parse_scale,
    sort_bed,
    stream,
    write_gzip,
)

LINE_WIDTH = 60
CODES = np.frombuffer(b"ACGTN", dtype=np.uint8)


# ---------------------------------------------------------------------------------------------
# stage 1: the world


def _markov_chain(cumulative: np.ndarray, levels: np.ndarray, block: int,
                  uniforms: np.ndarray) -> np.ndarray:
    """Sample an order-2 Markov chain; ``cumulative`` float64 (K, 16, 4) per GC level."""
    n = uniforms.shape[0]
    out = np.empty(n, dtype=np.uint8)
    a, b = 0, 1
    for i in range(n):
        table = cumulative[levels[i // block], a * 4 + b]
        u = uniforms[i]
        c = 3
        for k in range(3):
            if u < table[k]:
                c = k
                break
        out[i] = c
        a, b = b, c
    return out


@functools.cache
def _markov_kernel() -> Callable[..., np.ndarray]:
    # numba is imported and the kernel compiled only when a genome is made, so the other
    # stages (and the workflow's parsing) start fast.
    import numba

    return numba.njit(cache=True)(_markov_chain)


def markov_tables(seed: int, levels: int = 9) -> tuple[np.ndarray, np.ndarray]:
    """Order-2 transition tables at GC contents from 0.32 to 0.56.

    Returns
    -------
    gc
        float64 (K,): GC content of each level.
    cumulative
        float64 (K, 16, 4): cumulative next-base probabilities given the two previous bases
        (index 4 * first + second), with CpG depleted as in vertebrate genomes.
    """
    rng = stream(seed, "markov")
    base = rng.dirichlet(np.full(4, 30.0), size=16)
    base[[0 * 4 + 1, 1 * 4 + 1, 2 * 4 + 1, 3 * 4 + 1], 2] *= 0.25  # C followed by G
    gc = np.linspace(0.32, 0.56, levels)
    weights = np.stack([(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2], axis=1)  # (K, 4)
    probs = base[None, :, :] * weights[:, None, :]
    probs /= probs.sum(axis=2, keepdims=True)
    return gc, np.cumsum(probs, axis=2)


def _sample_instance(motif: Motif, sharpness: float, rng: np.random.Generator
                     ) -> tuple[np.ndarray, float]:
    """Draw one instance from a motif sharpened by ``sharpness``; return codes and its score.

    The score is the instance's log-odds relative to the motif's best possible (<= 1).
    """
    ppm = motif.ppm ** sharpness
    ppm /= ppm.sum(axis=1, keepdims=True)
    cumulative = np.cumsum(ppm, axis=1)
    u = rng.random(motif.width)
    codes = np.minimum((u[:, None] > cumulative).sum(axis=1), 3).astype(np.uint8)
    lo = motif.log_odds()
    score = lo[np.arange(motif.width), codes].sum()
    best = lo.max(axis=1).sum()
    return codes, float(score / best)


def _place_elements(size: int, forbidden: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """Candidate regulatory elements of one chromosome, one per slot, avoiding ``forbidden``
    int64 (m, 2) intervals (gaps and blacklist, with margins)."""
    n_slots = size // ELEMENT_SLOT
    present = rng.random(n_slots) < 0.8
    promoter = rng.random(n_slots) < 0.3
    width = np.where(promoter, rng.integers(80, 151, n_slots), rng.integers(30, 91, n_slots)) * BIN
    offset = (rng.random(n_slots) * (ELEMENT_SLOT - width - 400)).astype(np.int64) // BIN * BIN
    start = np.arange(n_slots, dtype=np.int64) * ELEMENT_SLOT + 200 + offset
    end = start + width
    keep = present.copy()
    for lo, hi in forbidden:
        keep &= (end <= lo) | (start >= hi)
    return pd.DataFrame({"start": start[keep], "end": end[keep],
                         "type": np.where(promoter[keep], "promoter", "enhancer")})


def simulate_world(spec: WorldSpec, outdir: str | os.PathLike[str],
                   progress: Callable[[str], None] | None = None) -> None:
    """Stage 1: genome, elements, planted sites, decoys, the binding of every TF in every cell.

    Writes ``genome/{genome.fa,genome.fa.fai,chrom.sizes,blacklist.bed}``, ``truth/{world.json,
    gaps.bed,elements.tsv,sites.bed,decoys.bed,binding.tsv.gz}`` and ``motifs/planted.meme``
    under ``outdir``.
    """
    out = Path(outdir)
    say = progress or (lambda _msg: None)
    seed = spec.seed
    sizes = chromosome_sizes(spec.chromosomes, spec.scale)
    gc_levels, cumulative = markov_tables(seed)
    families = motif_families(spec.motifs)
    tfs, cells = spec.tfs, spec.cell_types
    max_width = max(m.width for m in spec.motifs.values())

    # Per-TF properties: preferences for element types and cell types, an indirect cell type.
    traits = {tf: tf_traits(seed, tf, cells) for tf in tfs}
    cell_pref = {(tf, cell): cell_preference(seed, tf, cell) for tf in tfs for cell in cells}

    genome: dict[str, np.ndarray] = {}
    gaps, blacklist, elements, sites, decoys = [], [], [], [], []
    for chrom in spec.chromosomes:
        say(f"world: {chrom}")
        size = sizes[chrom]
        rng = stream(seed, "genome", chrom)
        block = 20000
        n_blocks = -(-size // block)
        walk = np.cumsum(rng.normal(0, 0.6, n_blocks))
        walk = (walk - walk.mean()) / (walk.std() + 1e-9)
        level = np.clip(np.round((len(gc_levels) - 1) / 2 + 1.5 * walk), 0,
                        len(gc_levels) - 1).astype(np.int64)
        codes = _markov_kernel()(cumulative, level, block, rng.random(size))

        # N gaps: both telomeres and a centromere-like gap.
        tel = max(1000, int(size * 0.004)) // BIN * BIN
        cen_start = int(size * rng.uniform(0.3, 0.5)) // BIN * BIN
        cen_len = max(2000, int(size * 0.01)) // BIN * BIN
        chrom_gaps = [(0, tel), (cen_start, cen_start + cen_len), (size - tel, size)]
        for lo, hi in chrom_gaps:
            codes[lo:hi] = 4
            gaps.append((chrom, lo, hi))
        # Blacklist: beside the centromere and one random region (artefact-prone).
        bl_len = int(rng.integers(100, 301)) * BIN
        chrom_bl = [(cen_start + cen_len, cen_start + cen_len + bl_len)]
        lo = int(rng.integers(tel + 5000, size - tel - 5000)) // BIN * BIN
        chrom_bl.append((lo, lo + int(rng.integers(50, 201)) * BIN))
        blacklist += [(chrom, a, b) for a, b in chrom_bl]

        forbidden = np.array([(a - 1000, b + 1000) for a, b in chrom_gaps + chrom_bl])
        placed = _place_elements(size, forbidden, rng)
        placed.insert(0, "chrom", chrom)
        placed["constitutive"] = rng.random(len(placed)) < np.where(
            placed["type"] == "promoter", 0.45, 0.1)
        elements.append(placed)

        # Planted sites: 1-4 per element, in distinct slots, motif of a random panel TF.
        slot = max_width + 10
        for e_start, e_end in zip(placed["start"], placed["end"], strict=True):
            n_slots = (e_end - e_start - 20) // slot
            n = min(n_slots, 1 + int(rng.poisson(1.2)))
            for s in np.sort(rng.choice(n_slots, size=n, replace=False)):
                tf = tfs[int(rng.integers(len(tfs)))]
                motif = spec.motifs[tf]
                sharp = float(rng.uniform(0.4, 3.0))
                inst, score = _sample_instance(motif, sharp, rng)
                strand = "+" if rng.random() < 0.5 else "-"
                if strand == "-":
                    inst = (3 - inst)[::-1]
                pos = int(e_start + 10 + s * slot + rng.integers(0, slot - motif.width + 1))
                codes[pos:pos + motif.width] = inst
                sites.append((chrom, pos, pos + motif.width, tf, score, strand, e_start))
        # Decoys: strong instances in closed chromatin, far from elements and gaps.
        n_decoys = max(1, int(0.3 * len(placed)))
        starts = placed["start"].to_numpy()
        ends = placed["end"].to_numpy()
        taken = 0
        for _ in range(20 * n_decoys):
            if taken == n_decoys:
                break
            pos = int(rng.integers(tel + 2000, size - tel - 2000 - max_width))
            near = ((starts - 600 < pos + max_width) & (ends + 600 > pos)).any()
            bad = any(a - 200 < pos + max_width and b + 200 > pos
                      for a, b in chrom_gaps + chrom_bl)
            if near or bad:
                continue
            tf = tfs[int(rng.integers(len(tfs)))]
            inst, score = _sample_instance(spec.motifs[tf], 3.0, rng)
            strand = "+" if rng.random() < 0.5 else "-"
            if strand == "-":
                inst = (3 - inst)[::-1]
            codes[pos:pos + inst.size] = inst
            decoys.append((chrom, pos, pos + inst.size, tf, score, strand))
            taken += 1
        genome[chrom] = codes

    elem = pd.concat(elements, ignore_index=True)
    elem["element"] = [f"E{i:06d}" for i in range(len(elem))]
    # Openness per cell type: constitutive everywhere, else cell-type specific.
    for cell in cells:
        elem[f"open_{cell}"] = element_openness(elem, cell, seed)

    site = pd.DataFrame(sites, columns=["chrom", "start", "end", "motif", "score", "strand",
                                        "element_start"])
    site = site.merge(elem[["chrom", "start", "element"]].rename(
        columns={"start": "element_start"}), on=["chrom", "element_start"], how="left")
    site["site"] = [f"S{i:06d}" for i in range(len(site))]
    site["score"] = site["score"].round(4)

    say("world: binding")
    binding = _bind(site, elem, tfs, cells, families, traits, seed)

    say("world: writing")
    _write_genome(out / "genome", genome, sizes)
    write_text(out / "genome" / "blacklist.bed", frame_text(sort_bed(pd.DataFrame(
        blacklist, columns=["chrom", "start", "end"]))))
    write_text(out / "truth" / "gaps.bed", frame_text(sort_bed(pd.DataFrame(
        gaps, columns=["chrom", "start", "end"]))))
    elem_cols = ["chrom", "start", "end", "element", "type", "constitutive"] + [
        f"open_{c}" for c in cells]
    write_text(out / "truth" / "elements.tsv", frame_text(elem[elem_cols], header=True))
    write_text(out / "truth" / "sites.bed", frame_text(sort_bed(
        site[["chrom", "start", "end", "site", "motif", "score", "strand", "element"]])))
    write_text(out / "truth" / "decoys.bed", frame_text(sort_bed(pd.DataFrame(
        decoys, columns=["chrom", "start", "end", "motif", "score", "strand"]))))
    write_gzip(out / "truth" / "binding.tsv.gz", frame_text(binding, header=True))
    world = {"seed": seed, "scale": spec.scale, "tfs": tfs, "cell_types": cells,
             "motifs": {tf: spec.motifs[tf].matrix_id for tf in tfs},
             "families": families,
             "element_preference": {tf: traits[tf].element_preference for tf in tfs},
             "indirect_cell": {tf: traits[tf].indirect_cell for tf in tfs},
             "cell_preference": {f"{t}.{c}": round(v, 4) for (t, c), v in cell_pref.items()}}
    write_text(out / "truth" / "world.json", json.dumps(world, indent=1, sort_keys=True) + "\n")
    with atomic_output(out / "motifs" / "planted.meme") as tmp:
        write_meme([spec.motifs[tf] for tf in tfs], tmp)


def _bind(site: pd.DataFrame, elem: pd.DataFrame, tfs: list[str], cells: list[str],
          families: dict[str, int], traits: dict[str, TFTraits], seed: int) -> pd.DataFrame:
    """The binding of every TF in every cell type (one row per bound site, see
    :func:`~.binding.bind_pair`), sorted like a BED file."""
    planted = PlantedSites.from_frames(site, elem)
    site_family = np.array([families[m] for m in planted.motif], dtype=np.int64)
    rows = [bind_pair(planted, site_family, tf, families[tf], cell, traits[tf],
                      elem[f"open_{cell}"].to_numpy(), seed)
            for tf in tfs for cell in cells]
    return sort_bed(pd.concat(rows, ignore_index=True))


def _write_genome(folder: Path, genome: dict[str, np.ndarray], sizes: dict[str, int]) -> None:
    """FASTA with 60-base lines, its .fai index (computed, not scanned) and chrom.sizes."""
    fai = []
    offset = 0
    with atomic_output(folder / "genome.fa") as tmp, open(tmp, "wb") as handle:
        for chrom, codes in genome.items():
            header = f">{chrom}\n".encode()
            offset += len(header)
            text = CODES[codes]
            n = text.size
            full = n // LINE_WIDTH * LINE_WIDTH
            lines = np.concatenate([text[:full].reshape(-1, LINE_WIDTH),
                                    np.full((full // LINE_WIDTH, 1), ord("\n"), np.uint8)], axis=1)
            handle.write(header)
            handle.write(lines.tobytes())
            if n > full:
                handle.write(text[full:].tobytes() + b"\n")
            fai.append(f"{chrom}\t{n}\t{offset}\t{LINE_WIDTH}\t{LINE_WIDTH + 1}\n")
            offset += n + -(-n // LINE_WIDTH)
    write_text(folder / "genome.fa.fai", "".join(fai))
    write_text(folder / "chrom.sizes", "".join(f"{c}\t{s}\n" for c, s in sizes.items()))


def make_world(outdir: str | os.PathLike[str], tfs: Sequence[str], cell_types: Sequence[str],
               motifs: dict[str, str], chromosomes: Sequence[str], scale: str | float,
               seed: int, progress: Callable[[str], None] | None = None) -> None:
    """Stage 1 from plain values (what the workflow passes): ``motifs`` maps each TF to a
    JASPAR ID or MEME path, ``scale`` is a scale name or a genome length in bp."""
    # The motifs were checked (naming the config file) before any job; no config path is
    # passed, which would rerun the whole data set whenever another --configfile is named.
    spec = WorldSpec(tfs=list(tfs), cell_types=list(cell_types),
                     motifs=load_motif_table(dict(motifs), tfs, "the workflow's config"),
                     chromosomes=list(chromosomes), scale=parse_scale(scale), seed=int(seed))
    simulate_world(spec, outdir, progress=progress)
