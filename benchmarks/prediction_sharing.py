"""Prediction of the conditions of one cell type at the paper's sizes (Seq+CT, K = 8): each
condition on its own (the whole network per condition) against all of them together (the
trunk, where no embedding enters, once per example; the rest once per condition, several
conditions per pass). Both in one invocation, each in its own process (peak RSS its own),
with the environment of the pipeline's prediction jobs.

Prints one JSON line per measurement: way, conditions, threads, batch, example-conditions per
second, peak RSS (MB); then the ratio of the shared rate to the unshared one per number of
conditions.

    python benchmarks/prediction_sharing.py                       # 1, 4 and 10 conditions
    python benchmarks/prediction_sharing.py --conditions 10 --threads 1 2
"""

from __future__ import annotations

import argparse
import os
import resource
import time

from isolated import measure_in_child, parse_or_measure

from nettime.cpu_env import job_env


def measure(way: str, conditions: int, threads: int, batch: int, examples: int,
            length: int, embedding_dim: int) -> dict:
    import numpy as np
    import torch

    from nettime.models.network import ModelConfig, NetTIME
    from nettime.models.prediction import predict_condition, predict_shared

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = NetTIME(ModelConfig(n_features=8, embedding_dim=embedding_dim, tf_table_size=256,
                                cell_table_size=64)).eval()
    x = np.random.default_rng(0).standard_normal((examples, length, 8)).astype(np.float32)

    def read_block(start: int, stop: int) -> np.ndarray:
        return x[start:stop]

    def run(n: int) -> None:
        if way == "shared":
            pairs = [[(tf, 0)] for tf in range(conditions)]
            for _ in predict_shared(model, read_block, n, pairs, batch):
                pass
        else:
            for tf in range(conditions):
                for _ in predict_condition(model, read_block, n, tf, 0, batch):
                    pass

    run(min(batch, examples))  # warm-up: allocator, oneDNN primitives
    start = time.perf_counter()
    run(examples)
    elapsed = time.perf_counter() - start
    return {"way": way, "conditions": conditions, "threads": threads, "batch": batch, "d": embedding_dim,
            "example_conditions_per_s": round(examples * conditions / elapsed, 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conditions", nargs="+", type=int, default=[1, 4, 10])
    parser.add_argument("--threads", nargs="+", type=int, default=[2])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--examples", type=int, default=128, help="examples per measurement")
    parser.add_argument("--length", type=int, default=1000)
    parser.add_argument("--embedding-dim", type=int, default=50,
                        help="d (paper 50; the default configuration's demo 8)")
    args = parse_or_measure(parser, measure)
    if args is None:
        return
    env = {**job_env(), **os.environ}
    rates: dict[tuple[int, int], dict[str, float]] = {}
    for threads in args.threads:
        for n in args.conditions:
            for way in ("alone", "shared"):
                job = {"way": way, "conditions": n, "threads": threads, "batch": args.batch,
                       "examples": args.examples, "length": args.length,
                       "embedding_dim": args.embedding_dim}
                measured = measure_in_child(__file__, job, env)
                rates.setdefault((threads, n), {})[way] = measured["example_conditions_per_s"]
    for (threads, n), rate in rates.items():
        print(f"{threads} threads, {n} conditions: shared / alone = "
              f"{rate['shared'] / rate['alone']:.2f}")


if __name__ == "__main__":
    main()
