"""The data-set stages run in one process, timed, as the rules run them (for the benchmarks)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import h5py
import numpy as np
from pyjaspar import jaspardb

from nettime.data.signals import write_inpeak
from nettime.data.writer import (
    build_examples,
    build_labels,
    build_motif_tracks,
    build_signal_tracks,
)
from nettime.files import read_chrom_sizes
from nettime.motifs.matrices import Motif, write_meme

OPTIONS = {"min_overlap": 200, "max_union": 600, "max_peak_length": 1000, "window": 1000}


def jaspar_ppm(matrix_id: str = "MA0492.2") -> np.ndarray:
    """float64 (w, 4) ACGT probabilities of a JASPAR matrix (offline, through pyjaspar)."""
    motif = jaspardb().fetch_motif_by_id(matrix_id)
    return np.array([motif.pwm[base] for base in "ACGT"], dtype=np.float64).T


def build(root: Path, out: Path, conditions, cells, assays, motif_tfs=("TFA", "TFB"),
          length: int = 1000) -> dict:
    """Build the train split (all chromosomes) from ``root``, one track at a time as the rules
    do; returns stage times, counts and storage."""
    out.mkdir(parents=True, exist_ok=True)
    times: dict[str, float] = {}
    sizes = read_chrom_sizes(root / "genome/chrom.sizes")
    data = out / "train"
    beds = {"train": out / "train.bed"}

    def timed(stage: str, step, *args) -> None:
        t = time.perf_counter()
        step(*args)
        times[stage] = times.get(stage, 0.0) + time.perf_counter() - t

    timed("examples", build_examples, [root / f"peaks/{c}.{s}.narrowPeak.gz" for c in conditions
                                       for s in ("conserved", "relaxed")],
          root / "genome/genome.fa", root / "genome/chrom.sizes", root / "genome/blacklist.bed",
          {"train": list(sizes)}, {**OPTIONS, "window": length}, beds,
          {"train": data / "examples.h5"})
    inpeak = {(c, a): out / f"{c}.{a}.inpeak.h5" for c in cells for a in assays}
    for (cell, assay), path in inpeak.items():
        track = root / f"features/{cell}.{assay}"
        timed("inpeak", write_inpeak, f"{track}.bigWig", f"{track}.narrowPeak.gz", sizes, path)
        timed("signal_tracks", build_signal_tracks, path, beds, length, "train",
              {"train": data / f"signals/{cell}.{assay}.h5"})
    for condition in conditions:
        timed("labels", build_labels, beds, length,
              root / f"peaks/{condition}.conserved.narrowPeak.gz",
              root / f"peaks/{condition}.relaxed.narrowPeak.gz",
              {"train": data / f"labels/{condition}.h5"})
    write_meme([Motif("TF", "TF", jaspar_ppm())], out / "motif.meme")
    for tf in motif_tfs:
        timed("motif_tracks", build_motif_tracks, root / "genome/genome.fa", beds, length,
              str(out / "motif.meme"), None, "train", {"train": data / f"motifs/{tf}.h5"})
    sizes_bytes = {}
    for path in sorted(data.rglob("*.h5")):
        key = str(path.relative_to(data))
        with h5py.File(path, "r") as h5:
            for name, obj in h5.items():
                if isinstance(obj, h5py.Dataset):
                    sizes_bytes[f"{key}:{name}"] = obj.id.get_storage_size()
    with h5py.File(data / "examples.h5", "r") as h5:
        n_examples = int(h5["start"].shape[0])
    return {"n_examples": n_examples, "n_tracks": len(inpeak), "n_conditions": len(conditions),
            "n_motif_tfs": len(motif_tfs), "genome_bases": int(sum(sizes.values())),
            "seconds": times, "storage_bytes": sizes_bytes,
            "inpeak_bytes": sum(Path(p).stat().st_size for p in inpeak.values())}


if __name__ == "__main__":  # pragma: no cover
    import sys

    print(json.dumps(build(Path(sys.argv[1]), Path(sys.argv[2]), *json.loads(sys.argv[3])),
                     indent=1, default=str))
