"""The workflow acquires a small panel from the loopback portal with real snakemake."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest
from encode_portal import (
    CONDITIONS,
    FEATURES,
    LEDGER,
    PortalServer,
    build_portal,
    check_output,
    write_project,
)

from nettime import encode

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.workflow


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "workflow" /
               "Snakefile"), "--directory", str(workdir), "--configfile",
               str(workdir / "config" / "config.yaml"), "--cores", "2", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False)


def test_workflow_downloads_small_panel_from_loopback_portal(tmp_path):
    data = tmp_path / "portal"
    md5s = build_portal(data)
    server = PortalServer(data).start()
    try:
        work = tmp_path / "work"
        write_project(work, server.url, CONDITIONS, FEATURES, relative=True)
        res = "resources/encode"
        targets = [f"{res}/genome/genome.fa", f"{res}/genome/genome.fa.fai",
                   f"{res}/genome/chrom.sizes", f"{res}/genome/blacklist.bed"]
        targets += [f"{res}/peaks/{c}.{s}.narrowPeak.gz" for c in ("JUND.K562", "JUN.K562")
                    for s in ("conserved", "relaxed")]
        targets += [f"{res}/features/K562.{a}.{e}" for a in ("DNase", "H3K27ac")
                    for e in ("narrowPeak.gz", "bigWig")]
        dry = snakemake(work, "-n", *targets)
        assert dry.returncode == 0, dry.stderr
        assert "encode_resolve" in dry.stdout and "encode_feature_signal" in dry.stdout
        server.inject("storage", "500", "drop", "429")
        server.state.retry_after = "0"
        run = snakemake(work, *targets)
        assert run.returncode == 0, run.stderr + run.stdout
        for target in targets:
            assert (work / target).stat().st_size > 0, target
        lock = encode.read_lock(work / res / "lock.tsv")
        assert {(e.key, e.role) for e in lock} >= {("JUND.K562", "conserved"),
                                                   ("K562.DNase", "signal")}
        outcomes = {}
        for entry in lock:
            raw = work / res / "downloads" / Path(entry.url).name
            outcome = check_output(raw, md5s[entry.accession])
            assert outcome == "verified" and entry.md5sum == md5s[entry.accession]
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        LEDGER.record(server, outcomes)
        with gzip.open(work / res / "peaks" / "JUND.K562.conserved.narrowPeak.gz", "rt") as fh:
            chroms = {line.split("\t")[0] for line in fh}
        assert chroms <= {"chr1", "chr2", "chr21"}
        assert (work / "logs" / "encode" / "resolve.log").exists()
        # A second run has nothing to do and asks the portal nothing.
        before = len(server.state.requests)
        storage_before = server.requests_to("storage")
        again = snakemake(work, *targets)
        assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr
        assert len(server.state.requests) == before
        # An edited sheet re-resolves (from the lock table) but redoes no finished download;
        # pinning another file for one condition redoes that file only.
        pinned = CONDITIONS.replace("experiment\tpanel", "experiment\tpanel\tconserved_file")
        pinned = pinned.replace("ENCSR000EGN\ttrain", "ENCSR000EGN\ttrain\tENCFF003AAA")
        (work / "config" / "conditions.tsv").write_text(pinned)
        edited = snakemake(work, *targets)
        assert edited.returncode == 0, edited.stderr
        jobs = edited.stdout + edited.stderr
        assert "encode_resolve" in jobs
        assert server.requests_to("storage") - storage_before == 1
        assert encode.find_entry(encode.read_lock(work / res / "lock.tsv"), "JUND.K562",
                                 "conserved").accession == "ENCFF003AAA"
    finally:
        server.stop()
