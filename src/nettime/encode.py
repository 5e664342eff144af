"""ENCODE portal client: resolve accessions, download and verify files, keep a lock table.

The portal (https://www.encodeproject.org, or a mirror named by ``encode.portal`` in the
configuration) is asked for experiment JSON; files are chosen by configurable rules (output type in
an order of preference, assembly, status, format); each chosen file is recorded in a lock table so
that a rerun downloads exactly the same files. Downloads are streamed to a temporary name beside
the target, resumed with HTTP Range after an interruption, retried with backoff on 429 (honouring
Retry-After), 5xx, timeouts and dropped connections, verified against the portal's md5sum and
file_size, and only then renamed into place: a file under its final name is always complete.

File selection, per role (``encode.output_types`` in the configuration; first match wins):

* ``conserved``: conservative IDR thresholded peaks, then IDR thresholded peaks (older
  pipelines made one IDR set), then replicated peaks.
* ``relaxed``: optimal IDR thresholded peaks, then IDR thresholded peaks, then
  pseudoreplicated peaks.
* DNase / ATAC ``peaks``: narrowPeak of output type peaks, replicated peaks, pseudoreplicated
  peaks, IDR thresholded peaks; ``signal``: read-depth normalized signal bigWig (ATAC falls back
  to fold change over control, then signal p-value).
* histone ``peaks``: replicated peaks, then pseudoreplicated peaks; ``signal``: signal p-value
  bigWig, then fold change over control.

Among files of the first output type that has any (status in ``encode.status``, assembly
``encode.assembly``, the role's file format), the choice is deterministic: the portal's
``preferred_default`` first, then the file pooling the most biological replicates, then the
lowest accession. When a sheet row has no experiment accession the portal is searched by TF (or
assay) and cell type, and the first experiment in accession order that has a file for every role
is chosen; the choice and the candidates are logged and written to the lock table's note.
"""

from __future__ import annotations

import csv
import datetime as dt
import email.utils
import gzip
import hashlib
import json
import logging
import os
import random
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import requests
import urllib3
from tqdm import tqdm

from nettime import __version__
from nettime.files import atomic_output, md5sum

log = logging.getLogger(__name__)

DEFAULT_PORTAL = "https://www.encodeproject.org"
LOCK_NAME = "lock.tsv"
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
HISTONE_ASSAYS = ("H3K4me1", "H3K4me3", "H3K27ac")
ASSAY_TITLES = {"tf": "TF ChIP-seq", "histone": "Histone ChIP-seq", "DNase": "DNase-seq",
                "ATAC": "ATAC-seq"}
# file_format / file_format_type a role's file must have.
ROLE_FORMATS = {"conserved": ("bed", "narrowPeak"), "relaxed": ("bed", "narrowPeak"),
                "peaks": ("bed", "narrowPeak"), "signal": ("bigWig", None),
                "genome": ("fasta", None), "blacklist": ("bed", None)}


class EncodeError(Exception):
    """Any problem with the portal or its files; ``str()`` is one line for the user."""


class ResolutionError(EncodeError):
    """No file (or experiment) satisfies the selection rules."""


class DownloadError(EncodeError):
    """A download failed after its bounded retries, or the server refused it."""


class ChecksumError(DownloadError):
    """The downloaded bytes do not match the portal's md5sum or file_size."""


# --------------------------------------------------------------------------------------------
# settings


@dataclass
class Settings:
    """The ``encode:`` section of the configuration (see the config schema for each key).

    ``sleep`` is the function used to wait between retries and for the rate limit; tests pass
    one that records the delays.
    """

    portal: str = DEFAULT_PORTAL
    assembly: str = "GRCh38"
    status: list[str] = field(default_factory=lambda: ["released"])
    requests_per_second: float = 4.0
    retries: int = 6
    md5_retries: int = 1
    backoff: float = 1.0
    max_wait: float = 120.0
    connect_timeout: float = 15.0
    read_timeout: float = 60.0
    chunk_size: int = 1 << 20
    progress_min_bytes: int = 16 << 20
    user_agent: str = ""
    output_types: dict[str, Any] = field(default_factory=dict)
    references: dict[str, dict[str, str]] = field(default_factory=dict)
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], **overrides: Any) -> Settings:
        """Build from the whole configuration (its ``encode`` section) or the section itself."""
        section = dict(config.get("encode", config))
        timeout = section.pop("timeout", {}) or {}
        section.pop("refresh", None)
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in section.items() if k in known}
        if "connect" in timeout:
            values["connect_timeout"] = float(timeout["connect"])
        if "read" in timeout:
            values["read_timeout"] = float(timeout["read"])
        values.update(overrides)
        return cls(**values)

    def __post_init__(self) -> None:
        self.portal = self.portal.rstrip("/")
        if not self.user_agent:
            self.user_agent = (f"nettime/{__version__} (NetTIME reproduction pipeline; "
                               "python-requests)")
        if not self.output_types:
            self.output_types = default_output_types()
        if not self.references:
            self.references = default_references()

    def role_output_types(self, kind: str, role: str) -> list[str]:
        """Output types accepted for a role, in order of preference."""
        if kind == "tf":
            return list(self.output_types[role])
        group = "histone" if kind in HISTONE_ASSAYS or kind == "histone" else kind
        return list(self.output_types[group][role])


def default_output_types() -> dict[str, Any]:
    """The default selection rules (the module docstring explains the order)."""
    return {
        "conserved": ["conservative IDR thresholded peaks", "IDR thresholded peaks",
                      "replicated peaks"],
        "relaxed": ["optimal IDR thresholded peaks", "IDR thresholded peaks",
                    "pseudoreplicated peaks"],
        "DNase": {"peaks": ["peaks", "replicated peaks", "pseudoreplicated peaks",
                            "IDR thresholded peaks"],
                  "signal": ["read-depth normalized signal"]},
        "ATAC": {"peaks": ["replicated peaks", "pseudoreplicated peaks",
                           "IDR thresholded peaks", "conservative IDR thresholded peaks"],
                 "signal": ["read-depth normalized signal", "fold change over control",
                            "signal p-value"]},
        "histone": {"peaks": ["replicated peaks", "pseudoreplicated peaks"],
                    "signal": ["signal p-value", "fold change over control"]},
    }


def default_references() -> dict[str, dict[str, str]]:
    """Reference files per assembly: portal file accessions (or reference aliases)."""
    return {
        "GRCh38": {"genome": "GRCh38_no_alt_analysis_set_GCA_000001405.15",
                   "blacklist": "ENCFF356LFX"},
        "hg19": {"genome": "male.hg19", "blacklist": "ENCFF001TDO"},
    }


# --------------------------------------------------------------------------------------------
# portal client


class RateLimiter:
    """At most ``rate`` requests per second from this process (thread-safe)."""

    def __init__(self, rate: float, sleep: Callable[[float], None] = time.sleep):
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.sleep = sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            delay = self._next - now
            self._next = max(now, self._next) + self.interval
        if delay > 0:
            self.sleep(delay)


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


# Network failures worth another try: the connection dropped, timed out or the body was cut.
_TRANSIENT = (requests.RequestException, urllib3.exceptions.HTTPError, ConnectionError,
              TimeoutError)


class PortalClient:
    """Talk to an ENCODE portal: JSON (cached on disk) and verified file downloads.

    Parameters
    ----------
    settings
        The ``encode`` settings (portal URL, retries, timeouts, rate limit, ...).
    cache_dir
        Directory of cached JSON answers; ``None`` disables the cache.
    refresh
        Ignore cached JSON (answers are still written to the cache).
    """

    def __init__(self, settings: Settings, cache_dir: str | os.PathLike[str] | None = None,
                 refresh: bool = False):
        self.settings = settings
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.refresh = refresh
        self.session = requests.Session()
        self.session.headers["User-Agent"] = settings.user_agent
        self.limiter = RateLimiter(settings.requests_per_second, settings.sleep)
        self.requests_made = 0

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> PortalClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- helpers

    def url(self, path: str, params: Mapping[str, str] | None = None) -> str:
        """Absolute URL of a portal path, with the query parameters in a stable order."""
        url = urljoin(self.settings.portal + "/", path.lstrip("/"))
        if params:
            url += "?" + urlencode(sorted(params.items()))
        return url

    def rebase(self, url: str) -> str:
        """Point a portal URL recorded in a lock table at the configured portal (a mirror)."""
        parts = urlsplit(url)
        if parts.path.startswith("/files/"):
            return self.url(parts.path)
        return url

    def _delay(self, attempt: int, response: requests.Response | None = None) -> float:
        if response is not None and response.status_code == 429:
            after = retry_after_seconds(response.headers.get("Retry-After"))
            if after is not None:
                return min(after, self.settings.max_wait)
        base = self.settings.backoff * (2 ** (attempt - 1))
        # Jitter spreads out parallel jobs that failed together.
        return min(base * (1 + 0.25 * random.random()), self.settings.max_wait)

    def _get(self, url: str, headers: Mapping[str, str] | None = None,
             stream: bool = False) -> requests.Response:
        self.limiter.wait()
        self.requests_made += 1
        return self.session.get(url, headers=dict(headers or {}), stream=stream,
                                timeout=(self.settings.connect_timeout,
                                         self.settings.read_timeout))

    # ---- JSON

    def get_json(self, path: str, params: Mapping[str, str] | None = None,
                 allow_404: bool = False) -> dict[str, Any] | None:
        """GET a portal object as JSON, from the disk cache when present.

        Returns ``None`` for HTTP 404 when ``allow_404`` (the portal answers 404 to a search
        with no results and to an unknown accession).
        """
        query = dict(params or {})
        query.setdefault("format", "json")
        url = self.url(path, query)
        cached = self._cache_path(url)
        if cached is not None and cached.exists() and not self.refresh:
            with open(cached) as handle:
                return json.load(handle)
        failures = 0
        last = ""
        while True:
            try:
                response = self._get(url, headers={"Accept": "application/json"})
                if response.status_code in RETRY_STATUS:
                    last = f"HTTP {response.status_code}"
                    raise _Retry(response)
                if response.status_code == 404 and allow_404:
                    return None
                if response.status_code != 200:
                    raise EncodeError(f"{url}: HTTP {response.status_code} from the portal")
                try:
                    data = response.json()
                except ValueError:
                    last = "incomplete or invalid JSON"
                    raise _Retry(None) from None
                if not isinstance(data, dict):
                    raise EncodeError(f"{url}: expected a JSON object from the portal")
            except _Retry as retry:
                failures += 1
                if failures > self.settings.retries:
                    raise EncodeError(f"{url}: gave up after {failures} attempts "
                                      f"(last: {last})") from None
                self.settings.sleep(self._delay(failures, retry.response))
                continue
            except _TRANSIENT as exc:
                failures += 1
                last = type(exc).__name__
                if failures > self.settings.retries:
                    raise EncodeError(f"{url}: gave up after {failures} attempts "
                                      f"(last: {last})") from None
                self.settings.sleep(self._delay(failures))
                continue
            break
        if cached is not None:
            with atomic_output(cached) as tmp:
                tmp.write_text(json.dumps(data))
        return data

    def _cache_path(self, url: str) -> Path | None:
        if self.cache_dir is None:
            return None
        digest = hashlib.sha256(url.encode()).hexdigest()[:24]
        return self.cache_dir / f"{digest}.json"

    def experiment(self, accession: str) -> dict[str, Any]:
        data = self.get_json(f"/experiments/{accession}/", allow_404=True)
        if data is None:
            raise ResolutionError(f"experiment {accession} is not on the portal "
                                  f"{self.settings.portal}")
        return data

    def file_object(self, accession: str) -> dict[str, Any]:
        data = self.get_json(f"/files/{accession}/", allow_404=True)
        if data is None:
            raise ResolutionError(f"file {accession} is not on the portal "
                                  f"{self.settings.portal}")
        return data

    def search(self, params: Mapping[str, str]) -> list[dict[str, Any]]:
        """Released experiments matching ``params`` (the portal's ``@graph``)."""
        query = {"type": "Experiment", "frame": "object", "limit": "all", **params}
        data = self.get_json("/search/", query, allow_404=True)
        return list((data or {}).get("@graph", []))

    # ---- downloads

    def download(self, url: str, dest: str | os.PathLike[str], md5: str, size: int,
                 label: str) -> Path:
        """Download ``url`` to ``dest``, verified; resume, retry and rename atomically.

        The bytes go to ``.{name}.part`` beside ``dest`` (a fixed name, so a killed process
        resumes where it stopped); an attempt that fails adds what it received and the next
        asks for the rest with ``Range``. Failed attempts that add no bytes are counted and
        bounded by ``retries``; an md5 mismatch discards the bytes and starts again at most
        ``md5_retries`` times.

        Raises
        ------
        DownloadError
            Retries exhausted or the server refused the file (naming ``label``).
        ChecksumError
            The complete file does not match ``md5`` (naming ``label``).
        """
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(f".{dest.name}.part")
        failures = 0
        md5_failures = 0
        last = ""
        while True:
            have = part.stat().st_size if part.exists() else 0
            if have > size:
                log.warning("%s: %d bytes on disk but the file has %d; starting again",
                            label, have, size)
                part.unlink()
                have = 0
            if have == size:
                got = md5sum(part)
                if got == md5:
                    os.replace(part, dest)
                    return dest
                part.unlink()
                md5_failures += 1
                if md5_failures > self.settings.md5_retries:
                    raise ChecksumError(
                        f"{label}: md5 of the downloaded file is {got}, the portal says {md5} "
                        f"(downloaded {md5_failures} times from {url}); the file was removed")
                log.warning("%s: md5 mismatch (%s != %s); downloading again", label, got, md5)
                continue
            if failures > self.settings.retries:
                raise DownloadError(f"{label}: gave up after {failures} failed attempts "
                                    f"(last: {last}); {have} of {size} bytes kept in {part} "
                                    "for the next run to resume")
            try:
                added, response, message = self._fetch_into(url, part, have, size, label)
            except _TRANSIENT as exc:
                added, response = part.stat().st_size - have if part.exists() else 0, None
                message = f"{type(exc).__name__} after {max(added, 0)} bytes"
            last = message or last
            if added > 0:
                failures = 0
                continue
            failures += 1
            if failures <= self.settings.retries:
                delay = self._delay(failures, response)
                log.info("%s: %s; retry %d of %d in %.2f s", label, last, failures,
                         self.settings.retries, delay)
                self.settings.sleep(delay)

    def _fetch_into(self, url: str, part: Path, have: int, size: int,
                    label: str) -> tuple[int, requests.Response | None, str]:
        """One attempt: append what the server sends to ``part``.

        Returns the bytes added (negative when bytes were discarded), the response when it
        asks for a retry (for Retry-After), and what went wrong ("" when nothing did).
        """
        headers = {"Range": f"bytes={have}-"} if have else {}
        with self._get(url, headers=headers, stream=True) as response:
            status = response.status_code
            if status in RETRY_STATUS:
                return 0, response, f"HTTP {status}"
            if status == 416:
                # Our bytes do not fit the file the server has: start from nothing.
                part.unlink(missing_ok=True)
                return 0, None, "HTTP 416"
            if status not in (200, 206):
                raise DownloadError(f"{label}: HTTP {status} for {url}")
            start = _content_range_start(response) if status == 206 else 0
            if start is None or start > have:
                # A range we did not ask for: writing it would leave a gap or misplace bytes.
                got = response.headers.get("Content-Range")
                return 0, None, f"HTTP 206 with Content-Range {got!r} for bytes {have}-"
            # 200 (the server ignored Range): start again; 206 from `start`: overwrite from there.
            mode = "r+b" if part.exists() else "wb"
            show = size >= self.settings.progress_min_bytes
            added = 0
            with open(part, mode) as handle, tqdm(
                    total=size, initial=start, unit="B", unit_scale=True, desc=label,
                    disable=not show, leave=False) as bar:
                handle.seek(start)
                handle.truncate()
                try:
                    for chunk in response.raw.stream(self.settings.chunk_size,
                                                     decode_content=False):
                        handle.write(chunk)
                        added += len(chunk)
                        bar.update(len(chunk))
                        if start + added > size:
                            break
                finally:
                    handle.flush()
            if start + added > size:
                part.unlink()
                return -have, None, f"server sent more than the {size} bytes the portal lists"
            message = "" if start + added == size else f"short body ({added} bytes)"
            return (start + added) - have, None, message


class _Retry(Exception):
    def __init__(self, response: requests.Response | None):
        self.response = response


def _content_range_start(response: requests.Response) -> int | None:
    value = response.headers.get("Content-Range", "")
    # "bytes 100-999/1000"
    try:
        return int(value.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return None


# --------------------------------------------------------------------------------------------
# what to resolve


@dataclass(frozen=True)
class Wanted:
    """One sheet row (or reference) to resolve into files.

    ``kind`` is ``tf``, ``DNase``, ``ATAC``, a histone mark, or ``reference``; ``pins`` maps a
    role to a file accession given in the sheet.
    """

    key: str
    kind: str
    roles: tuple[str, ...]
    target: str = ""
    cell_type: str = ""
    experiment: str = ""
    pins: tuple[tuple[str, str], ...] = ()
    where: str = ""

    def pin(self, role: str) -> str:
        return dict(self.pins).get(role, "")

    def describe(self) -> str:
        if self.kind == "tf":
            return f"TF {self.target} in cell type {self.cell_type}"
        if self.kind == "reference":
            return f"reference {self.key}"
        return f"assay {self.kind} in cell type {self.cell_type}"


def wanted_from_project(project: Any) -> list[Wanted]:
    """Everything a project acquires: references, conditions, cell-type features."""
    items = [Wanted(key=role, kind="reference", roles=(role,)) for role in ("genome",
                                                                            "blacklist")]
    conditions_path = project.config["conditions"]
    for rec in project.conditions.to_dict("records"):
        pins = tuple((role, rec[f"{role}_file"]) for role in ("conserved", "relaxed")
                     if rec.get(f"{role}_file"))
        items.append(Wanted(key=rec["condition"], kind="tf", roles=("conserved", "relaxed"),
                            target=rec["tf"], cell_type=rec["cell_type"],
                            experiment=rec.get("experiment", ""), pins=pins,
                            where=f"{conditions_path}:{rec.get('_line', '?')}"))
    features_path = project.config["cell_features"]
    for rec in project.cell_features.to_dict("records"):
        pins = tuple((role, rec[f"{role}_file"]) for role in ("peaks", "signal")
                     if rec.get(f"{role}_file"))
        items.append(Wanted(key=f"{rec['cell_type']}.{rec['assay']}", kind=rec["assay"],
                            roles=("peaks", "signal"), target=rec["assay"],
                            cell_type=rec["cell_type"], experiment=rec.get("experiment", ""),
                            pins=pins, where=f"{features_path}:{rec.get('_line', '?')}"))
    return items


# --------------------------------------------------------------------------------------------
# the lock table


@dataclass(frozen=True)
class LockEntry:
    """One resolved file: what it is for, where it came from and how to verify it."""

    key: str
    role: str
    experiment: str
    accession: str
    output_type: str
    assembly: str
    md5sum: str
    file_size: int
    url: str
    resolved: str
    note: str = ""


LOCK_COLUMNS = [f.name for f in fields(LockEntry)]


def read_lock(path: str | os.PathLike[str]) -> list[LockEntry]:
    """Read a lock table; an absent file is an empty table."""
    path = Path(path)
    if not path.exists():
        return []
    entries = []
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        missing = [c for c in LOCK_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise EncodeError(f"{path}:1: lock table lacks column(s) {', '.join(missing)} "
                              f"(columns: {', '.join(LOCK_COLUMNS)})")
        for line, row in enumerate(reader, start=2):
            try:
                values = {c: row[c] or "" for c in LOCK_COLUMNS}
                values["file_size"] = int(values["file_size"])
            except (TypeError, ValueError):
                raise EncodeError(f"{path}:{line}: column 'file_size' must be an integer, "
                                  f"got {row.get('file_size')!r}") from None
            entries.append(LockEntry(**values))
    return entries


def write_lock(path: str | os.PathLike[str], entries: Iterable[LockEntry]) -> None:
    """Write a lock table atomically, sorted by key and role."""
    rows = sorted(entries, key=lambda e: (e.key, e.role))
    with atomic_output(path) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, LOCK_COLUMNS, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        for entry in rows:
            writer.writerow(asdict(entry))


def find_entry(entries: Iterable[LockEntry], key: str, role: str) -> LockEntry:
    for entry in entries:
        if entry.key == key and entry.role == role:
            return entry
    raise EncodeError(f"no resolved file for {key} ({role}) in the lock table; run "
                      "`nettime encode resolve` (or the encode_resolve rule) first")


# --------------------------------------------------------------------------------------------
# file selection


def _file_problem(obj: Mapping[str, Any], role: str, output_types: list[str],
                  settings: Settings) -> str:
    """Why a file does not qualify for a role ("" when it does)."""
    file_format, format_type = ROLE_FORMATS[role]
    if obj.get("status") not in settings.status:
        return f"status {obj.get('status')!r}"
    if obj.get("assembly") != settings.assembly:
        return f"assembly {obj.get('assembly')!r}"
    if obj.get("file_format") != file_format:
        return f"format {obj.get('file_format')!r}"
    if format_type and obj.get("file_format_type") != format_type:
        return f"format type {obj.get('file_format_type')!r}"
    if output_types and obj.get("output_type") not in output_types:
        return f"output type {obj.get('output_type')!r}"
    for name in ("accession", "md5sum", "file_size", "href"):
        if not obj.get(name):
            return f"no {name}"
    return ""


def _rank(obj: Mapping[str, Any]) -> tuple[bool, int, str]:
    return (not obj.get("preferred_default", False),
            -len(obj.get("biological_replicates") or []), str(obj["accession"]))


def select_file(files: list[Mapping[str, Any]], role: str, output_types: list[str],
                settings: Settings, what: str) -> tuple[Mapping[str, Any], str]:
    """Choose one file for a role; return it and a note on the choice.

    Raises
    ------
    ResolutionError
        Listing every candidate and why it was rejected.
    """
    for output_type in output_types:
        ok = [f for f in files if not _file_problem(f, role, [output_type], settings)]
        if ok:
            ok.sort(key=_rank)
            note = f"{role}: {output_type}"
            if len(ok) > 1:
                note += (f" ({len(ok)} qualified: {', '.join(f['accession'] for f in ok)}; "
                         "preferred_default, most replicates, lowest accession)")
            return ok[0], note
    listed = "; ".join(f"{f.get('accession', '?')} {f.get('output_type', '?')!r} "
                       f"[{_file_problem(f, role, output_types, settings)}]" for f in files)
    raise ResolutionError(
        f"{what}: no {settings.assembly} file with status {'/'.join(settings.status)} and "
        f"output type in {output_types} for the {role} role; candidates: "
        f"{listed or 'none (the experiment has no files)'}")


def _entry(wanted: Wanted, role: str, obj: Mapping[str, Any], experiment: str,
           client: PortalClient, note: str) -> LockEntry:
    return LockEntry(key=wanted.key, role=role, experiment=experiment,
                     accession=str(obj["accession"]), output_type=str(obj.get("output_type", "")),
                     assembly=str(obj.get("assembly", "")), md5sum=str(obj["md5sum"]),
                     file_size=int(obj["file_size"]), url=client.url(str(obj["href"])),
                     resolved=dt.date.today().isoformat(), note=note)


def _experiment_files(client: PortalClient, exp: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The file objects of an experiment (embedded objects, or fetched when given as ids)."""
    files = []
    for item in exp.get("files", []):
        if isinstance(item, str):
            accession = item.rstrip("/").rsplit("/", 1)[-1]
            files.append(client.file_object(accession))
        else:
            files.append(item)
    return files


def _resolve_in_experiment(client: PortalClient, wanted: Wanted,
                           exp: Mapping[str, Any]) -> list[LockEntry]:
    accession = str(exp.get("accession", wanted.experiment))
    what = f"{wanted.describe()} ({accession}, {wanted.where or 'sheet'})"
    files = _experiment_files(client, exp)
    entries = []
    for role in wanted.roles:
        types = client.settings.role_output_types(wanted.kind, role)
        pinned = wanted.pin(role)
        if pinned:
            match = [f for f in files if f.get("accession") == pinned]
            obj = match[0] if match else client.file_object(pinned)
            problem = _file_problem(obj, role, [], client.settings)
            if problem:
                raise ResolutionError(f"{what}: pinned {role} file {pinned} does not qualify "
                                      f"({problem})")
            note = f"{role}: pinned {pinned}"
        else:
            obj, note = select_file(files, role, types, client.settings, what)
        entries.append(_entry(wanted, role, obj, accession, client, note))
    return entries


def search_params(wanted: Wanted, settings: Settings) -> dict[str, str]:
    """Portal search filters for a sheet row."""
    kind = "histone" if wanted.kind in HISTONE_ASSAYS else wanted.kind
    params = {"assay_title": ASSAY_TITLES[kind], "status": "released",
              "biosample_ontology.term_name": wanted.cell_type, "assembly": settings.assembly}
    if kind in ("tf", "histone"):
        params["target.label"] = wanted.target
    return params


def resolve_wanted(client: PortalClient, wanted: Wanted) -> list[LockEntry]:
    """Resolve one row: a pinned experiment, or a deterministic choice among search results.

    Raises
    ------
    ResolutionError
        No experiment or no qualifying file; the message lists the candidates.
    """
    if wanted.kind == "reference":
        return [_resolve_reference(client, wanted)]
    if wanted.experiment:
        return _resolve_in_experiment(client, wanted, client.experiment(wanted.experiment))
    params = search_params(wanted, client.settings)
    found = client.search(params)
    accessions = sorted({str(e["accession"]) for e in found if e.get("accession")})
    if not accessions:
        raise ResolutionError(
            f"no released {params['assay_title']} experiment for {wanted.describe()} "
            f"({client.settings.assembly}) on {client.settings.portal} ({wanted.where}); "
            "check the names, or give an experiment accession in the sheet")
    reasons = []
    for accession in accessions:
        try:
            entries = _resolve_in_experiment(client, wanted, client.experiment(accession))
        except ResolutionError as error:
            reasons.append(f"{accession}: {error}")
            continue
        note = (f"search: {len(accessions)} candidate(s) {', '.join(accessions)}; chose "
                f"{accession} (first in accession order with every file)")
        log.info("%s: %s", wanted.describe(), note)
        return [LockEntry(**{**asdict(e), "note": f"{note}; {e.note}"}) for e in entries]
    raise ResolutionError(f"{wanted.describe()}: none of the {len(accessions)} experiment(s) "
                          f"found has every file: " + " | ".join(reasons))


def _resolve_reference(client: PortalClient, wanted: Wanted) -> LockEntry:
    refs = client.settings.references.get(client.settings.assembly)
    if not refs or wanted.key not in refs:
        raise ResolutionError(f"no {wanted.key} reference configured for assembly "
                              f"{client.settings.assembly} (encode.references)")
    accession = refs[wanted.key]
    obj = client.file_object(accession)
    problem = _file_problem(obj, wanted.key, [], client.settings)
    if problem:
        raise ResolutionError(f"reference {wanted.key} {accession} does not qualify ({problem})")
    return _entry(wanted, wanted.key, obj, "", client, f"{wanted.key}: {accession}")


def _lock_usable(entry: LockEntry, wanted: Wanted, role: str, settings: Settings) -> bool:
    """Does a locked entry still answer the sheet row and the selection rules?"""
    if entry.assembly != settings.assembly:
        return False
    if wanted.kind == "reference":
        return entry.accession == settings.references.get(settings.assembly, {}).get(role)
    if wanted.experiment and entry.experiment != wanted.experiment:
        return False
    if wanted.pin(role):
        return entry.accession == wanted.pin(role)
    return entry.output_type in settings.role_output_types(wanted.kind, role)


def resolve_all(client: PortalClient, wanted: list[Wanted], lock_path: str | os.PathLike[str],
                refresh: bool = False) -> tuple[list[LockEntry], set[tuple[str, str]]]:
    """Resolve every wanted row, reusing the lock table; update the lock table.

    Rows whose locked entries still fit are not looked up again (no network). With
    ``refresh`` everything is resolved afresh. Entries of rows no longer wanted stay in the
    lock table.

    Returns
    -------
    entries
        One per (key, role) wanted, in the order of ``wanted``.
    changed
        (key, role) pairs whose file differs from the one locked before; their acquired files
        are stale.
    """
    old = {(e.key, e.role): e for e in read_lock(lock_path)}
    entries: list[LockEntry] = []
    changed: set[tuple[str, str]] = set()
    problems: list[str] = []
    for item in wanted:
        locked = [old.get((item.key, role)) for role in item.roles]
        if not refresh and all(e is not None and _lock_usable(e, item, e.role, client.settings)
                               for e in locked):
            entries.extend(e for e in locked if e is not None)
            continue
        try:
            fresh = resolve_wanted(client, item)
        except ResolutionError as error:
            problems.append(str(error))
            continue
        for entry in fresh:
            before = old.get((entry.key, entry.role))
            if before is not None and (before.accession, before.md5sum) != (entry.accession,
                                                                           entry.md5sum):
                changed.add((entry.key, entry.role))
            old[(entry.key, entry.role)] = entry
        entries.extend(fresh)
    if problems:
        # Keep what was resolved, so the next run only retries the failures.
        write_lock(lock_path, old.values())
        raise ResolutionError(f"{len(problems)} row(s) could not be resolved: "
                              + " || ".join(problems))
    write_lock(lock_path, old.values())
    return entries, changed


# --------------------------------------------------------------------------------------------
# acquired files (the layout of every source)


def target_paths(resources: str | os.PathLike[str], key: str, role: str) -> list[Path]:
    """The acquired files made from one lock entry, under ``resources/encode``."""
    root = Path(resources)
    if role in ("conserved", "relaxed"):
        return [root / "peaks" / f"{key}.{role}.narrowPeak.gz"]
    if role == "peaks":
        return [root / "features" / f"{key}.narrowPeak.gz"]
    if role == "signal":
        return [root / "features" / f"{key}.bigWig"]
    if role == "genome":
        return [root / "genome" / "genome.fa", root / "genome" / "genome.fa.fai",
                root / "genome" / "chrom.sizes"]
    if role == "blacklist":
        return [root / "genome" / "blacklist.bed"]
    raise EncodeError(f"unknown role {role!r}")


def fetch(client: PortalClient, entry: LockEntry, downloads: str | os.PathLike[str]) -> Path:
    """The verified raw file of a lock entry in ``downloads`` (downloaded unless present)."""
    name = Path(urlsplit(entry.url).path).name or entry.accession
    dest = Path(downloads) / name
    if dest.exists() and dest.stat().st_size == entry.file_size and \
            md5sum(dest) == entry.md5sum:
        return dest
    dest.unlink(missing_ok=True)
    label = f"{entry.accession} ({entry.key} {entry.role})"
    return client.download(client.rebase(entry.url), dest, entry.md5sum, entry.file_size,
                           label)


def _open_text(path: Path):
    with open(path, "rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt")
    return open(path)


def write_narrowpeak(raw: str | os.PathLike[str], target: str | os.PathLike[str],
                     chromosomes: Iterable[str]) -> int:
    """Check a narrowPeak file, keep the given chromosomes, sort by chrom/start, gzip it.

    Returns the number of peaks written. Raises :class:`EncodeError` naming the file and line
    of the first malformed row.
    """
    raw = Path(raw)
    keep = set(chromosomes)
    rows: list[tuple[str, int, int, str]] = []
    with _open_text(raw) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            cols = line.rstrip("\n").split("\t")
            if len(cols) != 10:
                raise EncodeError(f"{raw}:{number}: expected 10 tab-separated narrowPeak "
                                  f"columns, found {len(cols)}")
            try:
                start, end = int(cols[1]), int(cols[2])
            except ValueError:
                raise EncodeError(f"{raw}:{number}: start/end must be integers") from None
            if start < 0 or end <= start:
                raise EncodeError(f"{raw}:{number}: bad interval {start}-{end}")
            if cols[0] in keep:
                rows.append((cols[0], start, end, "\t".join(cols)))
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    with atomic_output(target, suffix=".gz") as tmp:
        with gzip.open(tmp, "wt") as out:
            for row in rows:
                out.write(row[3] + "\n")
    return len(rows)


def write_bed3(raw: str | os.PathLike[str], target: str | os.PathLike[str],
               chromosomes: Iterable[str]) -> int:
    """Write the first three columns of a BED file (gzip or plain), kept chromosomes, sorted."""
    raw = Path(raw)
    keep = set(chromosomes)
    rows = []
    with _open_text(raw) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            cols = line.split()
            try:
                chrom, start, end = cols[0], int(cols[1]), int(cols[2])
            except (IndexError, ValueError):
                raise EncodeError(f"{raw}:{number}: expected chrom, start, end") from None
            if chrom in keep:
                rows.append((chrom, start, end))
    rows.sort()
    with atomic_output(target) as tmp, open(tmp, "w") as out:
        for chrom, start, end in rows:
            out.write(f"{chrom}\t{start}\t{end}\n")
    return len(rows)


def write_signal(raw: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """Place a verified bigWig under its acquired name (a copy, atomically)."""
    import pyBigWig

    handle = pyBigWig.open(str(raw))
    ok = handle is not None and handle.isBigWig()
    if handle is not None:
        handle.close()
    if not ok:
        raise EncodeError(f"{raw}: not a bigWig file")
    with atomic_output(target, suffix=".bigWig") as tmp:
        shutil.copyfile(raw, tmp)


def write_genome(raw: str | os.PathLike[str], fasta: str | os.PathLike[str],
                 fai: str | os.PathLike[str], sizes: str | os.PathLike[str],
                 chromosomes: list[str], width: int = 60) -> dict[str, int]:
    """Write the chosen chromosomes of a (gzipped) FASTA with uniform lines, its index and sizes.

    The sequence is streamed line by line (memory stays bounded); the ``.fai`` index is written
    from the offsets as they are produced, so it matches the file by construction.

    Returns
    -------
    dict
        Chromosome -> length, for the chromosomes found.

    Raises
    ------
    EncodeError
        A configured chromosome is absent from the FASTA.
    """
    keep = set(chromosomes)
    lengths: dict[str, int] = {}
    starts: dict[str, int] = {}  # byte offset of each kept chromosome's first base
    with atomic_output(fasta) as tmp, open(tmp, "w") as out, _open_text(Path(raw)) as handle:
        offset = 0
        name: str | None = None
        carry = ""

        def emit(final: bool) -> None:
            # Write whole lines of ``width`` bases (and the remainder at a record's end).
            nonlocal carry, offset
            whole = len(carry) - len(carry) % width
            for i in range(0, whole, width):
                out.write(carry[i:i + width] + "\n")
            offset += whole + whole // width
            carry = carry[whole:]
            if final and carry:
                out.write(carry + "\n")
                offset += len(carry) + 1
                carry = ""

        for line in handle:
            if line.startswith(">"):
                if name is not None:
                    emit(True)
                name = line[1:].split()[0] if line[1:].split() else ""
                if name not in keep or name in lengths:
                    name = None
                    continue
                header = f">{name}\n"
                out.write(header)
                offset += len(header)
                starts[name] = offset
                lengths[name] = 0
            elif name is not None:
                seq = line.strip()
                lengths[name] += len(seq)
                carry += seq
                if len(carry) >= 1024 * width:
                    emit(False)
        if name is not None:
            emit(True)
        missing = [c for c in chromosomes if c not in lengths]
        if missing:
            raise EncodeError(f"{raw}: chromosome(s) {', '.join(missing)} of genome.chromosomes "
                              "are not in the FASTA")
    with atomic_output(fai) as tmp, open(tmp, "w") as out:
        for chrom in lengths:
            out.write(f"{chrom}\t{lengths[chrom]}\t{starts[chrom]}\t{width}\t{width + 1}\n")
    with atomic_output(sizes) as tmp, open(tmp, "w") as out:
        for chrom in chromosomes:
            out.write(f"{chrom}\t{lengths[chrom]}\n")
    return lengths


def materialise(client: PortalClient, entry: LockEntry, resources: str | os.PathLike[str],
                chromosomes: list[str]) -> list[Path]:
    """Download (or reuse) a lock entry's file and write its acquired file(s)."""
    raw = fetch(client, entry, Path(resources) / "downloads")
    targets = target_paths(resources, entry.key, entry.role)
    if entry.role in ("conserved", "relaxed", "peaks"):
        count = write_narrowpeak(raw, targets[0], chromosomes)
        log.info("%s: %d peaks on the configured chromosomes -> %s", entry.accession, count,
                 targets[0])
    elif entry.role == "signal":
        write_signal(raw, targets[0])
    elif entry.role == "genome":
        write_genome(raw, targets[0], targets[1], targets[2], chromosomes)
    elif entry.role == "blacklist":
        write_bed3(raw, targets[0], chromosomes)
    return targets


def remove_stale(resources: str | os.PathLike[str], changed: Iterable[tuple[str, str]]) -> None:
    """Delete the acquired files of lock entries that changed, so they are made again."""
    for key, role in sorted(changed):
        for path in target_paths(resources, key, role):
            if path.exists():
                log.info("%s: its lock entry changed; removed", path)
                path.unlink()


# --------------------------------------------------------------------------------------------
# whole-project steps (used by the workflow scripts and by `nettime encode ...`)


def open_client(config: Mapping[str, Any], resources: str | os.PathLike[str],
                refresh: bool = False, **overrides: Any) -> PortalClient:
    """A client for the configured portal, caching JSON under ``resources/cache``."""
    settings = Settings.from_config(config, **overrides)
    return PortalClient(settings, cache_dir=Path(resources) / "cache", refresh=refresh)


def resolve_project(project: Any, resources: str | os.PathLike[str] = "resources/encode",
                    refresh: bool | None = None, out: str | os.PathLike[str] | None = None,
                    **overrides: Any) -> list[LockEntry]:
    """Resolve every file of a project, update ``resources/lock.tsv``, remove stale files.

    Parameters
    ----------
    project
        A :class:`nettime.config.Project`.
    resources
        The acquisition directory (``resources/encode``).
    refresh
        Resolve afresh instead of reusing the lock table (default: ``encode.refresh``).
    out
        Also write the entries of this project alone to this TSV (the workflow's table).
    """
    if refresh is None:
        refresh = bool(project.config.get("encode", {}).get("refresh", False))
    lock_path = Path(resources) / LOCK_NAME
    with open_client(project.config, resources, refresh=refresh, **overrides) as client:
        entries, changed = resolve_all(client, wanted_from_project(project), lock_path,
                                       refresh=refresh)
        log.info("resolved %d file(s) (%d portal request(s)); lock table %s", len(entries),
                 client.requests_made, lock_path)
    remove_stale(resources, changed)
    if out is not None:
        write_lock(out, entries)
    return entries


def acquire(project: Any, key: str, role: str,
            resources: str | os.PathLike[str] = "resources/encode",
            table: str | os.PathLike[str] | None = None, **overrides: Any) -> list[Path]:
    """Download (or reuse) the locked file of ``key``/``role`` and write its acquired file(s)."""
    entry = find_entry(read_lock(table or Path(resources) / LOCK_NAME), key, role)
    with open_client(project.config, resources, **overrides) as client:
        return materialise(client, entry, resources, list(project.config["genome"]["chromosomes"]))
