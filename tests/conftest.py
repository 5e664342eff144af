"""Small real input files (FASTA, narrowPeak, bigWig) made in the tests."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pyBigWig
import pyfaidx
import pytest

from nettime.data.motif_features import motif_channels

SIZES = {"chr1": 24000, "chr2": 16000, "chr3": 12000}

#: Test modules that run the workflow for minutes, longest first. They are collected first so
#: that pytest-xdist (`--dist loadfile --no-loadscope-reorder`, which hands each worker two
#: modules to start with) starts them at once on different workers: the figures build beside the
#: kill-and-restart run, then the de novo motifs' build and the SLURM cluster.
LONG_MODULES = ["test_figures_workflow.py", "test_interrupted_runs.py", "test_denovo.py",
                "test_slurm.py", "test_training_workflow.py", "test_simulate.py",
                "test_encode_workflow.py", "test_dataset.py", "test_data_workflow.py"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long workflow modules first (in LONG_MODULES' order), the others after them as found."""
    rank = {name: i for i, name in enumerate(LONG_MODULES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


def write_fasta(path: Path, sizes: dict[str, int], rng: np.random.Generator,
                n_runs: dict[str, tuple[int, int]] | None = None) -> None:
    with open(path, "w") as handle:
        for chrom, size in sizes.items():
            seq = np.array(list("ACGT"))[rng.integers(0, 4, size)]
            if n_runs and chrom in n_runs:
                a, b = n_runs[chrom]
                seq[a:b] = "N"
            text = "".join(seq)
            handle.write(f">{chrom}\n")
            for i in range(0, size, 60):
                handle.write(text[i:i + 60] + "\n")


def write_narrowpeak(path: Path, rows: list[tuple[str, int, int]], header: bool = False) -> None:
    lines = ["track type=narrowPeak name=test\n", "# comment\n"] if header else []
    for i, (chrom, start, end) in enumerate(rows):
        lines.append(f"{chrom}\t{start}\t{end}\tpeak{i}\t0\t.\t5.0\t-1\t3.0\t{(end - start) // 2}\n")
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wt") as handle:
        handle.writelines(lines)


def random_peaks(rng: np.random.Generator, sizes: dict[str, int], n: int,
                 lo: int = 100, hi: int = 1200) -> list[tuple[str, int, int]]:
    rows = []
    chroms = list(sizes)
    for _ in range(n):
        chrom = chroms[rng.integers(len(chroms))]
        length = int(rng.integers(lo, hi))
        start = int(rng.integers(0, sizes[chrom] - length))
        rows.append((chrom, start, start + length))
    return sorted(rows)


def write_bigwig(path: Path, sizes: dict[str, int], rng: np.random.Generator,
                 skip: tuple[str, ...] = ()) -> None:
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader([(c, s) for c, s in sizes.items() if c not in skip])
    for chrom, size in sizes.items():
        if chrom in skip:
            continue
        # Runs of 10 bases with random values, one gap left without data.
        starts = np.arange(0, size, 10, dtype=np.int64)
        starts = starts[(starts < 500) | (starts >= 700)]
        values = rng.gamma(2.0, 1.5, len(starts))
        bw.addEntries([chrom] * len(starts), starts.tolist(),
                      ends=np.minimum(starts + 10, size).tolist(), values=values.tolist())
    bw.close()


@pytest.fixture(scope="session")
def resources(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A tiny genome with peaks of three conditions and DNase of two cell types."""
    root = tmp_path_factory.mktemp("resources")
    rng = np.random.default_rng(7)
    (root / "genome").mkdir()
    (root / "peaks").mkdir()
    (root / "features").mkdir()
    write_fasta(root / "genome/genome.fa", SIZES, rng, n_runs={"chr1": (5000, 5100)})
    pyfaidx.Faidx(str(root / "genome/genome.fa")).close()  # the .fai index, as acquired
    (root / "genome/chrom.sizes").write_text("".join(f"{c}\t{s}\n" for c, s in SIZES.items()))
    (root / "genome/blacklist.bed").write_text("chr2\t3000\t3400\n")
    conditions = ["TFA.c1", "TFB.c1", "TFA.c2"]
    for condition in conditions:
        conserved = random_peaks(rng, SIZES, 30, 150, 500)
        relaxed = sorted(conserved + random_peaks(rng, SIZES, 30))
        write_narrowpeak(root / f"peaks/{condition}.conserved.narrowPeak.gz", conserved)
        write_narrowpeak(root / f"peaks/{condition}.relaxed.narrowPeak.gz", relaxed, header=True)
    for cell in ("c1", "c2"):
        for assay in ("DNase", "H3K27ac"):
            write_narrowpeak(root / f"features/{cell}.{assay}.narrowPeak.gz",
                             random_peaks(rng, SIZES, 40, 200, 2000))
            write_bigwig(root / f"features/{cell}.{assay}.bigWig", SIZES, rng)
    return {"root": root, "sizes": SIZES, "conditions": conditions}


# An AP-1-like probability matrix, float64 (w, 4) columns A, C, G, T.
TGASTCA = np.array([
    [0.05, 0.05, 0.05, 0.85], [0.05, 0.05, 0.85, 0.05], [0.85, 0.05, 0.05, 0.05],
    [0.05, 0.45, 0.45, 0.05], [0.05, 0.05, 0.05, 0.85], [0.05, 0.85, 0.05, 0.05],
    [0.85, 0.05, 0.05, 0.05]])


@pytest.fixture(scope="session")
def warm_fimo():
    """memelite compiles with numba on first use (~30 s): pay it once per session."""
    codes = np.random.default_rng(0).integers(0, 4, (2, 50)).astype(np.uint8)
    motif_channels(codes, TGASTCA)
    return True


@pytest.fixture(scope="session")
def warm_tomtom():
    """memelite compiles TOMTOM with numba on first use (~30 s): pay it once per session."""
    from nettime.motifs.compare import tomtom
    from nettime.motifs.matrices import Motif

    rng = np.random.default_rng(0)
    targets = [Motif("t", f"t{i}", rng.dirichlet(np.ones(4), 8)) for i in range(3)]
    tomtom(targets[0], targets)
    return True


@pytest.fixture(scope="session")
def simulated_portal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny simulated data set (config/tiny), simulated once; its portal/ folder is what the
    loopback ENCODE portal of the encode tests serves."""
    from encode_portal import simulate_portal

    return simulate_portal(tmp_path_factory.mktemp("simulated"))
