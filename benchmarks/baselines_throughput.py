"""Training and prediction throughput of NetTIME and the baselines, side by side in one run.

Every model runs on random inputs of the demo's shapes (examples of L = 1000 bases, batch 32 by
default), two warm-up steps and then ``--steps`` timed steps of training (forward, loss,
backward, Adam) and of prediction (inference mode). Prints the CPU model (``lscpu``), then one
line per model and mode: samples per step, what a sample is, samples/s.

    python benchmarks/baselines_throughput.py                  # every section, 3 steps each
    python benchmarks/baselines_throughput.py --steps 10 --only leopard deepbind

Adding a model: a function ``(args) -> Workload`` and one line in :data:`SECTIONS`.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch


@dataclass
class Workload:
    """One model's steps: each call of ``train_step`` / ``predict_step`` handles
    ``train_samples`` / ``predict_samples`` samples of the kind ``train_unit`` /
    ``predict_unit`` says."""

    train_step: Callable[[], None]
    predict_step: Callable[[], None]
    train_samples: int
    predict_samples: int
    train_unit: str
    predict_unit: str


def adam_step(model: torch.nn.Module, loss_of: Callable[[], torch.Tensor]) -> Callable[[], None]:
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step() -> None:
        model.train()
        loss = loss_of()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return step


def inference(model: torch.nn.Module, run: Callable[[], torch.Tensor]) -> Callable[[], None]:
    def step() -> None:
        model.eval()
        with torch.inference_mode():
            run().cpu()
    return step


# ---- sections ---------------------------------------------------------------------------------

def nettime(args: argparse.Namespace, embedding_dim: int) -> Workload:
    """NetTIME, Seq+DNase (K = 5), tables of 256 TFs x 64 cell types."""
    from nettime.models.network import ModelConfig, NetTIME
    from nettime.models.training import sequence_loss

    b, n, dev = args.batch, args.length, args.device
    model = NetTIME(ModelConfig(n_features=5, embedding_dim=embedding_dim)).to(dev)
    x = torch.randn(b, n, 5, device=dev)
    y = (torch.rand(b, n, device=dev) < 0.1).long()
    tf = torch.randint(0, 22, (b,), device=dev)
    cell = torch.randint(0, 7, (b,), device=dev)
    return Workload(
        adam_step(model, lambda: sequence_loss(model(x, tf, cell), y)),
        inference(model, lambda: torch.softmax(model(x, tf, cell).float(), dim=-1)[..., 1]),
        b, b, f"{n}-bp example", f"{n}-bp example")


def leopard(args: argparse.Namespace) -> Workload:
    """Leopard-style U-Net at the original sizes, each example in a 1024-bp window."""
    from nettime.baselines.leopard import LeopardConfig, UNet, leopard_objective

    b, n, dev = args.batch, args.length, args.device
    config = LeopardConfig()
    model = UNet(config).to(dev)
    objective = leopard_objective(n, config.window, augment=True)
    batch = {"x": torch.randn(b, 6, config.window, device=dev),
             "y": (torch.rand(b, n, device=dev) < 0.1).float(),
             "mask": torch.ones(b, n, device=dev)}
    return Workload(
        adam_step(model, lambda: objective.loss(objective.forward(model, batch), batch)),
        inference(model, lambda: objective.probability(objective.forward(model, batch))),
        b, b, f"{n}-bp example", f"{n}-bp example")


def deepbind(args: argparse.Namespace) -> Workload:
    """DeepBind-style CNN: trains on 101-bp windows, predicts per base over whole examples."""
    from nettime.baselines.deepbind import DeepBind, DeepBindConfig

    b, n, dev = args.batch, args.length, args.device
    config = DeepBindConfig()
    model = DeepBind(config).to(dev)
    windows = torch.nn.functional.one_hot(torch.randint(0, 4, (b, config.window), device=dev),
                                          4).float().transpose(1, 2)
    y = (torch.rand(b, device=dev) < 0.5).float()
    examples = torch.nn.functional.one_hot(torch.randint(0, 4, (b, n), device=dev),
                                           4).float().transpose(1, 2)
    return Workload(
        adam_step(model, lambda: torch.nn.functional.binary_cross_entropy_with_logits(
            model(windows), y)),
        inference(model, lambda: torch.sigmoid(model.per_base(examples))),
        b, b, f"{config.window}-bp window", f"{n}-bp example")


def catchitt(args: argparse.Namespace) -> Workload:
    """Catchitt-style classifiers (5 rounds, numpy/scikit-learn): a step trains on, or predicts,
    a synthetic data set of ``batch`` examples (see ``catchitt_throughput.py`` for its data,
    its memory and larger sets)."""
    import atexit
    import shutil
    import tempfile
    from pathlib import Path

    from catchitt_throughput import synthetic

    from nettime.baselines import catchitt as method
    from nettime.models.registry import paper_spec

    folder = Path(tempfile.mkdtemp(prefix="catchitt-bench-"))
    atexit.register(shutil.rmtree, folder, True)
    data = folder / "data"
    synthetic(data, args.batch, args.length)
    spec = paper_spec("bench", ["JUND.K562"], kind="catchitt",
                      budget={"steps": 150, "batch_size": 32, "epochs": None})
    runs = iter(range(1 << 30))

    def train_step() -> None:
        method.train_catchitt(spec, data, None, folder / f"model{next(runs)}", progress=False)

    train_step()  # the model that prediction uses
    model = folder / "model0/model.pt"
    return Workload(train_step,
                    lambda: method.predict_split(model, data, folder / "pred.h5", ["JUND.K562"],
                                                 "bench", "test", progress=False),
                    args.batch, args.batch, f"{args.length}-bp example",
                    f"{args.length}-bp example")


#: Model -> its workload.
SECTIONS: dict[str, Callable[[argparse.Namespace], Workload]] = {
    "nettime-demo": lambda args: nettime(args, embedding_dim=8),
    "nettime-paper": lambda args: nettime(args, embedding_dim=50),
    "leopard": leopard,
    "deepbind": deepbind,
    "catchitt": catchitt,
}


# ---- measurement ------------------------------------------------------------------------------

def cpu_model() -> str:
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown CPU"
    for line in text.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def rate(step: Callable[[], None], samples: int, steps: int, device: str) -> float:
    for _ in range(2):  # warm-up: allocator, oneDNN primitives of forward and backward
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    return samples * steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3, help="timed steps after two warm-up steps")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--length", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--only", nargs="+", choices=list(SECTIONS), default=list(SECTIONS))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"CPU: {cpu_model()}; torch {torch.__version__}, {args.threads} threads, device "
          f"{args.device}, {args.steps} timed steps", flush=True)
    print("model\tmode\tbatch\tsample\tsamples_per_s", flush=True)
    for name in args.only:
        work = SECTIONS[name](args)
        for mode, step, samples, unit in (
                ("train", work.train_step, work.train_samples, work.train_unit),
                ("predict", work.predict_step, work.predict_samples, work.predict_unit)):
            print(f"{name}\t{mode}\t{samples}\t{unit}\t"
                  f"{rate(step, samples, args.steps, args.device):.1f}", flush=True)


if __name__ == "__main__":
    main()
