"""ENCODE portal client against a loopback portal that injects faults (no real host is used)."""

from __future__ import annotations

import gzip
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyBigWig
import pytest
from encode_portal import (
    CONDITIONS,
    FAULT_KINDS,
    FEATURES,
    H3K27AC_K562,
    JUND_K562,
    LEDGER,
    PortalServer,
    check_output,
    start_portal,
    write_project,
)

from nettime.config import load_project
from nettime.sources.encode.acquired import target_paths, write_genome, write_narrowpeak
from nettime.sources.encode.client import PortalClient, RateLimiter, retry_after_seconds
from nettime.sources.encode.lock import LockEntry, Wanted, find_entry, read_lock, write_lock
from nettime.sources.encode.project import acquire, resolve_project
from nettime.sources.encode.selection import resolve_wanted
from nettime.sources.encode.settings import (
    ChecksumError,
    DownloadError,
    EncodeError,
    ResolutionError,
    Settings,
)

ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="session", autouse=True)
def fault_report(request):
    yield
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print("\n" + LEDGER.report())


@pytest.fixture
def portal(simulated_portal):
    server = start_portal(simulated_portal)
    yield server
    server.stop()


# Simulated files the tests download (paths relative to the simulated data set).
DNASE_PEAKS = "features/K562.DNase.narrowPeak.gz"
DNASE_SIGNAL = "features/K562.DNase.bigWig"
H3K27AC_PEAKS = "features/K562.H3K27ac.narrowPeak.gz"
H3K27AC_SIGNAL = "features/K562.H3K27ac.bigWig"
JUND_CONSERVED = "peaks/JUND.K562.conserved.narrowPeak.gz"
JUND_RELAXED = "peaks/JUND.K562.relaxed.narrowPeak.gz"


class Sleeps(list):
    """Records the waits the client asks for and waits only a token time."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        time.sleep(min(seconds, 0.002))


def fast_settings(portal: PortalServer, **overrides) -> Settings:
    values = dict(portal=portal.url, requests_per_second=1000, retries=4, backoff=0.01,
                  max_wait=30, connect_timeout=2, read_timeout=0.5, chunk_size=512,
                  sleep=Sleeps())
    values.update(overrides)
    return Settings(**values)


def file_info(portal: PortalServer, accession: str) -> tuple[str, str, int]:
    """URL, md5 and size of a file given by accession or by simulated path."""
    if "/" in accession:
        accession = portal.accession_of(accession)
    obj = portal.state.files[accession]["object"]
    return portal.url + obj["href"], obj["md5sum"], int(obj["file_size"])


# --------------------------------------------------------------------------------------------
# downloads with faults


def test_clean_download_is_verified_and_polite(portal, tmp_path):
    accession = portal.accession_of(DNASE_SIGNAL)
    url, md5, size = file_info(portal, accession)
    client = PortalClient(fast_settings(portal))
    dest = client.download(url, tmp_path / "x.bigWig", md5, size, accession)
    assert check_output(dest, md5) == "verified"
    assert portal.served(accession) == size
    assert not list(tmp_path.glob(".*.part"))
    assert any(ua.startswith("nettime/") for ua in portal.state.user_agents)


@pytest.mark.parametrize("path", [DNASE_PEAKS, H3K27AC_SIGNAL], ids=["peaks", "bigWig"])
@pytest.mark.parametrize("endpoint", ["redirect", "storage"])
@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_fault_then_verified_download(portal, tmp_path, kind, endpoint, path):
    accession = portal.accession_of(path)
    url, md5, size = file_info(portal, accession)
    settings = fast_settings(portal)
    portal.inject(endpoint, kind, kind)
    dest = tmp_path / accession
    PortalClient(settings).download(url, dest, md5, size, accession)
    outcome = check_output(dest, md5)
    assert outcome == "verified"
    assert len(portal.state.injected) == 2
    # Bounded (two faults cost two extra round trips; a loaded machine may add a timeout).
    assert 1 <= portal.requests_to("redirect") <= 3 + settings.retries
    if kind == "429":
        assert settings.sleep.count(3.0) == 2  # Retry-After honoured
    if endpoint == "storage" and kind in ("drop", "truncate"):
        # Resumed: the later requests asked for the rest only, so about one file's worth of
        # bytes was served (starting again twice would serve about twice the file).
        starts = [s for a, s in portal.state.range_starts if a == accession]
        assert starts[0] == 0 and all(s > 0 for s in starts[1:]) and starts == sorted(starts)
        assert size <= portal.served(accession) < 1.25 * size
    LEDGER.record(portal, {outcome: 1})


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_json_fault_then_answer_and_cache(portal, tmp_path, kind):
    portal.inject("json", kind)
    client = PortalClient(fast_settings(portal), cache_dir=tmp_path / "cache")
    exp = client.experiment(JUND_K562)
    assert exp["accession"] == JUND_K562 and len(exp["files"]) == 5
    before = portal.requests_to("json")
    assert 2 <= before <= 1 + client.settings.retries
    again = PortalClient(fast_settings(portal), cache_dir=tmp_path / "cache")
    assert again.experiment(JUND_K562) == exp
    assert portal.requests_to("json") == before  # answered from the disk cache
    LEDGER.record(portal, {"json answered": 1})


def test_retries_are_bounded(portal, tmp_path):
    accession = portal.accession_of(JUND_RELAXED)
    url, md5, size = file_info(portal, accession)
    settings = fast_settings(portal, retries=3)
    portal.inject("storage", *["500"] * 10)
    with pytest.raises(DownloadError, match=f"{accession}.*gave up after 4"):
        PortalClient(settings).download(url, tmp_path / "f", md5, size, accession)
    assert portal.requests_to("storage") == 4
    assert check_output(tmp_path / "f", md5) == "absent"
    # Exponential backoff between the attempts.
    assert len(settings.sleep) == 3
    assert settings.sleep[0] < settings.sleep[1] < settings.sleep[2]
    portal.clear()
    LEDGER.record(portal, {"absent (retries exhausted)": 1})


def test_wrong_md5_is_an_error_naming_the_accession(portal, tmp_path):
    accession = portal.accession_of(H3K27AC_PEAKS)
    portal.state.wrong_md5.add(accession)
    client = PortalClient(fast_settings(portal))
    obj = client.file_object(accession)
    _, true_md5, size = file_info(portal, accession)
    dest = tmp_path / "peaks.bed.gz"
    with pytest.raises(ChecksumError, match=accession):
        client.download(portal.url + obj["href"], dest, obj["md5sum"], size, accession)
    assert check_output(dest, true_md5) == "absent"
    assert not list(tmp_path.glob(".*.part"))
    # One fresh download after the first mismatch (md5_retries = 1), then the error.
    assert portal.served(accession) == 2 * size
    LEDGER.faults["wrong md5"] += 1
    LEDGER.record(portal, {"absent (md5 mismatch)": 1})


def test_resume_reuses_bytes_on_disk(portal, tmp_path):
    url, md5, size = file_info(portal, "ENCFF555SGB")
    data = portal.path_of("ENCFF555SGB").read_bytes()
    assert size > 200_000  # a simulated bigWig: hundreds of 512-byte chunks
    dest = tmp_path / "s.bigWig"
    part = tmp_path / ".s.bigWig.part"
    part.write_bytes(data[: size // 3])
    PortalClient(fast_settings(portal)).download(url, dest, md5, size, "ENCFF555SGB")
    assert check_output(dest, md5) == "verified"
    assert portal.served("ENCFF555SGB") == size - size // 3
    assert portal.state.range_starts == [("ENCFF555SGB", size // 3)]


def test_misplaced_range_is_refused(portal, tmp_path):
    accession = portal.accession_of(DNASE_SIGNAL)
    url, md5, size = file_info(portal, accession)
    portal.inject("storage", "badrange", "drop", "badrange")
    dest = tmp_path / "s.bigWig"
    PortalClient(fast_settings(portal)).download(url, dest, md5, size, accession)
    outcome = check_output(dest, md5)
    assert outcome == "verified"
    LEDGER.record(portal, {outcome: 1})


def test_corrupt_partial_file_is_replaced(portal, tmp_path):
    accession = portal.accession_of(DNASE_PEAKS)
    url, md5, size = file_info(portal, accession)
    dest = tmp_path / "p.bed.gz"
    (tmp_path / ".p.bed.gz.part").write_bytes(b"x" * size)  # complete length, wrong bytes
    PortalClient(fast_settings(portal)).download(url, dest, md5, size, accession)
    assert check_output(dest, md5) == "verified"


def test_two_concurrent_downloads_of_one_file_write_one_part(portal, tmp_path):
    """Two jobs resolving to the same accession: one downloads, the other waits on the lock
    beside the file and finds it verified (one transfer, never two writers of one .part)."""
    url, md5, size = file_info(portal, "ENCFF555SGB")
    portal.state.throttle = 0.0005  # 256 bytes per 0.5 ms: a transfer of about a second
    dest = tmp_path / "downloads" / "s.bigWig"
    results: dict[int, object] = {}

    def run(index: int) -> None:
        try:
            results[index] = PortalClient(fast_settings(portal)).download(
                url, dest, md5, size, f"writer {index}")
        except Exception as error:  # reported by the assertion below
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    portal.state.throttle = 0.0
    assert results == {0: dest, 1: dest}
    assert check_output(dest, md5) == "verified"
    assert portal.served("ENCFF555SGB") == size
    assert portal.requests_to("storage") == 1
    assert not list(dest.parent.glob(".*.part"))
    LEDGER.faults["concurrent writer"] += 1
    LEDGER.record(portal, {"verified": 1})


def test_two_processes_downloading_one_file_take_turns(portal, tmp_path):
    """The same with two processes (two workflow jobs): the lock is the file system's."""
    url, md5, size = file_info(portal, "ENCFF555SGB")
    portal.state.throttle = 0.0005
    dest = tmp_path / "s.bigWig"
    code = ("import sys; from nettime.sources.encode.client import PortalClient; "
            "from nettime.sources.encode.settings import Settings; "
            "PortalClient(Settings(portal=sys.argv[1], requests_per_second=1000, "
            "chunk_size=512)).download(sys.argv[1] + sys.argv[2], sys.argv[3], sys.argv[4], "
            "int(sys.argv[5]), 'job')")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    args = [portal.url, url.removeprefix(portal.url), str(dest), md5, str(size)]
    jobs = [subprocess.Popen([sys.executable, "-c", code, *args], env=env,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]
    errors = [job.communicate(timeout=120)[1] for job in jobs]
    portal.state.throttle = 0.0
    assert [job.returncode for job in jobs] == [0, 0], errors
    assert check_output(dest, md5) == "verified"
    assert portal.served("ENCFF555SGB") == size
    LEDGER.faults["concurrent writer"] += 1
    LEDGER.record(portal, {"verified": 1})


@pytest.mark.parametrize("kind", ["416", "ignore_range"])
def test_a_refused_or_ignored_resume_starts_again(portal, tmp_path, kind):
    """416 to a resumed request, or a 200 with the whole file (Range ignored): the bytes on
    disk are not trusted to fit, and the file is downloaded from its first byte."""
    url, md5, size = file_info(portal, "ENCFF555SGB")
    data = portal.path_of("ENCFF555SGB").read_bytes()
    dest = tmp_path / "s.bigWig"
    (tmp_path / ".s.bigWig.part").write_bytes(data[: size // 3])
    portal.inject("storage", kind)
    PortalClient(fast_settings(portal)).download(url, dest, md5, size, "ENCFF555SGB")
    outcome = check_output(dest, md5)
    assert outcome == "verified"
    # 416: refused, then the whole file asked for afresh; ignore_range: the whole file in the
    # answer to the resumed request. Either way one file's worth of bytes, from byte 0.
    assert [start for _, start in portal.state.range_starts] == [0]
    assert portal.served("ENCFF555SGB") == size
    LEDGER.record(portal, {outcome: 1})


def test_more_bytes_than_the_file_are_discarded(portal, tmp_path):
    accession = portal.accession_of(DNASE_PEAKS)
    url, md5, size = file_info(portal, accession)
    dest = tmp_path / "p.bed.gz"
    portal.inject("storage", "oversize")
    PortalClient(fast_settings(portal)).download(url, dest, md5, size, accession)
    outcome = check_output(dest, md5)
    assert outcome == "verified"
    LEDGER.record(portal, {outcome: 1})
    # A server that always sends too much: a clear error, and no file under either name.
    portal.inject("storage", *["oversize"] * 10)
    other = tmp_path / "q.bed.gz"
    with pytest.raises(DownloadError, match=f"{accession}: gave up.*more than the {size} bytes"):
        PortalClient(fast_settings(portal, retries=2)).download(url, other, md5, size, accession)
    assert check_output(other, md5) == "absent"
    assert not (tmp_path / ".q.bed.gz.part").exists()
    portal.clear()
    LEDGER.record(portal, {"absent (server sends too much)": 1})


def test_storm_of_random_faults_leaves_no_corrupt_output(portal, tmp_path):
    md5s = portal.md5s()
    kinds = ("500", "503", "429", "drop", "truncate", "drop", "truncate", "slow")
    portal.state.retry_after = "0"
    portal.random_faults(0.45, kinds, seed=11)
    injected = 0
    rounds = 0
    outcomes: dict[str, int] = {}
    while injected < 60 and rounds < 12:
        rounds += 1
        work = tmp_path / f"round{rounds}"
        config = write_project(work, portal.url, CONDITIONS, FEATURES, {"retries": 12})
        project = load_project(config)
        resources = work / "resources" / "encode"
        entries = resolve_project(project, resources)
        for entry in entries:
            acquire(project, entry.key, entry.role, resources)
            raw = resources / "downloads" / Path(entry.url).name
            outcome = check_output(raw, md5s[entry.accession])
            assert outcome == "verified"
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            for path in target_paths(resources, entry.key, entry.role):
                assert path.exists()
        assert not list(resources.rglob(".*.part")) and not list(resources.rglob("*.tmp"))
        injected += len(portal.state.injected)
        LEDGER.record(portal, outcomes)
        outcomes = {}
    print(f"storm: {injected} faults injected over {rounds} round(s)")
    assert injected >= 50


def test_killed_download_process_restarted_finishes(portal, simulated_portal, tmp_path):
    config = write_project(tmp_path, portal.url, CONDITIONS, FEATURES)
    project = load_project(config)
    resources = tmp_path / "resources" / "encode"
    resolve_project(project, resources)
    entry = find_entry(read_lock(resources / "lock.tsv"), "genome", "genome")
    portal.state.throttle = 0.01  # 256 bytes per 10 ms: the transfer takes seconds
    command = [sys.executable, "-m", "nettime.cli", "encode", "download", "--config",
               str(config), "--resources", str(resources), "--key", "genome", "--role",
               "genome"]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    part = resources / "downloads" / f".{Path(entry.url).name}.part"
    deadline = time.time() + 30
    while time.time() < deadline and (not part.exists() or part.stat().st_size < 4096):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    kept = part.stat().st_size
    assert 0 < kept < entry.file_size
    genome = resources / "genome" / "genome.fa"
    assert not genome.exists() and not (resources / "downloads" / Path(entry.url).name).exists()
    # Let the server's handler for the dead client notice and stop counting bytes.
    served_before = -1
    while served_before != portal.served(entry.accession):
        served_before = portal.served(entry.accession)
        time.sleep(0.2)
    portal.state.throttle = 0.0
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert portal.served(entry.accession) - served_before == entry.file_size - kept
    lengths = dict(line.split("\t") for line in
                   (resources / "genome" / "chrom.sizes").read_text().splitlines())
    simulated = dict(line.split("\t") for line in
                     (simulated_portal / "genome" / "chrom.sizes").read_text().splitlines())
    assert lengths == {c: simulated[c] for c in ("chr1", "chr2", "chr21")}
    LEDGER.faults["killed process"] += 1
    LEDGER.record(portal, {"verified": 1})


# --------------------------------------------------------------------------------------------
# resolution


def wanted_tf(tf: str, cell: str, experiment: str = "") -> Wanted:
    return Wanted(key=f"{tf}.{cell}", kind="tf", roles=("conserved", "relaxed"), target=tf,
                  cell_type=cell, experiment=experiment, where="conditions.tsv:2")


def test_pinned_experiment_selects_released_grch38_idr_sets(portal):
    entries = resolve_wanted(PortalClient(fast_settings(portal)),
                                    wanted_tf("JUND", "K562", JUND_K562))
    conserved = portal.accession_of(JUND_CONSERVED)
    assert [(e.role, e.accession) for e in entries] == [
        ("conserved", conserved), ("relaxed", portal.accession_of(JUND_RELAXED))]
    assert entries[0].output_type == "conservative IDR thresholded peaks"
    assert entries[0].url == f"{portal.url}/files/{conserved}/@@download/{conserved}.bed.gz"


def test_search_chooses_deterministically_and_reports(portal):
    entries = resolve_wanted(PortalClient(fast_settings(portal)),
                                    wanted_tf("JUN", "HeLa-S3"))
    # ENCSR222BBB comes first but has no GRCh38 relaxed set; ENCSR333CCC has the older IDR set:
    # the fallback output type, the file pooling both replicates.
    assert {e.experiment for e in entries} == {"ENCSR333CCC"}
    assert [e.accession for e in entries] == ["ENCFF333BBB", "ENCFF333BBB"]
    note = entries[0].note
    assert "ENCSR222BBB, ENCSR333CCC" in note and "chose ENCSR333CCC" in note


def test_search_without_match_names_tf_and_cell_type(portal):
    with pytest.raises(ResolutionError, match="TF NOSUCH in cell type K562"):
        resolve_wanted(PortalClient(fast_settings(portal)), wanted_tf("NOSUCH", "K562"))


def test_no_qualifying_file_lists_the_candidates(portal):
    settings = fast_settings(portal, assembly="hg19")
    with pytest.raises(ResolutionError) as info:
        resolve_wanted(PortalClient(settings), wanted_tf("JUND", "K562", JUND_K562))
    message = str(info.value)
    assert "relaxed" in message and JUND_K562 in message
    for accession in (portal.accession_of(JUND_CONSERVED), portal.accession_of(JUND_RELAXED),
                      "ENCFF003AAA"):
        assert accession in message


def test_histone_and_dnase_rules(portal):
    client = PortalClient(fast_settings(portal))
    histone = resolve_wanted(client, Wanted("K562.H3K27ac", "H3K27ac", ("peaks", "signal"),
                                                   "H3K27ac", "K562", H3K27AC_K562))
    assert [e.accession for e in histone] == [portal.accession_of(p)
                                              for p in (H3K27AC_PEAKS, H3K27AC_SIGNAL)]
    dnase = resolve_wanted(client, Wanted("K562.DNase", "DNase", ("peaks", "signal"),
                                                 "DNase", "K562"))
    assert [e.accession for e in dnase] == [portal.accession_of(p)
                                            for p in (DNASE_PEAKS, DNASE_SIGNAL)]
    assert dnase[1].output_type == "read-depth normalized signal"


def test_lock_table_makes_reruns_reproducible(portal, tmp_path):
    config = write_project(tmp_path, portal.url, CONDITIONS, FEATURES)
    project = load_project(config)
    resources = tmp_path / "res"
    first = resolve_project(project, resources)
    lock = read_lock(resources / "lock.tsv")
    assert {(e.key, e.role) for e in lock} == {(e.key, e.role) for e in first}
    assert len(lock) == 2 + 2 * 2 + 2 * 2
    # Without the cache and with a lock table, a rerun asks the portal nothing.
    (resources / "cache").rename(resources / "cache.old")
    before = len(portal.state.requests)
    assert resolve_project(project, resources) == first
    assert len(portal.state.requests) == before
    # Pinning another file changes that entry only and removes its stale acquired file.
    stale = target_paths(resources, "JUND.K562", "conserved")[0]
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_bytes(b"old")
    pinned = CONDITIONS.replace("tf\tcell_type\texperiment\tpanel",
                                "tf\tcell_type\texperiment\tpanel\tconserved_file").replace(
        f"{JUND_K562}\ttrain", f"{JUND_K562}\ttrain\tENCFF003AAA")
    (tmp_path / "config" / "conditions.tsv").write_text(pinned)
    project = load_project(config)
    second = resolve_project(project, resources)
    changed = [(a.key, a.role) for a, b in zip(first, second, strict=True) if a != b]
    assert changed == [("JUND.K562", "conserved")]
    assert not stale.exists()
    # Refresh resolves everything again.
    before = len(portal.state.requests)
    resolve_project(project, resources, refresh=True)
    assert len(portal.state.requests) > before


def test_lock_table_errors_name_file_and_line(tmp_path):
    path = tmp_path / "lock.tsv"
    write_lock(path, [LockEntry("a", "b", "", "ENCFF000AAA", "", "GRCh38", "0" * 32, 5,
                                       "http://x/files/ENCFF000AAA/@@download/a.bed.gz", "d")])
    path.write_text(path.read_text().replace("\t5\t", "\tfive\t"))
    with pytest.raises(EncodeError, match=r"lock.tsv:2: column 'file_size'"):
        read_lock(path)


def test_mirror_rebases_locked_urls(portal):
    client = PortalClient(fast_settings(portal))
    assert client.rebase("https://www.encodeproject.org/files/ENCFF1/@@download/ENCFF1.bed.gz") \
        == f"{portal.url}/files/ENCFF1/@@download/ENCFF1.bed.gz"


def test_retry_after_parsing():
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


# --------------------------------------------------------------------------------------------
# acquired files


def test_genome_is_rewrapped_indexed_and_filtered(simulated_portal, tmp_path):
    import pyfaidx

    # The simulated genome, gzipped as ENCODE publishes it, with 70-base lines (not the 60 we
    # write) and descriptions after the names.
    simulated = pyfaidx.Fasta(str(simulated_portal / "genome" / "genome.fa"))
    raw = tmp_path / "genome.fasta.gz"
    with gzip.open(raw, "wt") as out:
        for name in ("chr1", "chrUn_extra", "chr21"):
            seq = str(simulated[name][:]) if name in simulated.keys() else "ACGT" * 40
            out.write(f">{name}  AC:test  LN:{len(seq)}\n")
            out.writelines(seq[i:i + 70] + "\n" for i in range(0, len(seq), 70))
    sizes = {c: len(simulated[c]) for c in ("chr1", "chr21")}
    out = tmp_path / "genome"
    lengths = write_genome(raw, out / "genome.fa", out / "genome.fa.fai",
                                  out / "chrom.sizes", ["chr21", "chr1"])
    assert lengths == sizes

    with gzip.open(raw, "rt") as handle:
        source = {}
        for line in handle:
            if line.startswith(">"):
                name = line[1:].split()[0]
                source[name] = []
            else:
                source[name].append(line.strip())
    fasta = pyfaidx.Fasta(str(out / "genome.fa"), rebuild=False)
    assert str(fasta["chr21"][1234:1300]) == "".join(source["chr21"])[1234:1300]
    assert (out / "chrom.sizes").read_text() == f"chr21\t{sizes['chr21']}\nchr1\t{sizes['chr1']}\n"
    assert str(fasta["chr1"][:]) == str(simulated["chr1"][:])
    with pytest.raises(EncodeError, match="chrX"):
        write_genome(raw, out / "g2.fa", out / "g2.fa.fai", out / "g2.sizes", ["chrX"])
    assert not (out / "g2.fa").exists()


def test_narrowpeak_sorted_filtered_and_checked(simulated_portal, tmp_path):
    # Simulated peaks of every chromosome, shuffled (unsorted on purpose).
    with gzip.open(simulated_portal / "features" / "K562.H3K4me1.narrowPeak.gz", "rt") as fh:
        lines = fh.readlines()
    random.Random(0).shuffle(lines)
    raw = tmp_path / "shuffled.bed.gz"
    with gzip.open(raw, "wt") as fh:
        fh.writelines(lines)
    target = tmp_path / "x.narrowPeak.gz"
    count = write_narrowpeak(raw, target, ["chr1", "chr2"])
    with gzip.open(target, "rt") as handle:
        rows = [line.split("\t") for line in handle]
    assert len(rows) == count > 0
    assert all(len(r) == 10 and r[0] in ("chr1", "chr2") for r in rows)
    assert sorted(rows) == sorted(r.split("\t") for r in lines if r.split("\t")[0] in
                                  ("chr1", "chr2"))
    keys = [(r[0], int(r[1])) for r in rows]
    assert keys == sorted(keys)
    bad = tmp_path / "bad.bed"
    bad.write_text("chr1\t1\t100\tp\t0\t.\t1\t1\t1\t5\nchr1\t1\t100\n")
    with pytest.raises(EncodeError, match=r"bad.bed:2: expected 10"):
        write_narrowpeak(bad, tmp_path / "y.gz", ["chr1"])


def test_cli_error_is_one_line(portal, tmp_path):
    conditions = "tf\tcell_type\nNOSUCH\tK562\n"
    config = write_project(tmp_path, portal.url, conditions, FEATURES)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run([sys.executable, "-m", "nettime.cli", "encode", "resolve",
                             "--config", str(config), "--resources", str(tmp_path / "r")],
                            env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "NOSUCH in cell type K562" in errors[0]
    assert "Traceback" not in result.stderr


def test_signal_target_is_a_bigwig(portal, simulated_portal, tmp_path):
    config = write_project(tmp_path, portal.url, CONDITIONS, FEATURES)
    project = load_project(config)
    resources = tmp_path / "resources" / "encode"
    resolve_project(project, resources)
    (path,) = acquire(project, "K562.H3K27ac", "signal", resources)
    handle = pyBigWig.open(str(path))
    simulated = pyBigWig.open(str(simulated_portal / H3K27AC_SIGNAL))
    assert handle.chroms() == simulated.chroms()
    assert handle.intervals("chr1") == simulated.intervals("chr1")
    simulated.close()
    handle.close()


def test_rate_limiter_spaces_requests():
    waits = Sleeps()
    limiter = RateLimiter(2.0, waits)
    for _ in range(3):
        limiter.wait()
    # Back-to-back calls are spread 0.5 s apart (the recorder does not really wait).
    assert len(waits) == 2
    assert waits[0] == pytest.approx(0.5, abs=0.05) and waits[1] == pytest.approx(1.0, abs=0.05)
