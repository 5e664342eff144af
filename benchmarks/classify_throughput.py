"""Throughput of the classification and metric code on synthetic predictions (prints figures).

    python benchmarks/classify_throughput.py [--examples 2000] [--length 1000] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from nettime import metrics
from nettime.calls.crf import LinearChainCRF, crf_calls, emissions_from_probabilities
from nettime.calls.thresholds import IOUCurve, random_thresholds


def _timed(function, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--length", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    n, length = args.examples, args.length
    labels = (rng.random((n, length)) < 0.1).astype(np.uint8)
    scores = rng.random((n, length)).astype(np.float16)
    bases = n * length

    accumulator = metrics.PRAccumulator()
    seconds = _timed(lambda: accumulator.add(scores, labels))
    print(f"PR histogram: {bases / seconds / 1e6:.1f} M bases/s")
    seconds = _timed(accumulator.auprc)
    print(f"auPRC from the histogram: {seconds * 1e3:.1f} ms")
    seconds = _timed(lambda: metrics.bin_scores(scores, 200))
    print(f"binning (w=200): {bases / seconds / 1e6:.1f} M bases/s")
    curve = IOUCurve(random_thresholds(300, 0))
    seconds = _timed(lambda: curve.add(scores, labels))
    print(f"300-threshold IOU curve: {bases / seconds / 1e6:.1f} M bases/s")

    model = LinearChainCRF()
    batch = min(64, n)
    emissions = emissions_from_probabilities(scores[:batch])
    tags = torch.as_tensor(labels[:batch].astype(np.int64))

    def step():
        model.zero_grad()
        model.nll(emissions, tags).mean().backward()

    seconds = _timed(step)
    print(f"CRF NLL + gradient, batch {batch} x {length}: {seconds * 1e3:.0f} ms")
    seconds = _timed(lambda: crf_calls(model, scores), repeat=1)
    print(f"Viterbi calls: {n / seconds:.0f} sequences/s")


if __name__ == "__main__":
    main()
