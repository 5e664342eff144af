"""Helpers that several test modules share (plain functions; fixtures are in conftest.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
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
