"""Training and inference throughput of NetTIME at the paper's sizes (Seq+CT, K = 8).

Each measurement runs in its own process so that its peak RSS is its own, with the environment
the pipeline's training and prediction jobs set (``nettime.cpu_env``; ``--bare-env`` leaves it
out; a variable already exported wins). Prints one line per measurement: mode, GRU
implementation, threads, batch size, samples/s, peak RSS (MB); then, per mode and thread count,
each implementation's samples/s and peak RSS as ratios to ``plain``'s, measured in the same
invocation.

GRU implementations: ``fused`` is the pipeline's (the recurrence of nettime.models.gru, and
activations rebuilt in the backward pass); ``torch`` swaps in ``nn.GRU`` and keeps the
rebuilding; ``plain`` is ``nn.GRU`` with every activation kept by autograd, the way the
original implementation computes: the reference the ratios divide by. ``convs`` runs only the
network's four convolutions (forward, and in training their backward) at the same shapes: the
arithmetic that every implementation of this architecture does the same way. Its rate over
plain's is the most any implementation could gain on the same arithmetic, were everything but
the convolutions free (the ``bound`` column).

    python benchmarks/model_throughput.py                       # fused, plain, convs; train + infer
    python benchmarks/model_throughput.py --gru torch fused plain --threads 1 2
    python benchmarks/model_throughput.py --gru fused --kernels portable native

``--kernels`` chooses the jobs' CPU kernels (``nettime.cpu_env``): ``portable``, the default,
is every library's AVX2 code, the same on any x86-64 CPU with AVX2; ``native`` lets each pick
the CPU's widest (AVX-512 where present). Given both, it prints native's samples/s over
portable's, measured in the same invocation.

Reference (the original implementation measured on 2 CPU cores): 6.4-6.7 training samples/s at
batch 64 with 3.3 GB peak RSS; prediction ~20 samples/s; evaluation 1,650 samples in 4 min 15 s
(6.5 samples/s) at 9.5 GB.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

from isolated import measure_in_child, parse_or_measure

from nettime.cpu_env import KERNELS_VARIABLE, PORTABLE_KERNELS, job_env


def measure(mode: str, gru: str, threads: int, batch: int, steps: int, length: int,
            device: str) -> dict:
    import torch

    from nettime.models.network import ModelConfig, NetTIME
    from nettime.models.training import sequence_loss

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    dev = torch.device(device)
    model = NetTIME(ModelConfig(n_features=8, embedding_dim=50, tf_table_size=256,
                                cell_table_size=64)).to(dev)
    for block in model.blocks:
        block.fused_gru = gru == "fused"
    model.recompute_activations = gru != "plain"
    if gru == "convs":
        return _measure_convs(model, mode, threads, batch, steps, length, dev)
    x = torch.randn(batch, length, 8, device=dev)
    y = (torch.rand(batch, length, device=dev) < 0.1).long()
    tf = torch.randint(0, 22, (batch,), device=dev)
    cell = torch.randint(0, 7, (batch,), device=dev)
    amp = mode.endswith("amp")
    bf16 = mode.endswith("bf16")  # CPU inference in bfloat16 (opt-in in the pipeline)
    scaler = torch.amp.GradScaler("cuda", enabled=amp)

    if mode.startswith("train"):
        model.train()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)

        def step() -> None:
            with torch.autocast(dev.type, dtype=torch.float16, enabled=amp):
                logits = model(x, tf, cell)
            loss = sequence_loss(logits, y)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
    else:
        model.eval()

        def step() -> None:
            dtype = torch.bfloat16 if bf16 else torch.float16
            with torch.inference_mode(), torch.autocast(dev.type, dtype=dtype,
                                                        enabled=amp or bf16):
                torch.softmax(model(x, tf, cell).float(), dim=-1)[..., 1].cpu()

    return _timed(step, mode, gru, threads, batch, steps, length, dev)


def _measure_convs(model, mode: str, threads: int, batch: int, steps: int, length: int,
                   dev) -> dict:
    """The network's convolutions alone: (B, 2H, L) in, forward and (training) backward with
    the gradients of their inputs and weights, as in a training step."""
    import torch

    convs = [conv for block in model.blocks for conv in (block.conv1, block.conv2)]
    x = torch.randn(batch, convs[0].in_channels, length, device=dev,
                    requires_grad=mode.startswith("train"))
    # The same precision as the network's measurement of this mode.
    dtype = torch.bfloat16 if mode.endswith("bf16") else torch.float16
    cast = mode.endswith(("amp", "bf16"))

    def step() -> None:
        with torch.autocast(dev.type, dtype=dtype, enabled=cast):
            if mode.startswith("train"):
                for conv in convs:
                    out = conv(x)
                    out.float().backward(torch.ones(out.shape, device=dev))
            else:
                with torch.inference_mode():
                    for conv in convs:
                        conv(x)

    return _timed(step, mode, "convs", threads, batch, steps, length, dev)


def _timed(step, mode: str, gru: str, threads: int, batch: int, steps: int, length: int,
           dev) -> dict:
    """Samples/s of ``step`` after one warm-up step, and this process's peak RSS."""
    import torch

    step()  # warm-up: allocator, oneDNN primitives
    if dev.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"mode": mode, "gru": gru, "threads": threads, "batch": batch, "length": length,
            "device": dev.type, "samples_per_s": round(batch * steps / elapsed, 2),
            "peak_rss_mb": round(rss_mb)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", nargs="+", default=["train", "infer"],
                        choices=["train", "infer", "infer_bf16", "train_amp", "infer_amp"])
    parser.add_argument("--gru", nargs="+", default=["fused", "plain", "convs"],
                        choices=["fused", "torch", "plain", "convs"])
    parser.add_argument("--threads", nargs="+", type=int, default=[2])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=3, help="timed steps after one warm-up")
    parser.add_argument("--length", type=int, default=1000)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--bare-env", dest="pipeline_env", action="store_false",
                        help="leave out the environment the pipeline's jobs set "
                             "(nettime.cpu_env: OpenMP passive wait, huge pages, kernels)")
    parser.add_argument("--kernels", nargs="+", default=["portable"],
                        choices=["portable", "native"])
    args = parse_or_measure(parser, measure)
    if args is None:
        return
    results, by_kernels = {}, {}
    for kernels in args.kernels:
        if args.pipeline_env:
            chosen = {name: value for name, value in os.environ.items()
                      if name not in {*PORTABLE_KERNELS, "NPY_DISABLE_CPU_FEATURES"}}
            env = {**job_env(kernels), **chosen, KERNELS_VARIABLE: kernels}
        else:
            env = None
        print(f"kernels: {kernels if args.pipeline_env else 'as the libraries choose'}")
        for mode in args.modes:
            for gru in args.gru:
                for threads in args.threads:
                    by_kernels[kernels, mode, gru, threads] = measure_in_child(
                        __file__, {"mode": mode, "gru": gru, "threads": threads,
                                   "batch": args.batch, "steps": args.steps,
                                   "length": args.length, "device": args.device}, env)
                    if kernels == args.kernels[0]:
                        results[mode, gru, threads] = by_kernels[kernels, mode, gru, threads]
    if len(args.kernels) == 2:
        print("\nnative kernels against portable, same invocation (samples/s ratio):")
        for (kernels, mode, gru, threads), result in by_kernels.items():
            if kernels == "native":
                portable = by_kernels["portable", mode, gru, threads]["samples_per_s"]
                print(f"{mode:<10s} {threads:>7d} {gru:<6s} "
                      f"{result['samples_per_s'] / portable:>6.2f}")
    if "plain" not in args.gru or len(args.gru) < 2:
        return
    print("\nagainst plain (nn.GRU, every activation kept), same invocation:")
    print(f"{'mode':<10s} {'threads':>7s} {'gru':<6s} {'samples/s ratio':>15s} "
          f"{'peak RSS ratio':>14s}")
    for (mode, gru, threads), result in results.items():
        reference = results[mode, "plain", threads]
        if gru == "plain":
            continue
        ratio = result["samples_per_s"] / reference["samples_per_s"]
        if gru == "convs":
            print(f"{mode:<10s} {threads:>7d} {'bound':<6s} {ratio:>15.2f} "
                  f"{'':>14s}  (convolutions alone: the most the same arithmetic allows)")
            continue
        print(f"{mode:<10s} {threads:>7d} {gru:<6s} {ratio:>15.2f} "
              f"{result['peak_rss_mb'] / reference['peak_rss_mb']:>14.2f}")


if __name__ == "__main__":
    main()
