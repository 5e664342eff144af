"""Helpers that several test modules share (plain functions; fixtures are in conftest.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from nettime.data.writer import write_dataset_arrays

ROOT = Path(__file__).resolve().parent.parent


def write_random_dataset(path: str | os.PathLike[str], n: int, length: int,
                         conditions: Sequence[str], cells: Sequence[str],
                         assays: Sequence[str], rng: np.random.Generator) -> None:
    """A split's data set of random sequence, signals and labels (30% bound), written through
    the pipeline's writer; examples lie 100 bp apart on chr1."""
    start = np.arange(n, dtype=np.int64) * 100
    coordinates = pd.DataFrame({"chrom": "chr1", "start": start, "end": start + length})
    sequence = rng.integers(0, 4, (n, length)).astype(np.uint8)
    signals = {(cell, assay): rng.standard_normal((n, length)).astype(np.float16)
               for cell in cells for assay in assays}
    labels = {c: {s: (rng.random((n, length)) < 0.3).astype(np.uint8)
                  for s in ("conserved", "relaxed")} for c in conditions}
    write_dataset_arrays(path, sequence, labels, signals, coordinates=coordinates)


def copy_checkout(target: Path) -> None:
    """Tracked files and untracked ones git does not ignore (no results/, resources/)."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard",
                             "-z"], cwd=ROOT, capture_output=True, text=True, check=True)
    for name in filter(None, listed.stdout.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def tf_weights(model_path: str | os.PathLike[str]) -> dict:
    """TF -> state dict of each network of a per-TF baseline's model.pt."""
    import torch

    saved = torch.load(model_path, weights_only=False)
    return {tf: entry["state_dict"] for tf, entry in saved["tfs"].items()}


def same_weights(model_a: str | os.PathLike[str], model_b: str | os.PathLike[str]) -> bool:
    """Whether two per-TF baselines' model.pt hold the same TFs with equal weights."""
    import torch

    a, b = tf_weights(model_a), tf_weights(model_b)
    return a.keys() == b.keys() and all(
        torch.equal(a[tf][k], b[tf][k]) for tf in a for k in a[tf])


def condition_auprc(predictions: str | os.PathLike[str], data_path: str | os.PathLike[str],
                    condition: str) -> float:
    """auPRC of a predictions file's ``prob/{condition}`` against the data set's conserved
    labels."""
    import h5py

    from nettime.data.dataset import open_dataset
    from nettime.metrics import auprc

    with h5py.File(predictions) as handle:
        prob = handle[f"prob/{condition}"][:].astype(np.float32)
    with open_dataset(data_path) as data:
        return auprc(prob, data.read_labels(condition, "conserved"))


def planted_splits(root: Path, planted: Callable[..., Path], n_train: int) -> dict[str, Path]:
    """The data sets a baseline is trained and scored on, each written by ``planted(path, n,
    seed, shuffle_labels=False)``: train, the same with its labels shuffled between examples,
    valid (24 examples) and test (48)."""
    return {"train": planted(root / "train", n_train, 1),
            "shuffled": planted(root / "shuffled", n_train, 1, shuffle_labels=True),
            "valid": planted(root / "valid", 24, 2),
            "test": planted(root / "test", 48, 3)}


def baseline_spec(name: str, kind: str, conditions: Sequence[str], *, steps: int,
                  batch_size: int, eval_every: int, lr: float, seed: int = 3,
                  **options: object):
    """A paper spec of a baseline kind with a step budget (no epochs) validated on 16
    examples; the keywords beyond the budget are the kind's options."""
    from nettime.models.registry import paper_spec

    return paper_spec(name, conditions, kind=kind, options=options,
                      budget={"steps": steps, "epochs": None, "batch_size": batch_size,
                              "eval_every": eval_every, "lr": lr, "valid_examples": 16},
                      seed=seed)


def check_seeded_training(run: Callable[..., tuple[Path, object]]) -> tuple[Path, Path]:
    """Train by ``run(name, seed=...)`` (-> the model's folder, its summary) as "first" and
    "second" with the default seed and as "other" with seed 4; check that the same seed gives
    the same weights and another seed others. Returns the folders of the first two."""
    first, _ = run("first")
    second, _ = run("second")
    assert same_weights(first / "model.pt", second / "model.pt")
    other, _ = run("other", seed=4)
    assert not same_weights(first / "model.pt", other / "model.pt")
    return first, second


def write_motif_world(root: Path, sizes: dict[str, int], seed: int, spacing: int,
                      jitter: int) -> dict:
    """A random genome with JUND (JASPAR MA0492.2) sites planted every ``spacing`` +-
    ``jitter`` bp, written in ``root``: ``genome.fa`` (indexed); ``sites.bed``, a called-sites
    BED4 of JUND.c1 at the planted sites and RANDOM.c1 at random places; ``peaks.narrowPeak``,
    JUND peaks around the sites with their summits on them; ``examples.bed``, 1000-bp windows
    tiling the genome.

    Returns ``{"root", "genome": chrom -> letters, "sites": [(chrom, start, end)] of JUND.c1,
    "peaks": [(chrom, start, end, summit offset)]}``.
    """
    import pyfaidx

    from nettime.motifs.matrices import load_jaspar

    rng = np.random.default_rng(seed)
    jund = load_jaspar("MA0492.2")
    genome = {c: rng.integers(0, 4, n).astype(np.uint8) for c, n in sizes.items()}
    sites, peaks, rows = [], [], []
    for chrom, codes in genome.items():
        for at in range(300, len(codes) - 300, spacing):
            at += int(rng.integers(-jitter, jitter))
            codes[at:at + jund.width] = jund.sample_site(rng)
            sites.append((chrom, at - int(rng.integers(0, 4)), at + jund.width))
            start = at - int(rng.integers(60, 120))
            peaks.append((chrom, start, at + 150, at + jund.width // 2 - start))
            other = int(rng.integers(0, len(codes) - 20))
            rows += [(*sites[-1], "JUND.c1"), (chrom, other, other + 12, "RANDOM.c1")]
    letters = {c: "".join(np.array(list("ACGT"))[codes]) for c, codes in genome.items()}
    with open(root / "genome.fa", "w") as handle:
        for chrom, text in letters.items():
            handle.write(f">{chrom}\n" + "".join(text[i:i + 60] + "\n"
                                                 for i in range(0, len(text), 60)))
    pyfaidx.Faidx(str(root / "genome.fa")).close()
    rows.sort(key=lambda r: (r[0], r[1]))
    (root / "sites.bed").write_text("".join(f"{c}\t{s}\t{e}\t{n}\n" for c, s, e, n in rows))
    (root / "peaks.narrowPeak").write_text("".join(
        f"{c}\t{s}\t{e}\tpeak{i}\t0\t.\t5.0\t-1\t3.0\t{summit}\n"
        for i, (c, s, e, summit) in enumerate(peaks)))
    (root / "examples.bed").write_text("".join(
        f"{c}\t{s}\t{s + 1000}\n" for c, n in sizes.items() for s in range(0, n - 999, 1000)))
    return {"root": root, "genome": letters, "sites": sites, "peaks": peaks}
