"""The data-set stages run in one process, timed, as the rules run them (for the benchmarks)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import h5py
import numpy as np
from pyjaspar import jaspardb

from nettime.data.genome import Genome, read_blacklist
from nettime.data.peaks import build_examples
from nettime.data.signals import write_inpeak
from nettime.data.writer import compute_stats, write_dataset, write_labels
from nettime.files import read_chrom_sizes


def jaspar_ppm(matrix_id: str = "MA0492.2") -> np.ndarray:
    """float64 (w, 4) ACGT probabilities of a JASPAR matrix (offline, through pyjaspar)."""
    motif = jaspardb().fetch_motif_by_id(matrix_id)
    return np.array([motif.pwm[base] for base in "ACGT"], dtype=np.float64).T


def build(root: Path, out: Path, conditions, cells, assays, motif_tfs=("TFA", "TFB"),
          length: int = 1000) -> dict:
    """Build the train split (all chromosomes) from ``root``; returns stage times and counts."""
    out.mkdir(parents=True, exist_ok=True)
    times: dict[str, float] = {}
    sizes = read_chrom_sizes(root / "genome/chrom.sizes")
    genome = Genome(root / "genome/genome.fa")
    t = time.perf_counter()
    files = [root / f"peaks/{c}.{s}.narrowPeak.gz" for c in conditions
             for s in ("conserved", "relaxed")]
    examples = build_examples(files, genome, sizes, list(sizes),
                              read_blacklist(root / "genome/blacklist.bed", sizes))
    times["examples"] = time.perf_counter() - t
    t = time.perf_counter()
    inpeak = {}
    for cell in cells:
        for assay in assays:
            inpeak[cell, assay] = str(out / f"{cell}.{assay}.inpeak.h5")
            write_inpeak(root / f"features/{cell}.{assay}.bigWig",
                         root / f"features/{cell}.{assay}.narrowPeak.gz", sizes,
                         inpeak[cell, assay], progress=False)
    times["inpeak"] = time.perf_counter() - t
    t = time.perf_counter()
    labels = {}
    for condition in conditions:
        labels[condition] = str(out / f"{condition}.labels.h5")
        write_labels(examples, length, {s: str(root / f"peaks/{condition}.{s}.narrowPeak.gz")
                                        for s in ("conserved", "relaxed")}, labels[condition])
    times["labels"] = time.perf_counter() - t
    ppm = jaspar_ppm()
    ppms = {tf: ppm for tf in motif_tfs}
    t = time.perf_counter()
    stats = compute_stats(examples, length, inpeak)
    times["stats_signals"] = time.perf_counter() - t
    t = time.perf_counter()
    stats.update(compute_stats(examples, length, {}, genome, ppms))
    times["stats_motifs"] = time.perf_counter() - t
    t = time.perf_counter()
    write_dataset(out / "train.h5", examples, genome, length, inpeak, labels, ppms, stats,
                  {"split": "train"}, {}, progress=False)
    times["dataset"] = time.perf_counter() - t
    genome.close()
    sizes_bytes = {}
    with h5py.File(out / "train.h5", "r") as h5:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                sizes_bytes[name] = obj.id.get_storage_size()
        h5.visititems(visit)
    return {"n_examples": len(examples), "n_tracks": len(inpeak), "n_conditions": len(labels),
            "n_motif_tfs": len(ppms), "genome_bases": int(sum(sizes.values())),
            "seconds": times, "storage_bytes": sizes_bytes,
            "inpeak_bytes": sum(Path(p).stat().st_size for p in inpeak.values())}


if __name__ == "__main__":  # pragma: no cover
    import sys

    print(json.dumps(build(Path(sys.argv[1]), Path(sys.argv[2]), *json.loads(sys.argv[3])),
                     indent=1))
