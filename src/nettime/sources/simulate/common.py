"""What every stage of the simulated data set shares: sizes, random streams, the world's
specification, writers of deterministic text files and readers of the world's files.

Every random draw comes from a stream seeded by (seed, stage, names), so results do not depend on
the order of the sheets' rows, and the same seed and scale give byte-identical files.
"""

from __future__ import annotations

import gzip
import json
import os
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nettime.config import ConfigError, Problem, Project
from nettime.files import atomic_output
from nettime.motifs.matrices import NO_MOTIF, Motif, MotifError, load_motif, motif_similarity

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
# The panels whose TFs and cell types make the world: the supervised ones (train, heldout), as
# nettime.paper.experiments.SUPERVISED_PANELS. A condition of another panel (new) is simulated
# from the world's files without changing them, so adding one reruns only its own jobs.
WORLD_PANELS = ("train", "heldout")


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



def write_gzip(path: Path, text: str) -> None:
    # mtime=0 and no file name in the header: identical input gives identical bytes.
    with atomic_output(path, suffix=".gz") as tmp:
        with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw,
                                                   mtime=0, compresslevel=6) as handle:
            handle.write(text.encode())


def frame_text(frame: pd.DataFrame, header: bool = False) -> str:
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
        if str(table[tf]) == NO_MOTIF:
            problems.append(Problem(config_path, f"TF {tf!r}: the simulated source plants "
                                    "each TF's motif, so it needs one (not 'none')",
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


def world_members(project: Project) -> tuple[list[str], list[str]]:
    """The world's TFs and cell types (each sorted): those of the conditions of
    :data:`WORLD_PANELS`.

    Raises
    ------
    ConfigError
        When no condition is in those panels, naming the conditions sheet.
    """
    frame = project.conditions[project.conditions["panel"].isin(WORLD_PANELS)]
    if frame.empty:
        raise ConfigError([Problem(str(project.config["conditions"]),
                                   "no condition is in a supervised panel "
                                   f"({', '.join(WORLD_PANELS)}); the simulated world is "
                                   "built from those conditions' TFs and cell types",
                                   column="panel")])
    return sorted(set(frame["tf"])), sorted(set(frame["cell_type"]))


def world_spec(project: Project, scale: str | float | None = None,
               seed: int | None = None) -> WorldSpec:
    """The world specification of a validated project (its TFs and cell types are those of
    :func:`world_members`), with optional overrides."""
    sim = project.config.get("simulation", {})
    tfs, cells = world_members(project)
    motifs = panel_motifs(project)
    return WorldSpec(
        tfs=tfs, cell_types=cells, motifs={tf: motifs[tf] for tf in tfs},
        chromosomes=list(project.config["genome"]["chromosomes"]),
        scale=parse_scale(scale if scale is not None else sim.get("scale", "demo")),
        seed=int(seed if seed is not None else sim.get("seed", 20221)))


def check_new_conditions(project: Project) -> None:
    """Check, before any work, that every TF beyond the world can bind in it.

    A TF of no supervised panel binds the planted sites of its motif family, which it joins
    when its motif is like a world TF's (:func:`new_tf_family`); the genome has no site for any
    other. Also loads every motif (:func:`panel_motifs`), reporting unreadable ones.

    Raises
    ------
    ConfigError
        One problem per such TF without a family in the world, naming the conditions sheet,
        the TF's first row and its motif.
    """
    motifs = panel_motifs(project)
    tfs, _ = world_members(project)
    world = {tf: motifs[tf] for tf in tfs}
    sheet = str(project.config["conditions"])
    problems = []
    for tf in dict.fromkeys(project.conditions["tf"]):
        if tf in world or new_tf_family(motifs[tf], world, dict.fromkeys(world, 0)) is not None:
            continue
        rec = project.conditions[project.conditions["tf"] == tf].iloc[0]
        problems.append(Problem(
            sheet, f"TF {tf!r} (motif {motifs[tf].matrix_id}) is in no supervised panel "
            f"({', '.join(WORLD_PANELS)}) and its motif is like no motif of those panels' TFs "
            f"({', '.join(tfs)}; similarity < {FAMILY_SIMILARITY}), so the simulated genome "
            "has no site it could bind; add a TF of its motif family to a train or heldout "
            "row, or remove its rows", line=int(rec["_line"]), row=int(rec["_row"]),
            column="tf"))
    if problems:
        raise ConfigError(problems)


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


def new_tf_family(motif: Motif, world_motifs: dict[str, Motif],
                  families: dict[str, int]) -> int | None:
    """The motif family of a TF beyond the world: that of the world TF whose motif is most
    similar, if at least :data:`FAMILY_SIMILARITY` (as :func:`motif_families` groups), else
    None. ``world_motifs`` and ``families`` map each world TF to its motif and family."""
    if not world_motifs:
        return None
    similarity = {tf: motif_similarity(world_motifs[tf], motif) for tf in sorted(world_motifs)}
    best = max(similarity, key=similarity.__getitem__)  # the first of equals, in name order
    return int(families[best]) if similarity[best] >= FAMILY_SIMILARITY else None


# ---------------------------------------------------------------------------------------------
# reading the world back



def read_bed3(path: str | os.PathLike[str]) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", header=None, usecols=[0, 1, 2],
                       names=["chrom", "start", "end"])


def read_world(outdir: str | os.PathLike[str]) -> dict[str, Any]:
    """The world's parameters (``truth/world.json``)."""
    with open(Path(outdir) / "truth" / "world.json") as handle:
        return json.load(handle)


def random_windows(sizes: dict[str, int], excluded: pd.DataFrame,
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


def narrowpeak_text(frame: pd.DataFrame) -> str:
    """10-column narrowPeak text from columns chrom, start, end, signal, p, q, summit."""
    table = pd.DataFrame({
        "chrom": frame["chrom"], "start": frame["start"].astype(np.int64),
        "end": frame["end"].astype(np.int64), "name": ".",
        "score": np.clip(np.round(frame["p"] * 20), 0, 1000).astype(np.int64), "strand": ".",
        "signal": frame["signal"].round(5), "p": frame["p"].round(5),
        "q": frame["q"].round(5), "summit": frame["summit"].astype(np.int64)})
    return frame_text(sort_bed(table))
