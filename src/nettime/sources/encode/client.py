"""The HTTP client of the ENCODE portal: rate limit, retries with backoff (429 with Retry-After,
5xx, timeouts, dropped connections), cached JSON, and resumable, verified downloads.

Downloads are streamed to a temporary name beside the target, resumed with HTTP Range after an
interruption, verified against the portal's md5sum and file_size, and only then renamed into
place (the bytes and the directory entry flushed to disk): a file under its final name is always
complete. One download of a file runs at a time: jobs that resolve to the same file accession
take turns on a lock file beside it, and a job that waited finds the file verified and done.
"""


from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import fcntl
import hashlib
import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import requests
import urllib3
from tqdm import tqdm

from nettime.files import atomic_output, durable_replace, md5sum
from nettime.sources.encode.settings import (
    RETRY_STATUS,
    ChecksumError,
    DownloadError,
    EncodeError,
    ResolutionError,
    Settings,
)

log = logging.getLogger(__name__)



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
        """The experiment's JSON (its ``files`` embedded)."""
        return self._object("experiments", "experiment", accession)

    def file_object(self, accession: str) -> dict[str, Any]:
        """A file's JSON."""
        return self._object("files", "file", accession)

    def _object(self, collection: str, kind: str, accession: str) -> dict[str, Any]:
        data = self.get_json(f"/{collection}/{accession}/", allow_404=True)
        if data is None:
            raise ResolutionError(f"{kind} {accession} is not on the portal "
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
        ``md5_retries`` times. A server that answers a resumed request with 416 or with the
        whole file (200, Range ignored) makes the download start again from the first byte;
        one that sends more bytes than ``size`` has them discarded.

        Writers of one ``dest`` (threads, or jobs of a workflow) take turns on the lock file
        ``.{name}.lock`` beside it, so that only one appends to the ``.part`` file; one that
        waited returns ``dest`` when the other left it complete and verified. An existing
        ``dest`` that does not match ``size`` and ``md5`` is replaced.

        Raises
        ------
        DownloadError
            Retries exhausted or the server refused the file (naming ``label``).
        ChecksumError
            The complete file does not match ``md5`` (naming ``label``).
        """
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        with _exclusive(dest.with_name(f".{dest.name}.lock"), label):
            if dest.exists():
                if dest.stat().st_size == size and md5sum(dest) == md5:
                    return dest
                log.warning("%s: %s does not match the portal's size and md5; downloading "
                            "it again", label, dest)
                dest.unlink()
            return self._download_locked(url, dest, md5, size, label)

    def _download_locked(self, url: str, dest: Path, md5: str, size: int, label: str) -> Path:
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
                    durable_replace(part, dest)
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


@contextlib.contextmanager
def _exclusive(lock: Path, label: str) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock`` (created if absent; never removed, since removing
    a lock file another process has open would let a third take a second lock)."""
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("%s: another job is downloading this file; waiting for it", label)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


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
