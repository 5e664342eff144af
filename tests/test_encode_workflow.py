"""The workflow acquires part of the tiny simulated panel from the loopback portal (real
snakemake, source: encode) and the acquired files equal the simulated ones."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pyBigWig
import pyfaidx
import pytest
from encode_portal import (
    CONDITIONS,
    FEATURES,
    JUND_K562,
    LEDGER,
    check_output,
    start_portal,
    write_project,
)

from nettime.sources.encode.lock import find_entry, read_lock

ROOT = Path(__file__).resolve().parent.parent
CHROMOSOMES = ("chr1", "chr2", "chr21")  # genome.chromosomes of encode_portal.write_project
# A part of the tiny panel: two cell types, TF experiments pinned and found by search.
PANEL_CONDITIONS = CONDITIONS + "FOXA1\tHepG2\t\ttrain\n"
PANEL_FEATURES = FEATURES + "HepG2\tDNase\t\nHepG2\tH3K27ac\t\n"

pytestmark = pytest.mark.workflow


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "workflow" /
               "Snakefile"), "--directory", str(workdir), "--configfile",
               str(workdir / "config" / "config.yaml"), "--cores", "2", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False)


def narrowpeak_rows(path: Path, keep: tuple[str, ...] | None = None) -> list[list[str]]:
    with gzip.open(path, "rt") as handle:
        rows = [line.rstrip("\n").split("\t") for line in handle]
    return [r for r in rows if keep is None or r[0] in keep]


def assert_acquired_equal_simulated(work: Path, sim: Path, conditions: list[str],
                                    features: list[str]) -> None:
    """Peaks: the simulated rows on the configured chromosomes, sorted by chrom/start/end;
    bigWig: the same chromosomes and intervals; genome and exclusion list: the same sequence
    and regions on the configured chromosomes."""
    res = work / "resources" / "encode"

    def by_position(row: list[str]) -> tuple[str, int, int]:
        return row[0], int(row[1]), int(row[2])

    names = [f"peaks/{c}.{s}.narrowPeak.gz" for c in conditions
             for s in ("conserved", "relaxed")]
    names += [f"features/{f}.narrowPeak.gz" for f in features]
    for name in names:
        expected = sorted(narrowpeak_rows(sim / name, CHROMOSOMES), key=by_position)
        assert expected, name
        assert narrowpeak_rows(res / name) == expected, name
    for feature in features:
        got = pyBigWig.open(str(res / "features" / f"{feature}.bigWig"))
        want = pyBigWig.open(str(sim / "features" / f"{feature}.bigWig"))
        assert got.chroms() == want.chroms()
        for chrom in CHROMOSOMES:
            assert got.intervals(chrom) == want.intervals(chrom), (feature, chrom)
        got.close()
        want.close()
    got_fa = pyfaidx.Fasta(str(res / "genome" / "genome.fa"), rebuild=False)
    want_fa = pyfaidx.Fasta(str(sim / "genome" / "genome.fa"))
    assert list(got_fa.keys()) == list(CHROMOSOMES)
    for chrom in CHROMOSOMES:
        assert str(got_fa[chrom][:]) == str(want_fa[chrom][:]), chrom
    sizes = dict(line.split("\t") for line in (sim / "genome/chrom.sizes").read_text().splitlines())
    assert (res / "genome" / "chrom.sizes").read_text() == "".join(
        f"{c}\t{sizes[c]}\n" for c in CHROMOSOMES)
    blacklist = sorted((c, int(a), int(b)) for c, a, b, *_ in (
        line.split("\t") for line in (sim / "genome/blacklist.bed").read_text().splitlines())
        if c in CHROMOSOMES)
    assert blacklist == [(c, int(a), int(b)) for c, a, b in (
        line.split("\t") for line in (res / "genome/blacklist.bed").read_text().splitlines())]


def test_workflow_downloads_small_panel_from_loopback_portal(simulated_portal, tmp_path):
    server = start_portal(simulated_portal)
    md5s = server.md5s()
    try:
        work = tmp_path / "work"
        write_project(work, server.url, PANEL_CONDITIONS, PANEL_FEATURES, relative=True)
        res = "resources/encode"
        conditions = ["JUND.K562", "JUN.K562", "FOXA1.HepG2"]
        features = ["K562.DNase", "K562.H3K27ac", "HepG2.DNase", "HepG2.H3K27ac"]
        targets = [f"{res}/genome/genome.fa", f"{res}/genome/genome.fa.fai",
                   f"{res}/genome/chrom.sizes", f"{res}/genome/blacklist.bed"]
        targets += [f"{res}/peaks/{c}.{s}.narrowPeak.gz" for c in conditions
                    for s in ("conserved", "relaxed")]
        targets += [f"{res}/features/{f}.{e}" for f in features
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
        lock = read_lock(work / res / "lock.tsv")
        assert {(e.key, e.role) for e in lock} >= {("JUND.K562", "conserved"),
                                                   ("K562.DNase", "signal")}
        outcomes = {}
        for entry in lock:
            raw = work / res / "downloads" / Path(entry.url).name
            outcome = check_output(raw, md5s[entry.accession])
            assert outcome == "verified" and entry.md5sum == md5s[entry.accession]
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        LEDGER.record(server, outcomes)
        assert len(lock) == 2 + 2 * len(conditions) + 2 * len(features)
        assert_acquired_equal_simulated(work, simulated_portal, conditions, features)
        assert (work / "logs" / "encode" / "resolve.log").exists()
        # A second run has nothing to do and asks the portal nothing.
        before = len(server.state.requests)
        storage_before = server.requests_to("storage")
        again = snakemake(work, *targets)
        assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr
        assert len(server.state.requests) == before
        # An edited sheet re-resolves (from the lock table) but redoes no finished download;
        # pinning another file for one condition redoes that file only.
        pinned = PANEL_CONDITIONS.replace("experiment\tpanel",
                                          "experiment\tpanel\tconserved_file")
        pinned = pinned.replace(f"{JUND_K562}\ttrain", f"{JUND_K562}\ttrain\tENCFF003AAA")
        (work / "config" / "conditions.tsv").write_text(pinned)
        edited = snakemake(work, *targets)
        assert edited.returncode == 0, edited.stderr
        jobs = edited.stdout + edited.stderr
        assert "encode_resolve" in jobs
        assert server.requests_to("storage") - storage_before == 1
        assert find_entry(read_lock(work / res / "lock.tsv"), "JUND.K562",
                                 "conserved").accession == "ENCFF003AAA"
    finally:
        server.stop()
