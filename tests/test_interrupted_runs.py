"""Kill anywhere: the tiny configuration's workflow, killed with SIGKILL (its whole process group:
Snakemake and every running job) at 10 seeded random moments spread over the run, and restarted
each time with the same command, finishes with the outputs of an uninterrupted run.

The run is the part of the tiny workflow that Fig 7 needs, which passes through every kind of
step: the simulated data set, the data set's HDF5 tracks, training (with its resumable
checkpoints), prediction, thresholds, the CRF, calls, metrics and the figure. The moments are
spread over the run by the step they fall in: one while Snakemake parses the workflow, then one
inside a job of each of nine rules in the order they run (the simulated world, a condition, the
signal tracks, the labels, training twice, prediction, the CRF, the figure), each at a random
point of that job's duration in the uninterrupted run (the shortest job of the rule, by its
benchmark file, halved: parallel tests load the machine unevenly, and a job that runs twice as fast
in the killed run must still be inside its work when the kill comes); the second kill in training
falls just
after its first resumable checkpoint, so that the rerun resumes it. After a kill the restart is what
the README says: ``snakemake --unlock`` (the killed run's lock is stale), then the same command,
which carries ``--rerun-incomplete`` (a job killed between writing two of its outputs leaves
complete files that Snakemake marked incomplete).

"The same outputs" means the numbers of the figure and metric tables and every data set of every
HDF5 file under results/ (not file bytes: files record when they were made).
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from helpers import copy_checkout

CONFIG = "config/tiny/config.yaml"
TARGETS = ["results/figures/fig7_crf.pdf"]
COMMAND = ["--cores", "2", "--rerun-incomplete", *TARGETS, "--configfile", CONFIG]
SEED = 20221
TABLES = ["results/figures/fig7_crf.tsv", "results/metrics/multitask/test.tsv",
          "results/classify/multitask/thresholds.tsv"]
#: A kill during training after its first resumable checkpoint (up to a second after it).
CHECKPOINT = (-1.0, 0.0)
CHECKPOINT_FILE = "results/models/multitask/checkpoint.pt"
#: Where the kills fall: (rule, part of its job's duration) in the order the rules run; None is
#: Snakemake parsing the workflow (seconds after the start).
SCHEDULE: list[tuple[str | None, tuple[float, float]]] = [
    (None, (0.5, 4.0)), ("simulate_world", (0.2, 0.9)), ("simulate_condition", (0.2, 0.9)),
    ("signal_tracks", (0.3, 0.9)), ("labels", (0.3, 0.9)), ("train_model", (0.3, 0.7)),
    ("train_model", CHECKPOINT), ("predict", (0.3, 0.9)), ("train_crf", (0.2, 0.9)),
    ("figure_fig7_crf", (0.2, 0.9))]
KILLS = len(SCHEDULE)

pytestmark = [pytest.mark.workflow, pytest.mark.slow]


def start(cwd: Path, *args: str, log: Path) -> subprocess.Popen:
    """Snakemake in its own process group (so that one signal reaches every job)."""
    env = {**os.environ, "PYTHONPATH": str(cwd / "src")}
    with open(log, "w") as out:
        return subprocess.Popen([sys.executable, "-m", "snakemake", *args], cwd=cwd, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def run(cwd: Path, *args: str, log: Path, timeout: float = 600) -> int:
    proc = start(cwd, *args, log=log)
    try:
        return proc.wait(timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the process group and wait until none of it is left."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError(f"process group {proc.pid} survived SIGKILL")


JOB = re.compile(r"^\[(\w{3} \w{3} +\d+ [\d:]+ \d{4})\]\n(?:local)?rule (\w+):\n(?:[^\n]*\n)*?"
                 r"\s+jobid: (\d+)", re.MULTILINE)
FINISHED = re.compile(r"^\[(\w{3} \w{3} +\d+ [\d:]+ \d{4})\]\nFinished jobid: (\d+)",
                      re.MULTILINE)


def jobs(log: Path) -> tuple[dict[str, tuple[str, float]], dict[str, float]]:
    """Job id -> (rule, start time) of every job a Snakemake log shows starting, and job id ->
    finish time of those it shows finishing (seconds, from the log's time stamps)."""
    text = log.read_text(errors="replace") if log.exists() else ""

    def seconds(stamp: str) -> float:
        return time.mktime(time.strptime(" ".join(stamp.split()), "%a %b %d %H:%M:%S %Y"))
    started = {job: (rule, seconds(stamp)) for stamp, rule, job in JOB.findall(text)}
    finished = {job: seconds(stamp) for stamp, job in FINISHED.findall(text)}
    return started, finished


BENCHMARK = re.compile(r"^(?:local)?rule (\w+):\n(?:[^\n]*\n)*?\s+benchmark: (\S+)$",
                       re.MULTILINE)
#: The part of a job's duration in the uninterrupted run that it is sure to take again.
SURE = 0.5


def durations(log: Path, root: Path) -> dict[str, float]:
    """Rule -> the shortest wall time of its jobs in a finished run, from their benchmark files
    (seconds, to 10 ms; the log's time stamps have whole seconds)."""
    shortest: dict[str, float] = {}
    for rule, benchmark in BENCHMARK.findall(log.read_text(errors="replace")):
        seconds = float(pd.read_csv(root / benchmark, sep="\t")["s"].iloc[0])
        shortest[rule] = min(seconds, shortest.get(rule, seconds))
    return shortest


def running(log: Path) -> list[str]:
    """Rules whose jobs had started and not finished when the log ended."""
    started, finished = jobs(log)
    return sorted({rule for job, (rule, _) in started.items() if job not in finished})


def outputs(root: Path) -> tuple[dict[str, pd.DataFrame], dict[str, dict[str, np.ndarray]]]:
    tables = {name: pd.read_csv(root / name, sep="\t") for name in TABLES}
    data = {}
    for path in sorted((root / "results").rglob("*.h5")):
        with h5py.File(path, "r") as handle:
            data[str(path.relative_to(root))] = datasets(handle)
    return tables, data


def datasets(handle: h5py.File) -> dict[str, np.ndarray]:
    names: list[str] = []
    handle.visititems(lambda name, item: names.append(name)
                      if isinstance(item, h5py.Dataset) else None)
    return {name: handle[name][()] for name in names}


def test_killed_anywhere_and_restarted_the_outputs_are_an_uninterrupted_runs(tmp_path):
    began = time.time()
    reference, work = tmp_path / "reference", tmp_path / "killed"
    for folder in (reference, work):
        folder.mkdir()
        copy_checkout(folder)

    # The uninterrupted run: its time and its jobs, to spread the kills over.
    t0 = time.time()
    assert run(reference, *COMMAND, log=tmp_path / "reference.log") == 0, \
        (tmp_path / "reference.log").read_text()[-3000:]
    elapsed = time.time() - t0

    rng = random.Random(SEED)
    took = durations(tmp_path / "reference.log", reference)
    order = [rule for rule, _ in SCHEDULE if rule is not None]
    kills: list[tuple[str, list[str]]] = []
    for attempt, (rule, (low, high)) in enumerate(SCHEDULE, start=1):
        log = tmp_path / f"run{attempt}.log"
        if attempt > 1:
            assert run(work, "--unlock", *COMMAND, log=tmp_path / f"unlock{attempt}.log") == 0
        proc = start(work, *COMMAND, log=log)
        wait, begun = rng.uniform(low, high), []
        if rule is not None:
            # The first job of this rule, or of a later one, that this run starts.
            later = set(order[order.index(rule):])
            while proc.poll() is None:
                begun = [r for r, _ in jobs(log)[0].values() if r in later]
                if begun:
                    break
                time.sleep(0.05)
            if (low, high) == CHECKPOINT:
                # Once this job has written a checkpoint: the rerun resumes from it.
                since = time.time()
                wait = rng.uniform(0.0, 1.0)
                while proc.poll() is None and not (
                        (work / CHECKPOINT_FILE).exists()
                        and (work / CHECKPOINT_FILE).stat().st_mtime >= since - 1.0):
                    time.sleep(0.02)
            elif begun:
                wait *= SURE * took.get(begun[0], 1.0)
        deadline = time.time() + wait
        while proc.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        if proc.poll() is not None:  # finished before this moment came
            assert proc.returncode == 0, log.read_text()[-3000:]
            break
        kill_group(proc)
        kills.append((rule or "parsing", running(log)))
    # The last restart runs to the end.
    assert run(work, "--unlock", *COMMAND, log=tmp_path / "unlock_final.log") == 0
    final = tmp_path / "final.log"
    assert run(work, *COMMAND, log=final) == 0, final.read_text()[-3000:]

    print(f"\nuninterrupted run: {elapsed:.0f} s; killed {len(kills)} times:")
    for aim, rules in kills:
        print(f"  aimed at {aim}, killed inside: {', '.join(rules) or 'parsing'}")
    print(f"whole test: {time.time() - began:.0f} s")
    assert len(kills) == KILLS
    assert sum(1 for _, rules in kills if rules) >= KILLS - 2  # inside jobs, but the parse

    expected_tables, expected_data = outputs(reference)
    got_tables, got_data = outputs(work)
    for name, table in expected_tables.items():
        pd.testing.assert_frame_equal(got_tables[name], table, check_exact=False, rtol=0,
                                      atol=1e-9, obj=name)
    assert sorted(got_data) == sorted(expected_data)
    for name, arrays in expected_data.items():
        assert sorted(got_data[name]) == sorted(arrays), name
        for key, value in arrays.items():
            value = np.asarray(value)
            assert np.array_equal(np.asarray(got_data[name][key]), value,
                                  equal_nan=value.dtype.kind == "f"), f"{name}:{key}"
