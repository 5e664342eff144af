"""A run plan: how many jobs a configuration's whole DAG has, and what they need.

``nettime plan --config config/paper/config.yaml`` asks Snakemake for the jobs of a full run
(a dry run with ``--forceall``: every job, whatever exists already), then estimates per rule
the device hours, memory and disk of its jobs from what the jobs do (samples to train, examples
x conditions to predict) and from rates. Every rate says where it comes from: measured by this
project's benchmarks (on which CPU), or given by the user. GPU rates are never guessed: pass
yours (``--gpu-train-rate``, ``--gpu-predict-rate``: samples/s of ``python
benchmarks/model_throughput.py --device cuda`` on your GPU); without them GPU jobs are sized
at the CPU rates, marked so.

Examples per split are read from the data sets when they exist (``results/data/{split}``), else
taken from the paper's counts (training 937,676; validation 101,644; test 102,178 windows of
1,000 bp).
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The paper's example windows per split (its methods), used before the data sets exist.
PAPER_EXAMPLES = {"train": 937_676, "valid": 101_644, "test": 102_178}
#: Bytes per example and track of a data set (float16 per base of a 1,000-bp window).
TRACK_BYTES = 2 * 1000


@dataclass(frozen=True)
class Rate:
    """Samples (or examples x conditions) per second of one kind of work, and its source."""

    per_second: float
    source: str


#: Rates measured by this project's benchmarks at the paper's sizes on CPU (2 threads):
#: benchmarks/model_throughput.py and benchmarks/baselines_throughput.py.
CPU_RATES: dict[str, Rate] = {
    "nettime_train": Rate(14.5, "measured: model_throughput.py, paper sizes, 2 threads, "
                                "Intel Xeon (AVX-512), 2026-11-22"),
    "nettime_predict": Rate(55.0, "measured: model_throughput.py --modes infer, paper sizes, "
                                  "2 threads, Intel Xeon (AVX-512)"),
    "leopard_train": Rate(300.0, "measured: baselines_throughput.py, the original's sizes, "
                                 "2 threads, Intel Xeon (examples/s)"),
    "leopard_predict": Rate(1200.0, "measured: baselines_throughput.py, 2 threads"),
    "deepbind_train": Rate(150.0, "measured: baselines_throughput.py, 2 threads (examples/s)"),
    "deepbind_predict": Rate(2700.0, "measured: baselines_throughput.py, 2 threads"),
    "catchitt_train": Rate(887.0, "measured: baselines_throughput.py, 2 threads (examples/s "
                                  "per condition)"),
    "catchitt_predict": Rate(4640.0, "measured: baselines_throughput.py, 2 threads"),
    "evaluate": Rate(15000.0, "measured: the default run's evaluate job of its base model "
                              "(40 conditions x 508 examples in 1.35 s, 1 thread, Intel Xeon)"),
}
#: Seconds per job of the small rules (figures, findings, thresholds, ...), measured on the
#: default run: the fixed cost of a job more than its work.
SMALL_JOB_SECONDS = 10.0
#: Data-set stages at the paper's scale, core-hours in all (benchmarks/paper_scale.py,
#: extrapolated from the measured rates of benchmarks/bench_memory.py): split over the jobs of
#: each rule.
DATA_CORE_HOURS = {"inpeak_signal": 0.05, "labels": 0.16, "signal_tracks": 0.34 + 0.68 / 2,
                   "motif_tracks": 0.68 / 2}
DATA_SOURCE = ("extrapolated: benchmarks/paper_scale.py (data-set rates measured at 62k "
               "examples, scaled to the paper's 1.14 M)")
#: GRCh38 lengths of the paper's test chromosomes (bp): the genome-wide benchmark's span
#: before the genome is downloaded.
GRCH38_TEST_BP = {"chr1": 248_956_422, "chr8": 145_138_636, "chr21": 46_709_983}


@dataclass
class Job:
    """One job of a dry run."""

    rule: str
    wildcards: dict[str, str] = field(default_factory=dict)
    resources: dict[str, str] = field(default_factory=dict)


def dry_run_jobs(config: str, snakemake: Sequence[str] = (sys.executable, "-m", "snakemake"),
                 cwd: str | Path = ".") -> list[Job]:
    """The jobs of a full run of ``config`` (``snakemake -n --forceall``), with their
    wildcards and resources.

    Raises
    ------
    RuntimeError
        With Snakemake's message when the dry run fails.
    """
    run = subprocess.run([*snakemake, "-n", "--forceall", "--configfile", config],
                         cwd=cwd, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"snakemake -n --configfile {config} failed:\n"
                           f"{(run.stdout + run.stderr)[-3000:]}")
    return parse_jobs(run.stdout + run.stderr)


def parse_jobs(text: str) -> list[Job]:
    """The jobs of a dry run's output (blocks ``rule NAME:`` with indented fields)."""
    jobs: list[Job] = []
    current: Job | None = None
    for line in text.splitlines():
        head = re.match(r"^(?:local)?rule (\w+):$", line)
        if head:
            current = Job(head.group(1))
            jobs.append(current)
            continue
        if current is None or not line.startswith("    "):
            if not line.strip():
                current = None
            continue
        key, _, value = line.strip().partition(": ")
        if key in ("wildcards", "resources"):
            target = current.wildcards if key == "wildcards" else current.resources
            for item in value.split(", "):
                name, _, val = item.partition("=")
                target[name.strip()] = val.strip()
    return jobs


@dataclass
class Estimate:
    """The plan of one job: hours on its device, its memory and the disk it writes."""

    device: str  # "gpu" or "cpu"
    hours: float
    threads: int
    mem_gb: float
    disk_gb: float
    source: str


def examples_per_split(data_root: str | Path = "results/data") -> tuple[dict[str, int], str]:
    """Examples of each split: from the data sets when they exist, else the paper's."""
    counts = {}
    for split in PAPER_EXAMPLES:
        path = Path(data_root) / split / "examples.h5"
        if not path.exists():
            return dict(PAPER_EXAMPLES), "the paper's counts (data sets not built yet)"
        import h5py

        with h5py.File(path, "r") as h5:
            counts[split] = int(h5["start"].shape[0])
    return counts, f"the data sets under {data_root}"


def _training_samples(spec: Any, n_train: int) -> float:
    """Samples a model's training sees: steps x batch, or epochs x its sample count (every
    example of every condition with both label sets unless subsampled)."""
    budget = spec.budget
    if spec.kind == "catchitt":  # a classifier per condition and round over the training bins
        return float(n_train) * len(spec.conditions) * int(spec.options.get("rounds", 5))
    if budget.get("steps"):
        return float(budget["steps"]) * float(budget["batch_size"])
    per_epoch = n_train * 2 * len(spec.conditions)
    if spec.sample_count == "single_task":
        per_epoch = n_train * 2
    elif spec.sample_count is not None:
        per_epoch = min(int(spec.sample_count), per_epoch)
    return float(budget["epochs"]) * per_epoch


def estimate_job(job: Job, models: Mapping[str, Any], examples: Mapping[str, int],
                 gpu_rates: Mapping[str, Rate], gpu_jobs: bool,
                 rule_counts: Mapping[str, int] | None = None, dream_span: float = 0.0,
                 dream_conditions: Mapping[str, int] | None = None) -> Estimate:
    """Hours, memory and disk of one job (see the module docstring); ``rule_counts``: jobs per
    rule (a data stage's hours are split over its jobs); ``dream_span``: bp of the
    genome-wide benchmark, ``dream_conditions``: model -> conditions it predicts there."""
    rule_counts = rule_counts or {}
    dream_conditions = dream_conditions or {}
    from nettime.models.registry import predictable

    mem_gb = float(job.resources.get("mem_mb", 1000)) / 1000
    threads = 1
    gpu = gpu_jobs and "gpu" in job.resources
    model = job.wildcards.get("model")
    spec = models.get(model) if model else None
    if job.rule == "train_model" and spec is not None:
        kind = spec.kind
        rate = _rate(f"{kind}_train", gpu, gpu_rates)
        hours = _training_samples(spec, examples["train"]) / rate.per_second / 3600
        return Estimate("gpu" if gpu else "cpu", hours, 2, mem_gb, 0.01, rate.source)
    if job.rule in ("predict", "predict_variant") and spec is not None:
        rate = _rate(f"{spec.kind}_predict", gpu, gpu_rates)
        split = job.wildcards.get("split", "test")
        n = examples.get(split, 0) * len(predictable(models, model))
        disk = n * TRACK_BYTES / 1e9
        return Estimate("gpu" if gpu else "cpu", n / rate.per_second / 3600, 2, mem_gb, disk,
                        rate.source)
    if job.rule.startswith("evaluate") and spec is not None:
        split = job.wildcards.get("split", "test")
        n = examples.get(split, 0) * len(predictable(models, model))
        rate = CPU_RATES["evaluate"]
        return Estimate("cpu", n / rate.per_second / 3600, threads, mem_gb, 0.0, rate.source)
    if job.rule == "dream_predict" and spec is not None:
        rate = _rate(f"{spec.kind}_predict", gpu, gpu_rates)
        # Windows of 1,000 bp at a 500-bp stride over the benchmark's chromosomes.
        windows = dream_span / 500
        n = windows * dream_conditions.get(model, 1)
        return Estimate("gpu" if gpu else "cpu", n / rate.per_second / 3600, 2, mem_gb,
                        dream_span / 50 * 2 * dream_conditions.get(model, 1) / 1e9,
                        rate.source + f"; {dream_span / 1e6:.0f} Mb genome-wide")
    if job.rule in DATA_CORE_HOURS:
        jobs_of_rule = max(rule_counts.get(job.rule, 1), 1)
        return Estimate("cpu", DATA_CORE_HOURS[job.rule] / jobs_of_rule, threads, mem_gb, 0.0,
                        DATA_SOURCE)
    return Estimate("cpu", SMALL_JOB_SECONDS / 3600, threads, mem_gb, 0.0,
                    "measured: a small job's fixed cost on the default run")


def _rate(kind: str, gpu: bool, gpu_rates: Mapping[str, Rate]) -> Rate:
    work = kind.rsplit("_", 1)[1]
    if gpu and work in gpu_rates:
        return gpu_rates[work]
    rate = CPU_RATES.get(kind, CPU_RATES[f"nettime_{work}"])
    return Rate(rate.per_second, rate.source + (" (CPU rate: no GPU rate given)" if gpu else ""))


def plan_table(jobs: Sequence[Job], models: Mapping[str, Any], examples: Mapping[str, int],
               gpu_rates: Mapping[str, Rate] | None = None, gpu_jobs: bool = True,
               dream_span: float = 0.0, dream_conditions: Mapping[str, int] | None = None):
    """Per rule: jobs, device, device hours (GPU hours, or CPU core-hours = hours x threads),
    largest memory of a job (GB) and disk written (GB); then the totals.

    Returns
    -------
    pandas.DataFrame
        Columns rule, jobs, device, hours, core_hours, max_mem_gb, disk_gb, source.
    """
    import pandas as pd

    rows = []
    counts: dict[str, int] = {}
    for job in jobs:
        counts[job.rule] = counts.get(job.rule, 0) + 1
    for job in jobs:
        estimate = estimate_job(job, models, examples, gpu_rates or {}, gpu_jobs, counts,
                                dream_span, dream_conditions)
        rows.append({"rule": job.rule, "device": estimate.device, "hours": estimate.hours,
                     "core_hours": estimate.hours * estimate.threads
                     if estimate.device == "cpu" else 0.0,
                     "mem_gb": estimate.mem_gb, "disk_gb": estimate.disk_gb,
                     "source": estimate.source})
    frame = pd.DataFrame(rows)
    table = frame.groupby(["rule", "device"], sort=False).agg(
        jobs=("hours", "size"), hours=("hours", "sum"), core_hours=("core_hours", "sum"),
        max_mem_gb=("mem_gb", "max"), disk_gb=("disk_gb", "sum"),
        source=("source", "first")).reset_index()
    return table.sort_values("hours", ascending=False, kind="stable").reset_index(drop=True)


def format_plan(table, examples_source: str, config: str) -> str:
    """The plan as text: the table, the totals and where each rate comes from."""
    gpu = table[table["device"] == "gpu"]
    cpu = table[table["device"] == "cpu"]
    lines = [f"Run plan of {config} (examples per split from {examples_source})", ""]
    width = max(len(r) for r in table["rule"]) if len(table) else 4
    lines.append(f"{'rule':<{width}s} {'jobs':>6s} {'device':>6s} {'hours':>10s} "
                 f"{'max mem GB':>10s} {'disk GB':>9s}")
    for row in table.itertuples():
        lines.append(f"{row.rule:<{width}s} {row.jobs:>6d} {row.device:>6s} "
                     f"{row.hours:>10.2f} {row.max_mem_gb:>10.1f} {row.disk_gb:>9.1f}")
    lines += ["", f"total: {int(table['jobs'].sum())} jobs; GPU hours {gpu['hours'].sum():.1f} "
              f"({int(gpu['jobs'].sum())} jobs); CPU core-hours {cpu['core_hours'].sum():.1f}; "
              f"disk {table['disk_gb'].sum():.1f} GB written by predictions and jobs sized here",
              "", "rates (rules using each):"]
    by_source: dict[str, list[str]] = {}
    for rule, source in zip(table["rule"], table["source"], strict=True):
        by_source.setdefault(source, []).append(rule)
    for source, rules in by_source.items():
        shown = ", ".join(rules[:6]) + (f" and {len(rules) - 6} more" if len(rules) > 6 else "")
        lines.append(f"  {source}: {shown}")
    return "\n".join(lines)


def plan(config: str, gpu_train_rate: float | None = None,
         gpu_predict_rate: float | None = None, data_root: str = "results/data") -> str:
    """The run plan of a configuration as text (what ``nettime plan`` prints)."""
    from nettime.config import load_project
    from nettime.paper.figures import model_registry

    project = load_project(config)
    models = model_registry(project)
    gpu_rates = {}
    if gpu_train_rate:
        gpu_rates["train"] = Rate(gpu_train_rate, "given: --gpu-train-rate")
    if gpu_predict_rate:
        gpu_rates["predict"] = Rate(gpu_predict_rate, "given: --gpu-predict-rate")
    device = str((project.config.get("training") or {}).get("device", "auto"))
    examples, source = examples_per_split(data_root)
    jobs = dry_run_jobs(config)
    span, conditions = _dream_work(project, models)
    table = plan_table(jobs, models, examples, gpu_rates, gpu_jobs=device != "cpu",
                       dream_span=span, dream_conditions=conditions)
    text = format_plan(table, source, config)
    if not gpu_rates and device != "cpu":
        text += ("\n\nGPU jobs are sized at the CPU rates above: pass --gpu-train-rate and "
                 "--gpu-predict-rate (samples/s of benchmarks/model_throughput.py --device "
                 "cuda on your GPU) for GPU hours.")
    return text


def _dream_work(project: Any, models: Mapping[str, Any]) -> tuple[float, dict[str, int]]:
    """The genome-wide benchmark's span (bp: the chromosome sizes when acquired, else GRCh38's
    test chromosomes) and the conditions each model predicts there."""
    from nettime import layout
    from nettime.models.registry import predictable

    dream = project.config.get("dream")
    if dream is None:
        return 0.0, {}
    chromosomes = list(dream.get("chromosomes") or project.config["splits"]["test"])
    sizes_path = Path(layout.path("chrom_sizes", source=project.source))
    if sizes_path.exists():
        sizes = dict(line.split("\t")[:2] for line in sizes_path.read_text().splitlines())
        span = float(sum(int(sizes[c]) for c in chromosomes if c in sizes))
    else:
        span = float(sum(GRCH38_TEST_BP.get(c, 0) for c in chromosomes))
    wanted = set(dream.get("conditions") or [])
    conditions = {name: len([c for c in predictable(models, name) if not wanted or c in wanted])
                  for name in models}
    return span, conditions
