"""The shipped SLURM profile on a real single-node SLURM cluster (tests/slurm/cluster.sh).

The cluster is stood up from Debian packages (root and apt-get needed) and torn down after the
module. Where the machine cannot run it the tests skip with the reason; with CI=true they fail
instead, so CI never passes without running them.

Two runs go through ``snakemake --profile slurm`` from a copy of the repository:
- a two-rule probe workflow (tests/slurm/probe): one rule requests a GPU, one does not;
- the pipeline on the tiny configuration, compared file by file with a local run of the same
  configuration (same seed).
Each asserts that every job was a SLURM job, and that exactly the jobs that declare ``gpu > 0``
went to the gpu partition with a GPU request.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slurm

ROOT = Path(__file__).resolve().parents[1]
CLUSTER = ROOT / "tests" / "slurm" / "cluster.sh"
PROBE = ROOT / "tests" / "slurm" / "probe" / "Snakefile"
TINY_CONFIG = "config/tiny/config.yaml"
UNAVAILABLE = 3  # cluster.sh's exit status for "this machine cannot run SLURM"
CPU_PARTITION, GPU_PARTITION = "cpu", "gpu"
# Snakemake runs only these on the submitting node (no command: aggregation targets).
LOCAL_RULES = {"all"}
# Quicker polling than a production cluster needs; the profile itself is used unchanged.
FAST_POLLING = [
    "--slurm-init-seconds-before-status-checks=2",
    "--seconds-between-status-checks=2",
    "--slurm-keep-successful-logs",
]


def cannot_run(reason: str) -> None:
    """Skip with ``reason``; in CI (CI=true) fail instead, since CI must run these tests."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"SLURM tests must run in CI but cannot: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def cluster(job_tables):
    """A running single-node cluster with partitions cpu and gpu; torn down afterwards."""
    if sys.platform != "linux":
        cannot_run("SLURM test cluster needs Linux")
    if os.geteuid() != 0:
        cannot_run("SLURM test cluster needs root (apt-get install, daemons)")
    if shutil.which("slurmctld") is None and shutil.which("apt-get") is None:
        cannot_run("SLURM is not installed and there is no apt-get to install it")
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        cannot_run('snakemake-executor-plugin-slurm is not installed (pip install -e ".[slurm]")')
    start = time.monotonic()
    up = subprocess.run(["bash", str(CLUSTER), "up"], capture_output=True, text=True)
    if up.returncode == UNAVAILABLE:
        cannot_run(up.stderr.strip().splitlines()[-1])
    if up.returncode != 0:
        subprocess.run(["bash", str(CLUSTER), "down"], capture_output=True)
        pytest.fail(f"cluster.sh up failed ({up.returncode}):\n{up.stdout}\n{up.stderr}")
    job_tables.notes.append(f"SLURM test cluster up in {time.monotonic() - start:.1f} s")
    yield
    subprocess.run(["bash", str(CLUSTER), "down"], capture_output=True)


class JobTables:
    """Shows the job tables the tests observed at the end of the pytest run, passed or not,
    so that CI logs say where each rule ran."""

    def __init__(self) -> None:
        self.tables: list[tuple[str, list[tuple[str, str, str]]]] = []
        self.notes: list[str] = []

    def pytest_terminal_summary(self, terminalreporter) -> None:
        for note in self.notes:
            terminalreporter.write_line(note)
        for title, rows in self.tables:
            terminalreporter.write_sep("-", f"SLURM jobs: {title}")
            terminalreporter.write_line(f"{'rule':32} {'partition':10} GPU request")
            for rule, partition, gpus in sorted(set(rows)):
                count = rows.count((rule, partition, gpus))
                terminalreporter.write_line(f"{rule:32} {partition:10} {gpus}  (x{count})")


@pytest.fixture(scope="session")
def job_tables(request) -> JobTables:
    plugin = JobTables()
    request.config.pluginmanager.register(plugin, "nettime-slurm-job-tables")
    return plugin


def copy_repository(dest: Path) -> Path:
    """Copy the tracked and untracked-but-not-ignored files (a fresh checkout) to ``dest``."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (n.decode() for n in listed)):
        source = ROOT / name
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(os.readlink(source))
        elif source.is_file():
            shutil.copy2(source, target)
    return dest


def snakemake(workdir: Path, *args: str, timeout: float = 3000) -> str:
    """Run snakemake in ``workdir`` with this interpreter; return its output or fail with it."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(workdir / "src"), *filter(None, [env.get("PYTHONPATH")])]
    )
    # Matplotlib and others stamp files with the time unless this is set.
    env["SOURCE_DATE_EPOCH"] = "0"
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        pytest.fail(f"snakemake {' '.join(args)} failed in {workdir}:\n{output[-6000:]}")
    return output


@dataclass
class Job:
    rule: str
    jobid: int  # snakemake's
    gpu: int  # GPUs the job declares (resources: gpu=...)
    local: bool
    slurm_id: int | None = None


def jobs_from_log(workdir: Path) -> list[Job]:
    """Jobs of the latest snakemake run in ``workdir``, from its log in .snakemake/log."""
    logs = sorted((workdir / ".snakemake" / "log").glob("*.snakemake.log"))
    assert logs, f"no snakemake log in {workdir}"
    text = logs[-1].read_text()
    jobs: dict[int, Job] = {}
    current: dict | None = None
    for line in text.splitlines():
        if m := re.match(r"^(local)?rule (\S+):$", line):
            current = {"local": bool(m.group(1)), "rule": m.group(2), "gpu": 0}
        elif current is not None and (m := re.match(r"^\s+jobid: (\d+)$", line)):
            current["jobid"] = int(m.group(1))
        elif current is not None and line.strip().startswith("resources:"):
            if m := re.search(r"\bgpu=(\d+)", line):
                current["gpu"] = int(m.group(1))
            jobs[current["jobid"]] = Job(**current)
            current = None
        elif m := re.match(r"^Job (\d+) has been submitted with SLURM jobid (\d+)", line):
            jobs[int(m.group(1))].slurm_id = int(m.group(2))
    return list(jobs.values())


def slurm_table(ids: list[int]) -> dict[int, dict[str, str]]:
    """Partition, GPU request (TRES per job), state and comment of SLURM jobs, by job id."""
    out = subprocess.run(
        [
            "squeue",
            "--states=all",
            "--noheader",
            "--jobs=" + ",".join(map(str, ids)),
            "--Format=JobID:|,Partition:|,tres-per-job:|,State:|,Comment:|",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    table = {}
    for line in out.splitlines():
        job_id, partition, tres, state, comment = (f.strip() for f in line.split("|")[:5])
        table[int(job_id)] = {
            "partition": partition,
            "tres": "" if tres == "N/A" else tres,
            "state": state,
            "comment": comment,
        }
    return table


def check_routing(workdir: Path, tables: JobTables, title: str) -> list[tuple[str, str, str]]:
    """Assert every job ran on SLURM, GPU jobs on the gpu partition with a GPU request and
    the rest on the cpu partition without one; return (and record in ``tables``, before any
    assertion) the job table: rule, partition, GPU request ("-" for none)."""
    jobs = jobs_from_log(workdir)
    remote = [j for j in jobs if not j.local]
    table = slurm_table([j.slurm_id for j in remote if j.slurm_id is not None])
    rows = []
    for job in remote:
        entry = table.get(job.slurm_id, {"partition": "?", "tres": "?"})
        rows.append((job.rule, entry["partition"], entry["tres"] or "-"))
    tables.tables.append((title, rows))

    local = sorted({j.rule for j in jobs if j.local} - LOCAL_RULES)
    assert not local, f"jobs ran on the submitting node instead of SLURM: {local}"
    assert remote, "no job was submitted"
    unsubmitted = [j.rule for j in remote if j.slurm_id is None]
    assert not unsubmitted, f"jobs without a SLURM job id in the log: {unsubmitted}"
    for job in remote:
        assert job.slurm_id in table, f"{job.rule}: SLURM job {job.slurm_id} unknown to squeue"
        entry = table[job.slurm_id]
        assert entry["state"] == "COMPLETED", f"{job.rule}: SLURM job {entry}"
        assert entry["comment"].startswith(f"rule_{job.rule}"), (job, entry)
        if job.gpu > 0:
            assert entry["partition"] == GPU_PARTITION, (job, entry)
            assert entry["tres"] == f"gres:gpu:{job.gpu}", (job, entry)
        else:
            assert entry["partition"] == CPU_PARTITION, (job, entry)
            assert "gpu" not in entry["tres"], (job, entry)
    return rows


def test_profile_resolves_from_repository_root():
    """`--profile slurm` finds the shipped profile, and no default profile overrides it."""
    assert (ROOT / "slurm" / "config.yaml").resolve() == (
        ROOT / "profiles" / "slurm" / "config.yaml"
    ).resolve()
    # Snakemake loads profiles/default on its own instead of nothing, and the workflow's profile
    # (workflow/profiles/default) beside any --profile with its keys winning: it may hold only
    # keys that do not touch where or with what jobs run.
    assert not (ROOT / "profiles" / "default").exists()
    workflow_profile = ROOT / "workflow" / "profiles" / "default" / "config.yaml"
    if workflow_profile.exists():
        keys = set(yaml.safe_load(workflow_profile.read_text()))
        # max-jobs-per-timespan spaces the scheduler's timer re-selections; its cap is far above
        # any DAG here (a site that throttles submissions gives its own on the command line,
        # which wins over both profiles).
        assert keys <= {"scheduler", "rerun-incomplete", "max-jobs-per-timespan"}, (
            f"{workflow_profile} sets {keys}: it would override --profile slurm")
    profile = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())
    assert profile["executor"] == "slurm"
    assert profile["slurm-status-command"] == "squeue"
    assert "slurm_partition" not in profile["default-resources"]
    assert (ROOT / "profiles" / "slurm" / profile["slurm-partition-config"]).is_file()


def test_dry_run_from_repository_root(tmp_path):
    """`snakemake --profile slurm -n`, as a user types it, resolves the shipped profile."""
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        cannot_run('snakemake-executor-plugin-slurm is not installed (pip install -e ".[slurm]")')
    checkout = copy_repository(tmp_path / "checkout")
    output = snakemake(checkout, "--profile", "slurm", "-n")
    assert re.search(r"Using profiles? slurm\b.* for setting default command line arguments",
                     output)
    assert "This was a dry-run" in output


def test_probe_routes_gpu_jobs(cluster, job_tables, tmp_path):
    """A rule that requests a GPU goes to the gpu partition with --gpus, the other does not."""
    shutil.copytree(ROOT / "profiles" / "slurm", tmp_path / "slurm")
    shutil.copy(PROBE, tmp_path / "Snakefile")
    snakemake(tmp_path, "--profile", "slurm", *FAST_POLLING)
    rows = check_routing(tmp_path, job_tables, "probe workflow, gpus: 1")
    assert sorted(rows) == [("on_cpu", "cpu", "-"), ("on_gpu", "gpu", "gres:gpu:1")]
    # Inside the jobs SLURM saw the same partitions.
    assert (tmp_path / "gpu.txt").read_text().split()[1] == GPU_PARTITION
    assert (tmp_path / "cpu.txt").read_text().split()[1] == CPU_PARTITION


def test_probe_without_gpus_requests_none(cluster, job_tables, tmp_path):
    """With gpus: 0 (what the training rules declare for device: cpu) nothing asks for a GPU."""
    shutil.copytree(ROOT / "profiles" / "slurm", tmp_path / "slurm")
    shutil.copy(PROBE, tmp_path / "Snakefile")
    snakemake(tmp_path, "--profile", "slurm", "--config", "gpus=0", *FAST_POLLING)
    rows = check_routing(tmp_path, job_tables, "probe workflow, gpus: 0")
    assert sorted(rows) == [("on_cpu", "cpu", "-"), ("on_gpu", "cpu", "-")]


def content_digest(path: Path) -> str:
    """A digest of what a file says, not of when or under which name it was written: gzip
    members decompressed (their headers carry a time), HDF5 files dataset by dataset, torch
    files object by object."""
    if path.suffix == ".gz":
        with gzip.open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    if path.suffix == ".h5":
        import h5py
        import numpy as np

        digest = hashlib.sha256()
        with h5py.File(path, "r") as h5:

            def add(name, obj):
                digest.update(name.encode())
                for key in sorted(obj.attrs):
                    digest.update(f"{key}={obj.attrs[key]!r}".encode())
                if isinstance(obj, h5py.Dataset):
                    values = obj[()]
                    # Strings (object arrays) by value, not by the pointers tobytes would give.
                    digest.update(repr(values.tolist()).encode() if values.dtype.kind == "O"
                                  else np.ascontiguousarray(values).tobytes())

            add("/", h5)
            h5.visititems(add)
        return digest.hexdigest()
    if path.suffix == ".pt":
        # torch.save names the archive's inner folder after the (temporary) file it writes.
        import torch

        digest = hashlib.sha256()
        add_object(digest, torch.load(path, map_location="cpu", weights_only=False))
        return digest.hexdigest()
    return hashlib.sha256(path.read_bytes()).hexdigest()


def add_object(digest, obj) -> None:
    """Feed a nested structure of dicts, sequences, tensors and scalars to ``digest``."""
    import torch

    if isinstance(obj, dict):
        for key in sorted(obj, key=repr):
            if key == "identity":  # the data files' sizes and modification times
                continue
            digest.update(repr(key).encode())
            add_object(digest, obj[key])
    elif isinstance(obj, list | tuple):
        digest.update(f"{type(obj).__name__}{len(obj)}".encode())
        for item in obj:
            add_object(digest, item)
    elif isinstance(obj, torch.Tensor):
        tensor = obj.detach().cpu().contiguous()
        digest.update(f"{tensor.dtype}{tuple(tensor.shape)}".encode())
        # reshape first: a 0-d tensor (BatchNorm's step count) cannot be viewed as bytes.
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes()
                      if tensor.numel() else b"")
    else:
        digest.update(repr(obj).encode())


def output_digests(workdir: Path) -> dict[str, str]:
    """Digests of every file the run made under resources/ and results/ (but the rules'
    benchmark records, which hold run times)."""
    digests = {}
    for top in ("resources", "results"):
        for path in sorted((workdir / top).rglob("*")):
            if path.is_file() and not path.relative_to(workdir).parts[:2] == (
                    "results", "benchmarks"):
                digests[str(path.relative_to(workdir))] = content_digest(path)
    return digests


# The default multitask model's chain, from simulation to calls, metrics and a browser track:
# every kind of job (CPU and GPU rules) without the figure models, which would only make the
# cluster run longer.
SLURM_TARGETS = [
    "results/metrics/multitask/test.summary.tsv",
    "results/calls/multitask/test.crf.bed",
    "results/calls/multitask/test.threshold.bed",
    "results/tracks/multitask/JUND.K562.bigWig",
]
# A panel of the tiny configuration small enough that the cluster runs 30 jobs rather than 88
# (every kind of job is still there): two TFs of one family in one cell type.
SLURM_CONDITIONS = {("JUND", "K562"), ("JUN", "K562")}


def write_slurm_config(checkout: Path) -> str:
    """Write the tiny configuration cut to SLURM_CONDITIONS into ``checkout``; return its path.

    Training uses device auto with one GPU: the training and prediction rules request a GPU
    (the fake one of the test cluster) and fall back to the CPU inside the job, as the local
    run does, so that the outputs stay comparable.
    """
    config = yaml.safe_load((ROOT / TINY_CONFIG).read_text())
    conditions = (ROOT / config["conditions"]).read_text().splitlines()
    kept = [conditions[0]] + [
        line for line in conditions[1:] if tuple(line.split("\t")[:2]) in SLURM_CONDITIONS
    ]
    assert len(kept) == len(SLURM_CONDITIONS) + 1, f"{TINY_CONFIG} lacks {SLURM_CONDITIONS}"
    cells = {cell for _, cell in SLURM_CONDITIONS}
    features = (ROOT / config["cell_features"]).read_text().splitlines()
    features = [features[0]] + [line for line in features[1:] if line.split("\t")[0] in cells]
    (checkout / "slurm-conditions.tsv").write_text("\n".join(kept) + "\n")
    (checkout / "slurm-cell-features.tsv").write_text("\n".join(features) + "\n")
    config["conditions"] = "slurm-conditions.tsv"
    config["cell_features"] = "slurm-cell-features.tsv"
    config["motifs"] = {tf: config["motifs"][tf] for tf, _ in SLURM_CONDITIONS}
    config.pop("experiments", None)
    config["training"].update(device="auto", gpus=1)
    (checkout / "slurm-config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return "slurm-config.yaml"


def test_tiny_pipeline_on_slurm_matches_local_run(cluster, job_tables, tmp_path):
    """A tiny configuration through `snakemake --profile slurm` equals a local run."""
    if not (ROOT / TINY_CONFIG).is_file():
        cannot_run(f"{TINY_CONFIG} is missing: no tiny configuration to run")
    on_slurm = copy_repository(tmp_path / "slurm-run")
    local = copy_repository(tmp_path / "local-run")
    configs = ["--configfile", write_slurm_config(on_slurm)]
    write_slurm_config(local)

    snakemake(on_slurm, *SLURM_TARGETS, "--profile", "slurm", *configs, *FAST_POLLING)
    rows = check_routing(on_slurm, job_tables, f"{TINY_CONFIG}, 2 conditions (--profile slurm)")
    gpu_rules = {rule for rule, partition, _ in rows if partition == GPU_PARTITION}
    assert gpu_rules, (
        "the configuration trains with device auto but no job requested a GPU: "
        "training/prediction rules must declare resources gpu=<training.gpus>"
    )

    snakemake(local, *SLURM_TARGETS, "--cores", "2", *configs)
    slurm_files, local_files = output_digests(on_slurm), output_digests(local)
    assert slurm_files, "the SLURM run made no outputs"
    assert sorted(slurm_files) == sorted(local_files)
    differ = sorted(name for name in slurm_files if slurm_files[name] != local_files[name])
    assert not differ, f"outputs differ between the SLURM and the local run: {differ}"
