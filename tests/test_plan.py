"""The run plan (nettime.plan): the jobs of a dry run, and the arithmetic of their hours."""

import copy
import re
import subprocess
import sys

import pytest

from nettime.config import load_project
from nettime.paper.figures import model_registry
from nettime.plan import (
    CPU_RATES,
    SMALL_JOB_SECONDS,
    Job,
    Rate,
    dry_run_jobs,
    parse_jobs,
    plan_table,
)

DRY_RUN = """
[Wed Dec  2 10:00:00 2026]
rule train_model:
    input: results/data/train/examples.h5
    output: results/models/m/model.pt
    wildcards: model=m
    resources: tmpdir=/tmp, gpu=1, runtime=30, mem_mb=2000, mem=2 GB, mem_mib=1908

[Wed Dec  2 10:00:00 2026]
rule predict:
    output: results/predictions/m/test.h5
    wildcards: model=m, split=test
    resources: tmpdir=/tmp, gpu=1, mem_mb=3000

[Wed Dec  2 10:00:00 2026]
localrule all:
    input: a
"""


def test_dry_run_blocks_become_jobs_with_wildcards_and_resources():
    jobs = parse_jobs(DRY_RUN)
    assert [j.rule for j in jobs] == ["train_model", "predict", "all"]
    assert jobs[0].wildcards == {"model": "m"}
    assert jobs[0].resources["gpu"] == "1" and jobs[1].resources["mem_mb"] == "3000"
    assert jobs[1].wildcards == {"model": "m", "split": "test"}


@pytest.fixture(scope="module")
def models():
    project = load_project("config/tiny/config.yaml")
    return model_registry(copy.deepcopy(project))


def test_hours_follow_samples_and_rates(models):
    examples = {"train": 1000, "valid": 100, "test": 200}
    spec = models["multitask"]
    jobs = [Job("train_model", {"model": "multitask"}, {"gpu": "1", "mem_mb": "2000"}),
            Job("predict", {"model": "multitask", "split": "test"}, {"gpu": "1"}),
            Job("figure_x")]
    table = plan_table(jobs, models, examples).set_index("rule")
    samples = spec.budget["steps"] * spec.budget["batch_size"]
    assert table.loc["train_model", "hours"] == pytest.approx(
        samples / CPU_RATES["nettime_train"].per_second / 3600)
    predicted = 200 * len(spec.predict)
    assert table.loc["predict", "hours"] == pytest.approx(
        predicted / CPU_RATES["nettime_predict"].per_second / 3600)
    assert table.loc["predict", "disk_gb"] == pytest.approx(predicted * 2000 / 1e9)
    assert table.loc["figure_x", "hours"] == pytest.approx(SMALL_JOB_SECONDS / 3600)
    assert table.loc["train_model", "device"] == "gpu"
    assert "no GPU rate given" in table.loc["train_model", "source"]
    # A GPU rate given replaces the CPU rate of GPU jobs.
    fast = plan_table(jobs, models, examples, {"train": Rate(1000.0, "given")}).set_index("rule")
    assert fast.loc["train_model", "hours"] == pytest.approx(samples / 1000.0 / 3600)


@pytest.mark.slow
def test_the_plan_has_the_jobs_of_snakemakes_own_dry_run():
    jobs = dry_run_jobs("config/tiny/config.yaml")
    run = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--forceall",
                          "--configfile", "config/tiny/config.yaml"],
                         capture_output=True, text=True, check=True)
    total = int(re.search(r"^total\s+(\d+)", run.stdout + run.stderr, flags=re.M).group(1))
    assert len(jobs) == total
