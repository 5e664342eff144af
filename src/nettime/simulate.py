"""The simulated ENCODE-like data set: a genome, TF binding with a known ground truth, ChIP-seq
peaks, chromatin signals and ENCODE-shaped portal metadata.

It is made in four stages so that a new condition reruns only its own files:

1. :func:`simulate_world` - genome FASTA (+ .fai), chrom.sizes, blacklist, N gaps, regulatory
   elements with per-cell-type openness, planted motif sites, decoys, the binding of every TF in
   every cell type, and the planted motifs (MEME). Depends on the TF set, cell-type set, motif
   table, scale and seed.
2. :func:`simulate_condition` - conserved and relaxed narrowPeak files and the ground-truth sites
   of one (TF, cell type).
3. :func:`simulate_cell` - bigWig signal and narrowPeak calls of every assay of one cell type.
4. :func:`write_portal` - ENCODE-shaped experiment JSON and a files table with md5 and sizes.

Every random draw comes from a stream seeded by (seed, stage, names), so results do not depend on
the order of the sheets' rows, and the same seed and scale give byte-identical files.

The biology, in brief: elements (promoters, enhancers) are open in some cell types (some in all);
TFs bind planted sites of their motif family inside open elements, with a probability set by the
motif's strength, a TF x cell-type preference and a TF x element-type preference; some TFs also
bind without a motif (tethered to other TFs' sites) in one cell type; strong motif instances are
also planted in closed chromatin (decoys) and never bound.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import os
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nettime.config import ConfigError, Problem, Project, split_condition
from nettime.files import atomic_output, md5sum
from nettime.motifs import Motif, MotifError, load_motif, motif_similarity, write_meme

# GRCh38 primary assembly lengths of the autosomes; simulated lengths are proportional.
GRCH38_LENGTHS = {
    "chr1": 248956422, "chr2": 242193529, "chr3": 198295559, "chr4": 190214555,
    "chr5": 181538259, "chr6": 170805979, "chr7": 159345973, "chr8": 145138636,
    "chr9": 138394717, "chr10": 133797422, "chr11": 135086622, "chr12": 133275309,
    "chr13": 114364328, "chr14": 107043718, "chr15": 101991189, "chr16": 90338345,
    "chr17": 83257441, "chr18": 80373285, "chr19": 58617616, "chr20": 64444167,
    "chr21": 46709983, "chr22": 50818468,
}
# Total simulated genome length (bp) of each named scale.
SCALES = {"tiny": 1.5e6, "demo": 13e6, "large": 60e6}
BIN = 10  # resolution (bp) of the simulated signal tracks
ELEMENT_SLOT = 4000  # one candidate regulatory element per this many bp
FAMILY_SIMILARITY = 0.84  # motif_similarity above which TFs share a motif family
LINE_WIDTH = 60
CODES = np.frombuffer(b"ACGTN", dtype=np.uint8)
ASSAY_TITLES = {"DNase": "DNase-seq", "ATAC": "ATAC-seq"}
# The references, published like ENCODE's GRCh38 files (accessions of the analysis-set FASTA and
# the exclusion list that nettime.encode resolves by default): role -> (accession, path,
# output type, file format).
REFERENCE_FILES = {
    "genome": ("GRCh38_no_alt_analysis_set_GCA_000001405.15", "genome/genome.fa",
               "genome reference", "fasta"),
    "blacklist": ("ENCFF356LFX", "genome/blacklist.bed", "exclusion list", "bed"),
}


# ---------------------------------------------------------------------------------------------
# random streams and small helpers


def _name_key(name: str | int) -> int:
    if isinstance(name, int):
        return name
    return zlib.crc32(name.encode())


def stream(seed: int, stage: str, *names: str | int) -> np.random.Generator:
    """An independent random generator for one stage and names (order-free, reproducible)."""
    return np.random.default_rng([seed, _name_key(stage), *(_name_key(n) for n in names)])


def chromosome_sizes(chromosomes: Sequence[str], scale: str | float) -> dict[str, int]:
    """Simulated chromosome lengths, proportional to GRCh38's, in multiples of :data:`BIN`.

    ``scale`` is a name of :data:`SCALES` or a total length in bp. Chromosomes unknown to the
    GRCh38 table get the mean autosome length.
    """
    total = SCALES[scale] if isinstance(scale, str) else float(scale)
    mean = float(np.mean(list(GRCH38_LENGTHS.values())))
    real = np.array([GRCH38_LENGTHS.get(c, mean) for c in chromosomes])
    sizes = np.maximum(np.round(real / real.sum() * total / BIN), 2000) * BIN
    return {c: int(s) for c, s in zip(chromosomes, sizes, strict=True)}


def _write_text(path: Path, text: str) -> None:
    with atomic_output(path) as tmp:
        tmp.write_text(text)


def _write_gzip(path: Path, text: str) -> None:
    # mtime=0 and no file name in the header: identical input gives identical bytes.
    with atomic_output(path, suffix=".gz") as tmp:
        with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw,
                                                   mtime=0, compresslevel=6) as handle:
            handle.write(text.encode())


def _frame_text(frame: pd.DataFrame, header: bool = False) -> str:
    return frame.to_csv(sep="\t", header=header, index=False, lineterminator="\n",
                        float_format="%.6g")


def sort_bed(frame: pd.DataFrame) -> pd.DataFrame:
    """Sort like ``sort -k1,1 -k2,2n`` (chromosome names as text, then start, then end)."""
    return frame.sort_values(["chrom", "start", "end"], kind="mergesort").reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# the world specification


@dataclass
class WorldSpec:
    """What the world stage depends on.

    Attributes
    ----------
    tfs, cell_types
        Sorted names (sorting makes the result independent of the sheets' row order).
    motifs
        TF -> its motif.
    chromosomes
        Chromosome names, in genome order.
    scale
        Name of :data:`SCALES` or total length in bp.
    seed
        Base seed of every random stream.
    """

    tfs: list[str]
    cell_types: list[str]
    motifs: dict[str, Motif]
    chromosomes: list[str]
    scale: str | float
    seed: int


def parse_scale(value: str | float) -> str | float:
    """A scale name (tiny, demo, large) or a total genome length in bp (e.g. ``"3e6"``)."""
    if isinstance(value, str) and value in SCALES:
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"scale {value!r} is neither one of {', '.join(SCALES)} nor a "
                         "length in bp") from None
    if not 2e5 <= number <= 5e8:
        raise ValueError(f"scale {value!r} is outside 2e5..5e8 bp")
    return number


def load_motif_table(table: dict[str, str], tfs: Iterable[str], config_path: str,
                     base_dir: str | None = None) -> dict[str, Motif]:
    """Load the motif of each TF from a TF -> (JASPAR ID or MEME path) table.

    Raises
    ------
    ConfigError
        One problem per TF without a motif, unknown JASPAR ID or unreadable MEME file, naming
        ``config_path`` and the key ``motifs.<TF>``.
    """
    motifs: dict[str, Motif] = {}
    problems = []
    for tf in sorted(tfs):
        if tf not in table:
            problems.append(Problem(config_path, f"TF {tf!r} has no motif; add "
                                    f"'{tf}: <JASPAR ID or MEME file>' under 'motifs'",
                                    column=f"motifs.{tf}"))
            continue
        try:
            motifs[tf] = load_motif(str(table[tf]), name=tf, base_dir=base_dir)
        except MotifError as exc:
            problems.append(Problem(config_path, str(exc), column=f"motifs.{tf}"))
    if problems:
        raise ConfigError(problems)
    return motifs


def panel_motifs(project: Project) -> dict[str, Motif]:
    """The motif of every TF of a project (config key ``motifs``); see
    :func:`load_motif_table`."""
    return load_motif_table(project.config.get("motifs", {}) or {}, project.tfs,
                            project.config_path, str(Path(project.config_path).parent))


def world_spec(project: Project, scale: str | float | None = None,
               seed: int | None = None) -> WorldSpec:
    """The world specification of a validated project, with optional overrides."""
    sim = project.config.get("simulation", {})
    return WorldSpec(
        tfs=sorted(project.tfs), cell_types=sorted(project.cell_types),
        motifs=panel_motifs(project), chromosomes=list(project.config["genome"]["chromosomes"]),
        scale=parse_scale(scale if scale is not None else sim.get("scale", "demo")),
        seed=int(seed if seed is not None else sim.get("seed", 20221)))


def motif_families(motifs: dict[str, Motif]) -> dict[str, int]:
    """TF -> family index; TFs whose motifs are alike (single linkage) share a family."""
    names = sorted(motifs)
    family = {name: i for i, name in enumerate(names)}
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if motif_similarity(motifs[a], motifs[b]) >= FAMILY_SIMILARITY:
                old, new = family[b], family[a]
                for name in names:
                    if family[name] == old:
                        family[name] = new
    order = {f: i for i, f in enumerate(dict.fromkeys(family[n] for n in names))}
    return {name: order[family[name]] for name in names}


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
    element_pref: dict[str, dict[str, float]] = {}
    indirect_cell: dict[str, str | None] = {}
    for tf in tfs:
        rng = stream(seed, "tf", tf)
        pref = rng.uniform(0.15, 1.0, size=2)
        pref /= pref.max()
        element_pref[tf] = {"promoter": float(pref[0]), "enhancer": float(pref[1])}
        choice = int(rng.integers(len(cells)))
        indirect_cell[tf] = cells[choice] if rng.random() < 0.6 else None
    cell_pref = {(tf, cell): float(stream(seed, "pref", tf, cell).uniform(0.4, 1.0))
                 for tf in tfs for cell in cells}

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
        rng = stream(seed, "activity", cell)
        specific = rng.random(len(elem)) < np.where(elem["type"] == "promoter", 0.35, 0.25)
        strength = rng.lognormal(0.0, 0.4, len(elem))
        elem[f"open_{cell}"] = np.where(elem["constitutive"] | specific, strength, 0.0).round(4)

    site = pd.DataFrame(sites, columns=["chrom", "start", "end", "motif", "score", "strand",
                                        "element_start"])
    site = site.merge(elem[["chrom", "start", "element"]].rename(
        columns={"start": "element_start"}), on=["chrom", "element_start"], how="left")
    site["site"] = [f"S{i:06d}" for i in range(len(site))]
    site["score"] = site["score"].round(4)

    say("world: binding")
    binding = _bind(site, elem, tfs, cells, families, element_pref, cell_pref, indirect_cell,
                    seed)

    say("world: writing")
    _write_genome(out / "genome", genome, sizes)
    _write_text(out / "genome" / "blacklist.bed", _frame_text(sort_bed(pd.DataFrame(
        blacklist, columns=["chrom", "start", "end"]))))
    _write_text(out / "truth" / "gaps.bed", _frame_text(sort_bed(pd.DataFrame(
        gaps, columns=["chrom", "start", "end"]))))
    elem_cols = ["chrom", "start", "end", "element", "type", "constitutive"] + [
        f"open_{c}" for c in cells]
    _write_text(out / "truth" / "elements.tsv", _frame_text(elem[elem_cols], header=True))
    _write_text(out / "truth" / "sites.bed", _frame_text(sort_bed(
        site[["chrom", "start", "end", "site", "motif", "score", "strand", "element"]])))
    _write_text(out / "truth" / "decoys.bed", _frame_text(sort_bed(pd.DataFrame(
        decoys, columns=["chrom", "start", "end", "motif", "score", "strand"]))))
    _write_gzip(out / "truth" / "binding.tsv.gz", _frame_text(binding, header=True))
    world = {"seed": seed, "scale": spec.scale, "tfs": tfs, "cell_types": cells,
             "motifs": {tf: spec.motifs[tf].matrix_id for tf in tfs},
             "families": families, "element_preference": element_pref,
             "indirect_cell": indirect_cell,
             "cell_preference": {f"{t}.{c}": round(v, 4) for (t, c), v in cell_pref.items()}}
    _write_text(out / "truth" / "world.json", json.dumps(world, indent=1, sort_keys=True) + "\n")
    with atomic_output(out / "motifs" / "planted.meme") as tmp:
        write_meme([spec.motifs[tf] for tf in tfs], tmp)


def _bind(site: pd.DataFrame, elem: pd.DataFrame, tfs: list[str], cells: list[str],
          families: dict[str, int], element_pref: dict[str, dict[str, float]],
          cell_pref: dict[tuple[str, str], float], indirect_cell: dict[str, str | None],
          seed: int) -> pd.DataFrame:
    """The binding of every TF in every cell type (one row per bound site)."""
    by_element = elem.set_index("element")
    etype = by_element.loc[site["element"], "type"].to_numpy()
    site_family = site["motif"].map(families).to_numpy()
    rows = []
    for tf in tfs:
        own = (site["motif"] == tf).to_numpy()
        family = site_family == families[tf]
        e_pref = np.where(etype == "promoter", element_pref[tf]["promoter"],
                          element_pref[tf]["enhancer"])
        for cell in cells:
            rng = stream(seed, "binding", tf, cell)
            openness = by_element.loc[site["element"], f"open_{cell}"].to_numpy()
            # Binding needs open chromatin, a strong enough motif, and the TF's preferences.
            affinity = 1 / (1 + np.exp(-(site["score"].to_numpy() - 0.6) / 0.07))
            p = cell_pref[(tf, cell)] * e_pref * affinity * np.where(own, 1.0, 0.75)
            u = rng.random(len(site))
            bound = family & (openness > 0) & (u < p)
            kind = np.full(len(site), "direct", dtype=object)
            if indirect_cell[tf] == cell:
                # Motif-less binding: tethered to other TFs' sites in open elements.
                tether = ~family & (openness > 0) & (rng.random(len(site)) < 0.2)
                kind[tether] = "indirect"
                bound |= tether
                affinity = np.where(tether, 0.6, affinity)
            occupancy = openness * affinity * cell_pref[(tf, cell)] * rng.uniform(0.7, 1.3,
                                                                                   len(site))
            chosen = site.loc[bound, ["chrom", "start", "end", "site", "element"]].copy()
            chosen.insert(3, "tf", tf)
            chosen.insert(4, "cell_type", cell)
            chosen["kind"] = kind[bound]
            chosen["occupancy"] = occupancy[bound].round(4)
            rows.append(chosen)
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
    _write_text(folder / "genome.fa.fai", "".join(fai))
    _write_text(folder / "chrom.sizes", "".join(f"{c}\t{s}\n" for c, s in sizes.items()))


# ---------------------------------------------------------------------------------------------
# reading the world back


def read_chrom_sizes(path: str | os.PathLike[str]) -> dict[str, int]:
    frame = pd.read_csv(path, sep="\t", header=None, names=["chrom", "size"])
    return dict(zip(frame["chrom"], frame["size"].astype(int), strict=True))


def read_bed3(path: str | os.PathLike[str]) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", header=None, usecols=[0, 1, 2],
                       names=["chrom", "start", "end"])


def read_world(outdir: str | os.PathLike[str]) -> dict[str, Any]:
    """The world's parameters (``truth/world.json``)."""
    with open(Path(outdir) / "truth" / "world.json") as handle:
        return json.load(handle)


def _allowed_positions(sizes: dict[str, int], excluded: pd.DataFrame,
                       widths: int | Sequence[int], n: int, rng: np.random.Generator
                       ) -> pd.DataFrame:
    """``n`` random windows that avoid ``excluded`` intervals, of width ``widths`` (one value,
    or one per window), on chromosomes drawn in proportion to their length."""
    chroms = list(sizes)
    lengths = np.array([sizes[c] for c in chroms], dtype=float)
    blocked = {c: (g["start"].to_numpy(), g["end"].to_numpy())
               for c, g in excluded.groupby("chrom")}
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64))
    want = np.broadcast_to(np.asarray(widths, dtype=np.int64), (n,))
    out = []
    while len(out) < n:
        width = int(want[len(out)])
        c = chroms[int(rng.choice(len(chroms), p=lengths / lengths.sum()))]
        pos = int(rng.integers(0, sizes[c] - width))
        lo, hi = blocked.get(c, empty)
        if ((lo < pos + width) & (hi > pos)).any():
            continue
        out.append((c, pos, pos + width))
    return pd.DataFrame(out, columns=["chrom", "start", "end"])


def _narrowpeak(frame: pd.DataFrame) -> str:
    """10-column narrowPeak text from columns chrom, start, end, signal, p, q, summit."""
    table = pd.DataFrame({
        "chrom": frame["chrom"], "start": frame["start"].astype(np.int64),
        "end": frame["end"].astype(np.int64), "name": ".",
        "score": np.clip(np.round(frame["p"] * 20), 0, 1000).astype(np.int64), "strand": ".",
        "signal": frame["signal"].round(5), "p": frame["p"].round(5),
        "q": frame["q"].round(5), "summit": frame["summit"].astype(np.int64)})
    return _frame_text(sort_bed(table))


# ---------------------------------------------------------------------------------------------
# stage 2: one condition


def simulate_condition(outdir: str | os.PathLike[str], tf: str, cell_type: str) -> None:
    """Stage 2: ``peaks/{TF}.{cell}.{conserved,relaxed}.narrowPeak.gz`` and
    ``truth/{TF}.{cell}.sites.bed`` for one condition of the world in ``outdir``.

    Conserved peaks are the strongest bound sites; relaxed peaks are the conserved peaks (same
    intervals) plus weaker bound sites and noise peaks (partly in blacklisted regions).
    """
    out = Path(outdir)
    world = read_world(out)
    if tf not in world["tfs"] or cell_type not in world["cell_types"]:
        raise ValueError(f"{tf}.{cell_type} is not in the simulated world of {out} (TFs "
                         f"{', '.join(world['tfs'])}; cell types {', '.join(world['cell_types'])})"
                         "; rerun the world stage")
    rng = stream(world["seed"], "condition", tf, cell_type)
    binding = pd.read_csv(out / "truth" / "binding.tsv.gz", sep="\t")
    bound = binding[(binding["tf"] == tf) & (binding["cell_type"] == cell_type)]
    bound = bound.reset_index(drop=True)
    sizes = read_chrom_sizes(out / "genome" / "chrom.sizes")
    gaps = read_bed3(out / "truth" / "gaps.bed")
    blacklist = read_bed3(out / "genome" / "blacklist.bed")

    truth = bound[["chrom", "start", "end"]].copy()
    truth["name"] = bound["kind"] + ":" + bound["site"]
    truth["score"] = np.clip(np.round(bound["occupancy"] * 500), 0, 1000).astype(np.int64)
    truth["strand"] = "."
    _write_text(out / "truth" / f"{tf}.{cell_type}.sites.bed", _frame_text(sort_bed(truth)))

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
    noise = _allowed_positions(sizes, gaps, 250, n_noise, rng)
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
    _write_gzip(out / "peaks" / f"{tf}.{cell_type}.conserved.narrowPeak.gz",
                _narrowpeak(conserved))
    _write_gzip(out / "peaks" / f"{tf}.{cell_type}.relaxed.narrowPeak.gz", _narrowpeak(relaxed))


# ---------------------------------------------------------------------------------------------
# stage 3: one cell type's chromatin features


def _bump(n: int) -> np.ndarray:
    """float64 (n,): a smooth bump (raised cosine) peaking at 1."""
    return 0.5 - 0.5 * np.cos(2 * np.pi * (np.arange(n) + 0.5) / n)


def _signal_track(assay: str, size: int, elements: pd.DataFrame, bound: pd.DataFrame,
                  blacklist: pd.DataFrame, gaps: pd.DataFrame, rng: np.random.Generator
                  ) -> np.ndarray:
    """float64 (size // BIN,): one assay's signal on one chromosome, in BIN-bp bins."""
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
        # Footprints: the bound motif is protected, its flanks are hypersensitive.
        for s, e in zip(bound["start"].to_numpy() // BIN, -(-bound["end"].to_numpy() // BIN),
                        strict=True):
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
    """Stage 3: ``features/{cell}.{assay}.bigWig`` and ``.narrowPeak.gz`` for each assay."""
    import pyBigWig

    out = Path(outdir)
    say = progress or (lambda _msg: None)
    world = read_world(out)
    if cell_type not in world["cell_types"]:
        raise ValueError(f"cell type {cell_type!r} is not in the simulated world of {out}; "
                         "rerun the world stage")
    sizes = read_chrom_sizes(out / "genome" / "chrom.sizes")
    elements = pd.read_csv(out / "truth" / "elements.tsv", sep="\t")
    elements["open"] = elements[f"open_{cell_type}"]
    binding = pd.read_csv(out / "truth" / "binding.tsv.gz", sep="\t")
    bound = binding[binding["cell_type"] == cell_type].drop_duplicates(["chrom", "start"])
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
        _write_gzip(out / "features" / f"{cell_type}.{assay}.narrowPeak.gz",
                    _narrowpeak(pd.concat(calls, ignore_index=True)))


# ---------------------------------------------------------------------------------------------
# stage 4: portal metadata


def accession(kind: str, *names: str) -> str:
    """Deterministic ENCODE-like accession, e.g. ``ENCSR123ABC`` (kind ``SR``) or ``ENCFF...``."""
    digest = hashlib.sha256("\t".join((kind,) + names).encode()).digest()
    number = int.from_bytes(digest[:8], "big")
    digits = f"{number % 1000:03d}"
    number //= 1000
    letters = ""
    for _ in range(3):
        letters += chr(ord("A") + number % 26)
        number //= 26
    return f"ENC{kind}{digits}{letters}"


def portal_experiments(project: Project) -> list[dict[str, Any]]:
    """One entry per experiment: accession, assay title, target, biosample and its files
    (paths relative to the output folder, output types)."""
    experiments = []
    for rec in project.conditions.to_dict("records"):
        tf, cell = rec["tf"], rec["cell_type"]
        experiments.append({
            "accession": rec["experiment"] or accession("SR", "TF ChIP-seq", tf, cell),
            "assay_title": "TF ChIP-seq", "target": tf, "biosample": cell,
            "files": [(f"peaks/{tf}.{cell}.conserved.narrowPeak.gz",
                       "conservative IDR thresholded peaks"),
                      (f"peaks/{tf}.{cell}.relaxed.narrowPeak.gz",
                       "optimal IDR thresholded peaks")]})
    for rec in project.cell_features.to_dict("records"):
        cell, assay = rec["cell_type"], rec["assay"]
        title = ASSAY_TITLES.get(assay, "Histone ChIP-seq")
        peaks_type, signal_type = (("peaks", "read-depth normalized signal")
                                   if assay in ASSAY_TITLES
                                   else ("replicated peaks", "signal p-value"))
        experiments.append({
            "accession": rec["experiment"] or accession("SR", title, assay, cell),
            "assay_title": title, "target": None if assay in ASSAY_TITLES else assay,
            "biosample": cell,
            "files": [(f"features/{cell}.{assay}.narrowPeak.gz", peaks_type),
                      (f"features/{cell}.{assay}.bigWig", signal_type)]})
    return experiments


def portal_json_paths(project: Project) -> list[str]:
    """Paths (relative to the output folder) of the experiment and reference file JSON files."""
    return ([f"portal/experiments/{e['accession']}.json" for e in portal_experiments(project)]
            + [f"portal/files/{acc}.json" for acc, *_ in REFERENCE_FILES.values()])


def write_portal(project: Project, outdir: str | os.PathLike[str]) -> None:
    """Stage 4: ``portal/experiments/{ENCSR}.json``, ``portal/files/{accession}.json`` (the
    references, which belong to no experiment) and ``portal/files.tsv``."""
    out = Path(outdir)
    rows = []
    for file_acc, path, output_type, file_format in REFERENCE_FILES.values():
        full = out / path
        record = {
            "@id": f"/files/{file_acc}/", "accession": file_acc, "file_format": file_format,
            "file_type": file_format, "output_type": output_type, "assembly": "GRCh38",
            "status": "released", "md5sum": md5sum(full), "file_size": full.stat().st_size,
            "href": f"/files/{file_acc}/@@download/{file_acc}.{file_format}",
            "biological_replicates": [], "technical_replicates": [],
            "preferred_default": False, "derived_from": [],
        }
        rows.append((file_acc, path, record["md5sum"], record["file_size"], output_type, ""))
        _write_text(out / "portal" / "files" / f"{file_acc}.json",
                    json.dumps(record, indent=1, sort_keys=True) + "\n")
    for exp in portal_experiments(project):
        files = []
        for path, output_type in exp["files"]:
            full = out / path
            bigwig = path.endswith(".bigWig")
            file_acc = accession("FF", exp["accession"], output_type)
            ext = "bigWig" if bigwig else "bed.gz"
            files.append({
                "@id": f"/files/{file_acc}/", "accession": file_acc,
                "file_format": "bigWig" if bigwig else "bed",
                "file_format_type": None if bigwig else "narrowPeak",
                "file_type": "bigWig" if bigwig else "bed narrowPeak",
                "output_type": output_type, "assembly": "GRCh38", "status": "released",
                "md5sum": md5sum(full), "file_size": full.stat().st_size,
                "href": f"/files/{file_acc}/@@download/{file_acc}.{ext}",
                "biological_replicates": [1, 2], "technical_replicates": ["1_1", "2_1"],
                "preferred_default": True, "derived_from": [],
            })
            if bigwig:
                del files[-1]["file_format_type"]
            rows.append((file_acc, path, files[-1]["md5sum"], files[-1]["file_size"],
                         output_type, exp["accession"]))
        record = {
            "@id": f"/experiments/{exp['accession']}/", "@type": ["Experiment", "Dataset"],
            "accession": exp["accession"], "assay_title": exp["assay_title"],
            "status": "released", "assembly": ["GRCh38"],
            "biosample_ontology": {"term_name": exp["biosample"]},
            "description": "simulated by nettime.simulate", "files": files,
        }
        if exp["target"] is not None:
            record["target"] = {"label": exp["target"]}
        _write_text(out / "portal" / "experiments" / f"{exp['accession']}.json",
                    json.dumps(record, indent=1, sort_keys=True) + "\n")
    table = pd.DataFrame(rows, columns=["accession", "path", "md5sum", "file_size",
                                        "output_type", "experiment"])
    _write_text(out / "portal" / "files.tsv", _frame_text(table, header=True))


# ---------------------------------------------------------------------------------------------
# everything


def simulate(project: Project, outdir: str | os.PathLike[str] = "resources/simulated",
             scale: str | float | None = None, seed: int | None = None,
             progress: bool = True) -> None:
    """All four stages for a project (what ``nettime simulate`` runs)."""
    from tqdm import tqdm

    spec = world_spec(project, scale=scale, seed=seed)
    conditions = [split_condition(c) for c in project.condition_names()]
    cells = project.cell_types
    bar = tqdm(total=1 + len(conditions) + len(cells) + 1, disable=not progress,
               desc="simulate", unit="step")
    simulate_world(spec, outdir, progress=bar.set_postfix_str)
    bar.update()
    for tf, cell in conditions:
        bar.set_postfix_str(f"{tf}.{cell}")
        simulate_condition(outdir, tf, cell)
        bar.update()
    for cell in cells:
        simulate_cell(outdir, cell, project.assays_of(cell), progress=bar.set_postfix_str)
        bar.update()
    bar.set_postfix_str("portal")
    write_portal(project, outdir)
    bar.update()
    bar.close()


# ---------------------------------------------------------------------------------------------
# checking the planted signal


def one_hot_windows(fasta: str | os.PathLike[str], windows: pd.DataFrame) -> np.ndarray:
    """float32 (n, 4, max width) one-hot sequences of BED windows, zero-padded on the right
    (N and padding are all-zero columns, which FIMO scores as neutral)."""
    import pyfaidx

    width = int((windows["end"] - windows["start"]).max()) if len(windows) else 0
    out = np.zeros((len(windows), 4, width), dtype=np.float32)
    lookup = np.full(256, 4, dtype=np.int64)
    for i, letter in enumerate(b"ACGT"):
        lookup[letter] = i
        lookup[letter + 32] = i  # lower case
    with pyfaidx.Fasta(str(fasta), as_raw=True, sequence_always_upper=True) as genome:
        for row, (chrom, start, end) in enumerate(zip(windows["chrom"], windows["start"],
                                                      windows["end"], strict=True)):
            text = np.frombuffer(genome[chrom][int(start):int(end)].encode(), dtype=np.uint8)
            codes = lookup[text]
            keep = np.flatnonzero(codes < 4)
            out[row, codes[keep], keep] = 1.0
    return out


def motif_enrichment(outdir: str | os.PathLike[str], tf: str, cell_types: Sequence[str],
                     motif: Motif, threshold: float = 1e-4, seed: int = 0
                     ) -> tuple[float, float, int]:
    """Fraction of a TF's conserved peaks with a FIMO hit of ``motif``, against random genome
    windows of the same widths (avoiding N gaps).

    Returns
    -------
    in_peaks, in_background, n_peaks
    """
    from memelite import fimo

    out = Path(outdir)
    peaks = pd.concat([pd.read_csv(out / "peaks" / f"{tf}.{cell}.conserved.narrowPeak.gz",
                                   sep="\t", header=None, usecols=[0, 1, 2],
                                   names=["chrom", "start", "end"]) for cell in cell_types],
                      ignore_index=True)
    sizes = read_chrom_sizes(out / "genome" / "chrom.sizes")
    gaps = read_bed3(out / "truth" / "gaps.bed")
    rng = stream(seed, "background", tf)
    widths = (peaks["end"] - peaks["start"]).to_numpy()
    background = _allowed_positions(sizes, gaps, widths, len(widths), rng)
    fasta = out / "genome" / "genome.fa"
    fractions = []
    for windows in (peaks, background):
        x = one_hot_windows(fasta, windows)
        hits = fimo({tf: motif.ppm.T.astype(np.float32)}, x, threshold=threshold)[0]
        fractions.append(hits["sequence_name"].nunique() / max(len(windows), 1))
    return fractions[0], fractions[1], len(peaks)
