"""bigWig tracks of predicted probabilities over the examples, for genome browsers.

No torch here: track jobs stay light.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd

from nettime.files import atomic_output, read_chrom_sizes


def write_track(path: str | Path, examples: pd.DataFrame, prob: Any,
                chrom_sizes: Mapping[str, int], block: int = 1024) -> None:
    """A bigWig of per-base probabilities over the examples.

    Parameters
    ----------
    path
        Output ``.bigWig``, written atomically.
    examples
        Columns chrom, start, end (n rows), in the order of ``prob``'s rows.
    prob
        (n, L) array-like (e.g. an h5py dataset) of probabilities.
    chrom_sizes
        Header of the bigWig; every example chromosome must be in it.
    block
        Rows read at a time (memory stays bounded).

    Where windows overlap, the earlier window (by start) keeps its values.
    """
    import pyBigWig

    rank = {chrom: i for i, chrom in enumerate(chrom_sizes)}
    unknown = sorted(set(examples["chrom"]) - set(rank))
    if unknown:
        raise ValueError(f"chromosome(s) {', '.join(unknown)} of the examples are not in the "
                         "chromosome sizes")
    order = np.lexsort((examples["start"].to_numpy(),
                        examples["chrom"].map(rank).to_numpy()))
    chroms = examples["chrom"].to_numpy()
    starts = examples["start"].to_numpy().astype(np.int64)
    with atomic_output(path, suffix=".bigWig") as tmp:
        bw = pyBigWig.open(str(tmp), "w")
        try:
            bw.addHeader([(c, int(s)) for c, s in chrom_sizes.items()], maxZooms=10)
            last_chrom, covered = None, 0
            for a in range(0, len(order), block):
                rows = order[a:a + block]
                sorted_rows = np.sort(rows)
                values = np.asarray(prob[sorted_rows], dtype=np.float32)
                lookup = {int(r): i for i, r in enumerate(sorted_rows)}
                for r in rows:
                    chrom, start = chroms[r], int(starts[r])
                    if chrom != last_chrom:
                        last_chrom, covered = chrom, 0
                    v = values[lookup[int(r)]]
                    skip = max(0, covered - start)
                    if skip >= len(v):
                        continue
                    bw.addEntries(chrom, start + skip, values=v[skip:].tolist(), span=1,
                                  step=1)
                    covered = start + len(v)
        finally:
            bw.close()


def track_from_predictions(pred_path: str | Path, data_path: str | Path,
                           chrom_sizes_path: str | Path, condition: str,
                           out_path: str | Path) -> None:
    """``results/tracks/{model}/{condition}.bigWig`` from a split's predictions."""
    from nettime.data.dataset import open_dataset

    with open_dataset(data_path) as data, h5py.File(pred_path, "r") as h5:
        key = f"prob/{condition}"
        if key not in h5:
            raise KeyError(f"{pred_path}: no predictions for {condition!r}")
        write_track(out_path, data.examples(), h5[key], read_chrom_sizes(chrom_sizes_path))
