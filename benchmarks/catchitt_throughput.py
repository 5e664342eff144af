"""Training and prediction throughput of the Catchitt-style baseline (nettime.baselines.catchitt).

A synthetic data set (random sequence; a DNase track and one TF's motif channels with planted
sites; 1000-bp examples) is written in a temporary folder, and each measurement runs in its own
process so that its peak RSS is its own. Prints one JSON line per measurement: examples, cap on
the training bins (``budget.steps * budget.batch_size``; none: the paper's budget), rounds,
training seconds and examples/s, prediction examples/s, peak RSS (MB), training auPRC of the
last round.

    python benchmarks/catchitt_throughput.py                        # demo cap and no cap
    python benchmarks/catchitt_throughput.py --examples 4500 20000 --caps 4800 none
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
from isolated import measure_in_child, parse_or_measure


def synthetic(path: Path, n: int, length: int, seed: int = 0) -> None:
    """A one-condition data set (JUND.K562) with planted open motif hits, written in blocks of
    examples through the pipeline's writer."""
    from nettime.data.writer import write_dataset_arrays

    rng = np.random.default_rng(seed)
    hits = np.zeros((n, length), bool)
    for i, a in zip(rng.integers(0, n, 2 * n), rng.integers(0, length - 30, 2 * n),
                    strict=True):
        hits[i, a:a + 30] = True
    opened = hits & (rng.random((n, 1)) < 0.5)
    dnase = (rng.standard_normal((n, length)) * 0.5 + 2.0 * opened).astype(np.float32)
    motifs = (rng.standard_normal((n, length, 2)) * 0.5).astype(np.float32)
    motifs[..., 0] += 2.5 * hits
    bound = opened.astype(np.uint8)
    write_dataset_arrays(path, rng.integers(0, 4, (n, length)).astype(np.uint8),
                         {"JUND.K562": bound}, {("K562", "DNase"): dnase},
                         motifs={"JUND": motifs})


def measure(examples: int, cap: int | None, rounds: int, length: int, threads: int) -> dict:
    """Train and predict one Catchitt-style model on a fresh synthetic data set."""
    from threadpoolctl import threadpool_limits

    from nettime.baselines import catchitt
    from nettime.models.registry import paper_spec

    budget = {"steps": None, "epochs": 1} if cap is None else \
        {"steps": cap, "batch_size": 1, "epochs": None}
    spec = paper_spec("bench", ["JUND.K562"], kind="catchitt", budget=budget,
                      options={"rounds": rounds})
    with tempfile.TemporaryDirectory() as tmp, threadpool_limits(limits=threads):
        data = Path(tmp) / "data.h5"
        synthetic(data, examples, length)
        start = time.perf_counter()
        saved = catchitt.train_catchitt(spec, data, None, Path(tmp) / "model", progress=False)
        trained = time.perf_counter() - start
        start = time.perf_counter()
        catchitt.predict_split(Path(tmp) / "model/model.pt", data, Path(tmp) / "pred.h5",
                               ["JUND.K562"], "bench", "test", progress=False)
        predicted = time.perf_counter() - start
    last = saved["log"][-1]
    return {"examples": examples, "cap": cap, "rounds": rounds, "threads": threads,
            "train_s": round(trained, 2), "train_examples_per_s": round(examples / trained),
            "train_bins": last["positives"] + last["negatives"],
            "predict_examples_per_s": round(examples / predicted),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "train_auprc": round(float(last["train_auprc"]), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", nargs="+", type=int, default=[4500])
    parser.add_argument("--caps", nargs="+", default=["4800", "none"],
                        help="training bins of the last round at most ('none': no cap); "
                             "the demo configuration's budget gives 150 * 32 = 4800")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--length", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1)
    args = parse_or_measure(parser, measure)
    if args is None:
        return
    for examples in args.examples:
        for cap in args.caps:
            measure_in_child(__file__, {"examples": examples,
                                        "cap": None if cap == "none" else int(cap),
                                        "rounds": args.rounds, "length": args.length,
                                        "threads": args.threads})


if __name__ == "__main__":
    main()
