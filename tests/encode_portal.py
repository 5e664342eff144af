"""A loopback ENCODE portal for the tests: the simulated data set, an HTTP server, a fault ledger.

:func:`simulate_portal` simulates the tiny configuration (``config/tiny``), whose ``portal/``
folder is laid out as the portal's paths are: ``portal/experiments/{ENCSR}.json`` with embedded
``files``, ``portal/files/{accession}.json`` for the references (genome, exclusion list) and
``portal/files.tsv`` (accession, path relative to the data root, md5sum, file_size, output_type,
experiment). :class:`PortalServer` serves that folder like the portal: experiment and file
JSON, ``/search/`` with ``@graph`` (404 when nothing matches), and
``/files/{ENCFF}/@@download/{name}`` with a 302 redirect to a storage path that serves the bytes
and honours ``Range``. Faults are injected per request from a plan (or at random); every
injected fault is recorded.

:func:`add_variants` adds the cases a simulated portal does not have (files of another assembly
or status, older output types, a second experiment of a TF and cell type) as extra file objects
whose bytes are simulated files.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
import socket
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import yaml

from nettime.config import load_project
from nettime.sources.simulate.portal import accession
from nettime.sources.simulate.run import simulate

ROOT = Path(__file__).resolve().parent.parent
FAULT_KINDS = ("500", "503", "429", "drop", "truncate", "slow")
# Faults of the storage endpoint only: "badrange" (a 206 for bytes not asked for), "416" (a
# resume refused), "ignore_range" (a 200 with the whole file to a Range request), "oversize"
# (a 200 with more bytes than the file has).
STORAGE_FAULT_KINDS = ("badrange", "416", "ignore_range", "oversize")
# Experiments of the tiny simulated panel that the tests name (accessions as simulated).
JUND_K562 = accession("SR", "TF ChIP-seq", "JUND", "K562")
H3K27AC_K562 = accession("SR", "Histone ChIP-seq", "H3K27ac", "K562")


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def simulate_portal(root: Path) -> Path:
    """Simulate ``config/tiny`` at tiny scale into ``root``; return ``root``."""
    project = load_project(ROOT / "config" / "tiny" / "config.yaml")
    simulate(project, root, scale="tiny", progress=False)
    return root


# --------------------------------------------------------------------------------------------
# server


@dataclass
class Injected:
    kind: str
    endpoint: str
    path: str


@dataclass
class PortalState:
    root: Path
    experiments: dict[str, dict] = field(default_factory=dict)
    files: dict[str, dict] = field(default_factory=dict)  # accession -> files.tsv row + object
    simulated: dict[str, str] = field(default_factory=dict)  # files.tsv path -> accession
    plan: dict[str, deque] = field(default_factory=dict)
    random_rate: float = 0.0
    random_kinds: tuple[str, ...] = ()
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    injected: list[Injected] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (endpoint, path)
    bytes_served: Counter = field(default_factory=Counter)
    range_starts: list[tuple[str, int]] = field(default_factory=list)
    wrong_md5: set[str] = field(default_factory=set)
    retry_after: str = "3"
    slow_seconds: float = 1.5
    throttle: float = 0.0
    user_agents: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


class PortalServer:
    """The loopback portal on 127.0.0.1 and an ephemeral port."""

    def __init__(self, root: Path):
        self.state = PortalState(root=Path(root))
        self._load()
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def _load(self) -> None:
        st = self.state
        for path in sorted((st.root / "portal" / "experiments").glob("*.json")):
            exp = json.loads(path.read_text())
            st.experiments[exp["accession"]] = exp
        objects = {f["accession"]: f for e in st.experiments.values()
                   for f in e.get("files", []) if isinstance(f, dict)}
        for path in sorted((st.root / "portal" / "files").glob("*.json")):
            obj = json.loads(path.read_text())
            objects[obj["accession"]] = obj
        with open(st.root / "portal" / "files.tsv", newline="") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                if row["accession"] not in objects:
                    raise ValueError(f"files.tsv: {row['accession']} has no file object")
                st.files[row["accession"]] = {"row": row, "object": objects[row["accession"]]}
                st.simulated[row["path"]] = row["accession"]

    def accession_of(self, path: str) -> str:
        """The file accession of a simulated file (path relative to the data root)."""
        return self.state.simulated[path]

    def path_of(self, acc: str) -> Path:
        return self.state.root / self.state.files[acc]["row"]["path"]

    def md5s(self) -> dict[str, str]:
        """Accession -> the md5 of the bytes served (never a wrong md5 put in the JSON)."""
        return {acc: item["object"]["md5sum"] for acc, item in self.state.files.items()}

    def add_file(self, experiment: str, acc: str, like: str, **fields: object) -> None:
        """Add file ``acc`` to ``experiment``: the bytes and fields of simulated file ``like``
        (an accession) with ``fields`` changed."""
        st = self.state
        base = st.files[like]
        name = base["object"]["href"].rsplit("/", 1)[-1].replace(like, acc)
        obj = {**base["object"], "accession": acc, "@id": f"/files/{acc}/",
               "href": f"/files/{acc}/@@download/{name}", "preferred_default": False, **fields}
        st.files[acc] = {"row": {**base["row"], "accession": acc, "experiment": experiment},
                         "object": obj}
        st.experiments[experiment]["files"].append(obj)

    def add_experiment(self, acc: str, assay_title: str, target: str, cell: str) -> None:
        self.state.experiments[acc] = {
            "accession": acc, "@id": f"/experiments/{acc}/", "status": "released",
            "assay_title": assay_title, "target": {"label": target},
            "biosample_ontology": {"term_name": cell}, "assembly": ["GRCh38"], "files": []}

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> PortalServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def inject(self, endpoint: str, *kinds: str) -> None:
        """Queue faults for the next requests to ``endpoint`` (json, redirect, storage)."""
        self.state.plan.setdefault(endpoint, deque()).extend(kinds)

    def random_faults(self, rate: float, kinds: tuple[str, ...] = FAULT_KINDS,
                      seed: int = 0) -> None:
        self.state.random_rate = rate
        self.state.random_kinds = kinds
        self.state.rng = random.Random(seed)

    def clear(self) -> None:
        self.state.plan.clear()
        self.state.random_rate = 0.0

    def served(self, accession: str) -> int:
        return self.state.bytes_served[accession]

    def requests_to(self, endpoint: str) -> int:
        return sum(1 for e, _ in self.state.requests if e == endpoint)


class _Handler(BaseHTTPRequestHandler):
    state: PortalState

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    # ---- plumbing

    def _fault(self, endpoint: str) -> str | None:
        st = self.state
        with st.lock:
            st.requests.append((endpoint, self.path))
            st.user_agents.add(self.headers.get("User-Agent", ""))
            queue = st.plan.get(endpoint)
            kind = queue.popleft() if queue else None
            if kind is None and st.random_rate and st.rng.random() < st.random_rate:
                kind = st.rng.choice(st.random_kinds)
            if kind is not None:
                st.injected.append(Injected(kind, endpoint, self.path))
        return kind

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None,
              fault: str | None = None, accession: str | None = None) -> None:
        try:
            if fault == "slow":
                time.sleep(self.state.slow_seconds)
            if fault in ("500", "503"):
                status, body, headers = int(fault), b'{"status": "error"}', {}
            elif fault == "429":
                status, body = 429, b'{"status": "slow down"}'
                headers = {"Retry-After": self.state.retry_after}
            cut = len(body)
            length = len(body)
            if fault == "drop":
                cut = len(body) // 2
            elif fault == "truncate":
                cut = length = len(body) // 2
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(length))
            self.end_headers()
            self._write(body[:cut], accession)
            if fault == "drop":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True

    def _write(self, data: bytes, accession: str | None) -> None:
        step = 256 if self.state.throttle else len(data) or 1
        for i in range(0, len(data), step):
            piece = data[i:i + step]
            if accession:
                # Counted before the write: a client may have every byte (and its test go on to
                # read the count) before write() returns here.
                with self.state.lock:
                    self.state.bytes_served[accession] += len(piece)
            self.wfile.write(piece)
            if self.state.throttle:
                time.sleep(self.state.throttle)

    def _json(self, obj: object, status: int = 200, fault: str | None = None) -> None:
        self._send(status, json.dumps(obj).encode(), {"Content-Type": "application/json"},
                   fault)

    def _with_md5(self, obj: dict) -> dict:
        if obj.get("accession") in self.state.wrong_md5:
            obj = {**obj, "md5sum": "0" * 32}
        return obj

    # ---- routes

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        parts = urlsplit(self.path)
        path = [p for p in parts.path.split("/") if p]
        st = self.state
        if path[:1] == ["storage"] and len(path) == 3:
            return self._storage(path[1], self._fault("storage"))
        if path[:1] == ["files"] and len(path) == 4 and path[2] == "@@download":
            fault = self._fault("redirect")
            if fault in ("drop", "truncate"):
                # The connection closes before any answer.
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return None
            if fault == "slow":
                time.sleep(st.slow_seconds)
            if fault in ("500", "503", "429") or path[1] not in st.files:
                return self._json({"status": "not found"}, 404, fault)
            try:
                self.send_response(302)
                self.send_header("Location", f"/storage/{path[1]}/{path[3]}")
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:
                self.close_connection = True
            return None
        fault = self._fault("json")
        if path[:1] == ["experiments"] and len(path) == 2:
            exp = st.experiments.get(path[1])
            if exp is None:
                return self._json({"@graph": [], "status": "not found"}, 404, fault)
            exp = {**exp, "files": [self._with_md5(f) for f in exp.get("files", [])]}
            return self._json(exp, 200, fault)
        if path[:1] == ["files"] and len(path) == 2:
            item = st.files.get(path[1])
            if item is None:
                return self._json({"status": "not found"}, 404, fault)
            return self._json(self._with_md5(item["object"]), 200, fault)
        if path[:1] == ["search"]:
            query = dict(parse_qsl(parts.query))
            graph = [self._summary(e) for e in st.experiments.values() if _matches(e, query)]
            status = 200 if graph else 404  # the portal answers 404 to an empty search
            return self._json({"@graph": graph, "total": len(graph)}, status, fault)
        return self._json({"status": "not found"}, 404, fault)

    @staticmethod
    def _summary(exp: dict) -> dict:
        # frame=object: links as ids, no embedded files
        return {"accession": exp["accession"], "@id": exp["@id"], "status": exp["status"],
                "assay_title": exp["assay_title"]}

    def _storage(self, accession: str, fault: str | None) -> None:
        st = self.state
        item = st.files.get(accession)
        if item is None:
            return self._json({"status": "not found"}, 404, fault)
        data = (st.root / item["row"]["path"]).read_bytes()
        size = len(data)
        start = 0
        value = self.headers.get("Range", "")
        if fault == "badrange":
            # A 206 for bytes the client did not ask for (100 bytes further on).
            first = int(value[6:].partition("-")[0]) if value.startswith("bytes=") else 0
            begin = min(first + 100, size - 1)
            return self._send(206, data[begin:], {"Content-Range": f"bytes {begin}-{size - 1}/"
                                                  f"{size}"}, None, accession)
        if fault == "416":
            return self._send(416, b"", {"Content-Range": f"bytes */{size}"}, None)
        if fault == "oversize":
            return self._send(200, data + b"\0" * 1000,
                              {"Content-Type": "application/octet-stream"}, None, accession)
        if value.startswith("bytes=") and fault != "ignore_range":
            first, _, last = value[6:].partition("-")
            start = int(first)
            end = int(last) if last else size - 1
            with st.lock:
                st.range_starts.append((accession, start))
            if start >= size:
                return self._send(416, b"", {"Content-Range": f"bytes */{size}"}, fault)
            return self._send(206, data[start:end + 1],
                              {"Content-Range": f"bytes {start}-{end}/{size}",
                               "Content-Type": "application/octet-stream"}, fault, accession)
        with st.lock:
            st.range_starts.append((accession, 0))
        return self._send(200, data, {"Content-Type": "application/octet-stream",
                                      "Accept-Ranges": "bytes"}, fault, accession)


def _matches(exp: dict, query: dict[str, str]) -> bool:
    for key, value in query.items():
        if key in ("type", "format", "frame", "limit"):
            continue
        if key == "status":
            got = [exp.get("status")]
        elif key == "assay_title":
            got = [exp.get("assay_title")]
        elif key == "target.label":
            got = [(exp.get("target") or {}).get("label")]
        elif key == "biosample_ontology.term_name":
            got = [(exp.get("biosample_ontology") or {}).get("term_name")]
        elif key == "assembly":
            got = list(exp.get("assembly", []))
        else:
            return False
        if value not in got:
            return False
    return True


def add_variants(server: PortalServer) -> None:
    """Files and experiments that exercise the selection rules, backed by simulated bytes.

    - JUND.K562: a conservative set on hg19 (ENCFF001AAA), an archived one (ENCFF002AAA) and
      pseudoreplicated peaks (ENCFF003AAA), beside the simulated conservative and relaxed sets.
    - JUN in HeLa-S3 (not simulated): two experiments found by search; ENCSR222BBB, first by
      accession, has no GRCh38 relaxed set; ENCSR333CCC is an older experiment with one
      "IDR thresholded peaks" file per replicate set (the fallback output type).
    - H3K27ac.K562: pseudoreplicated peaks of one replicate (ENCFF555PKB) and a "fold change
      over control" bigWig (ENCFF555SGB; the largest simulated bigWig, for the resume tests).
    """
    conserved = server.accession_of("peaks/JUND.K562.conserved.narrowPeak.gz")
    relaxed = server.accession_of("peaks/JUND.K562.relaxed.narrowPeak.gz")
    server.add_file(JUND_K562, "ENCFF001AAA", conserved, assembly="hg19")
    server.add_file(JUND_K562, "ENCFF002AAA", conserved, status="archived")
    server.add_file(JUND_K562, "ENCFF003AAA", relaxed, output_type="pseudoreplicated peaks")
    jun = server.accession_of("peaks/JUN.K562.conserved.narrowPeak.gz")
    server.add_experiment("ENCSR222BBB", "TF ChIP-seq", "JUN", "HeLa-S3")
    server.add_file("ENCSR222BBB", "ENCFF222AAA", jun)
    server.add_file("ENCSR222BBB", "ENCFF222BBB", jun, output_type="optimal IDR thresholded "
                    "peaks", assembly="hg19")
    server.add_experiment("ENCSR333CCC", "TF ChIP-seq", "JUN", "HeLa-S3")
    server.add_file("ENCSR333CCC", "ENCFF333AAA", jun, output_type="IDR thresholded peaks",
                    biological_replicates=[1])
    server.add_file("ENCSR333CCC", "ENCFF333BBB", jun, output_type="IDR thresholded peaks")
    server.add_file("ENCSR333CCC", "ENCFF333CCC", jun, output_type="pseudoreplicated peaks")
    peaks = server.accession_of("features/K562.H3K27ac.narrowPeak.gz")
    server.add_file(H3K27AC_K562, "ENCFF555PKB", peaks, output_type="pseudoreplicated peaks",
                    biological_replicates=[1])
    server.add_file(H3K27AC_K562, "ENCFF555SGB",
                    server.accession_of("features/K562.H3K4me1.bigWig"),
                    output_type="fold change over control")


def start_portal(root: Path) -> PortalServer:
    """A started server for the simulated data set in ``root``, with :func:`add_variants`."""
    server = PortalServer(root)
    add_variants(server)
    return server.start()


# --------------------------------------------------------------------------------------------
# the fault ledger: every injected fault and what became of the file


@dataclass
class Ledger:
    faults: Counter = field(default_factory=Counter)
    outcomes: Counter = field(default_factory=Counter)
    corrupt: int = 0

    def record(self, server: PortalServer, outcomes: dict[str, int]) -> None:
        for item in server.state.injected:
            self.faults[item.kind] += 1
        server.state.injected.clear()
        self.outcomes.update(outcomes)

    def report(self) -> str:
        total = sum(self.faults.values())
        lines = [f"ENCODE loopback portal: {total} injected fault(s); corrupt outputs: "
                 f"{self.corrupt}",
                 "  faults: " + ", ".join(f"{k}={v}" for k, v in sorted(self.faults.items())),
                 "  outputs: " + ", ".join(f"{k}={v}" for k, v in sorted(self.outcomes.items()))]
        return "\n".join(lines)


LEDGER = Ledger()


def check_output(path: Path, md5: str) -> str:
    """'verified' when ``path`` holds the expected bytes, 'absent' when it does not exist.

    Anything else is a corrupt output: counted in the ledger and an assertion error.
    """
    if not path.exists():
        return "absent"
    if _md5(path) == md5:
        return "verified"
    LEDGER.corrupt += 1
    raise AssertionError(f"{path}: corrupt output (md5 {_md5(path)} != {md5})")


# --------------------------------------------------------------------------------------------
# a small project with source: encode


def write_project(tmp: Path, portal_url: str, conditions: str, features: str,
                  encode_extra: dict | None = None, relative: bool = False) -> Path:
    """A configuration with source encode and its two sheets in ``tmp``."""
    (tmp / "config").mkdir(parents=True, exist_ok=True)
    (tmp / "config" / "conditions.tsv").write_text(conditions)
    (tmp / "config" / "cell_features.tsv").write_text(features)
    prefix = "" if relative else f"{tmp}/"
    config = {
        "source": "encode",
        "conditions": f"{prefix}config/conditions.tsv",
        "cell_features": f"{prefix}config/cell_features.tsv",
        "genome": {"chromosomes": ["chr1", "chr2", "chr21"]},
        "splits": {"train": ["chr2"], "valid": ["chr21"], "test": ["chr1"]},
        "encode": {"portal": portal_url, "requests_per_second": 1000, "retries": 8,
                   "backoff": 0.01, "max_wait": 0.05, "timeout": {"connect": 2, "read": 0.5},
                   "chunk_size": 512, **(encode_extra or {})},
    }
    path = tmp / "config" / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


# JUND.K562 and H3K27ac.K562 pinned to their simulated experiments; JUN.K562 and DNase.K562
# found by search.
CONDITIONS = f"tf\tcell_type\texperiment\tpanel\nJUND\tK562\t{JUND_K562}\ttrain\nJUN\tK562\t\ttrain\n"
FEATURES = f"cell_type\tassay\texperiment\nK562\tDNase\t\nK562\tH3K27ac\t{H3K27AC_K562}\n"
