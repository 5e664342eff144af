"""Extrapolate the measured data-set rates to the paper's scale: core-hours and disk.

Reads benchmarks/out/memory.json (from bench_memory.py; its largest size is used) and prints the
cost of the data-set stages for 1.14 M examples (937,676 train + 101,644 valid + 102,178 test),
7 cell types x 4 assays, 71 conditions x 2 label sets, 22 TFs with motifs, a 3.1 Gb genome.

Each stage is scaled by what it grows with (all single-threaded, so seconds = core-seconds):
in-peak signals by genome bases x tracks; labels by examples x label sets; statistics by
training examples x tracks (signals) or x TFs (motifs, FIMO); the data set by examples x tracks
plus the FIMO cost per example x TF. Disk is scaled per example x dataset from the compressed
storage sizes. Synthetic signals compress differently from real ones: treat disk as indicative.

    python benchmarks/paper_scale.py [--measured benchmarks/out/memory.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
PAPER = {"train": 937_676, "valid": 101_644, "test": 102_178, "tracks": 28,
         "conditions": 71, "label_sets": 2, "tfs": 22, "genome": 3.1e9}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measured", default=str(HERE / "out/memory.json"))
    args = parser.parse_args()
    rows = json.loads(Path(args.measured).read_text())
    m = max(rows, key=lambda r: r["n_examples"])
    n, tracks, tfs = m["n_examples"], m["n_tracks"], m["n_motif_tfs"]
    labels = m["n_conditions"] * 2
    sec = m["seconds"]
    store = m["storage_bytes"]
    # Per-unit rates from the measurement.
    r_inpeak = sec["inpeak"] / (m["genome_bases"] * tracks)
    r_label = sec["labels"] / (n * labels)
    # A track's job reads its training split twice (statistics, then values) and every other
    # split once; the measurement builds the training split only.
    r_signal = sec["signal_tracks"] / (2 * n * tracks)
    r_motif = sec["motif_tracks"] / (2 * n * tfs)
    r_examples = sec["examples"] / n

    total = PAPER["train"] + PAPER["valid"] + PAPER["test"]
    p_tracks, p_tfs = PAPER["tracks"], PAPER["tfs"]
    p_labels = PAPER["conditions"] * PAPER["label_sets"]
    stages = {
        "examples (pool, merge, windows)": r_examples * total,
        "in-peak signals (bigWig reads)": r_inpeak * PAPER["genome"] * p_tracks,
        "labels": r_label * total * p_labels,
        "signal tracks (3 splits)": r_signal * p_tracks * (total + PAPER["train"]),
        "motif tracks (3 splits)": r_motif * p_tfs * (total + PAPER["train"]),
    }
    print(f"measured on {n} examples, {tracks} tracks, {labels} label sets, {tfs} motif TFs, "
          f"{m['genome_bases'] / 1e6:.0f} Mb genome (build {sum(sec.values()):.0f} s, peak RSS "
          f"{m['peak_rss_mb']:.0f} MB)")
    print(f"paper scale: {total} examples, {p_tracks} tracks, {p_labels} label sets, {p_tfs} "
          f"motif TFs, {PAPER['genome'] / 1e9:.1f} Gb genome")
    for name, seconds in stages.items():
        print(f"  {name:<34} {seconds / 3600:8.2f} core-hours")
    print(f"  {'total':<34} {sum(stages.values()) / 3600:8.2f} core-hours")

    def per_example(prefix: str) -> float:
        keys = [k for k in store if k.startswith(prefix)]
        return sum(store[k] for k in keys) / n / max(len(keys), 1)

    disk = {
        "sequence": per_example("examples.h5:sequence") * total,
        "signals": per_example("signals/") * total * p_tracks,
        "labels": per_example("labels/") * total * p_labels,
        "motifs": per_example("motifs/") * total * p_tfs,
        "coordinates": per_example("examples.h5:start") * 3 * total,
        "in-peak intermediates": m["inpeak_bytes"] / (m["genome_bases"] * tracks)
        * PAPER["genome"] * p_tracks,
    }
    for name, size in disk.items():
        print(f"  disk {name:<29} {size / 2**30:8.2f} GiB")
    print(f"  disk {'total':<29} {sum(disk.values()) / 2**30:8.2f} GiB")


if __name__ == "__main__":
    main()
