"""A loopback ENCODE portal for the tests: a data builder, an HTTP server, a fault ledger.

The server reads a portal directory laid out as CONTRACTS.md describes (``portal/experiments/
{ENCSR}.json`` with embedded ``files``; ``portal/files.tsv`` with accession, path relative to
the data root, md5sum, file_size, output_type, experiment) and answers like the portal:
experiment and file JSON, ``/search/`` with ``@graph`` (404 when nothing matches), and
``/files/{ENCFF}/@@download/{name}`` with a 302 redirect to a storage path that serves the bytes
and honours ``Range``. Faults are injected per request from a plan (or at random); every
injected fault is recorded.

:func:`build_portal` writes a small data set of real files (gzipped narrowPeak, bigWig,
gzipped FASTA, blacklist) in that layout. The server does not depend on the builder, so the
simulated data set (``resources/simulated``) can be served in its place.
"""

from __future__ import annotations

import csv
import gzip
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

import numpy as np
import pyBigWig
import yaml

FAULT_KINDS = ("500", "503", "429", "drop", "truncate", "slow")
CHROM_SIZES = {"chr1": 30000, "chr2": 25000, "chr21": 20000, "chrUn_KI270302v1": 600,
               "chrEBV": 400}


# --------------------------------------------------------------------------------------------
# builder


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _narrowpeak(path: Path, rng: np.random.Generator, n: int) -> None:
    chroms = ["chr1", "chr2", "chr21", "chrX"]
    with gzip.open(path, "wt") as out:
        for i in range(n):  # unsorted on purpose
            chrom = chroms[int(rng.integers(len(chroms)))]
            start = int(rng.integers(0, 19000))
            width = int(rng.integers(100, 600))
            summit = int(rng.integers(0, width))
            out.write(f"{chrom}\t{start}\t{start + width}\tpeak{i}\t{int(rng.integers(0, 1000))}"
                      f"\t.\t{rng.uniform(1, 50):.3f}\t{rng.uniform(1, 30):.3f}"
                      f"\t{rng.uniform(1, 30):.3f}\t{summit}\n")


def _bigwig(path: Path, rng: np.random.Generator) -> None:
    sizes = [(c, s) for c, s in CHROM_SIZES.items() if c in ("chr1", "chr2", "chr21")]
    handle = pyBigWig.open(str(path), "w")
    handle.addHeader(sizes)
    for chrom, size in sizes:
        starts = np.arange(0, size - 50, 50, dtype=np.int64)
        values = rng.gamma(1.0, 2.0, size=len(starts))
        handle.addEntries([chrom] * len(starts), starts.tolist(), ends=(starts + 50).tolist(),
                          values=values.tolist())
    handle.close()


def _fasta(path: Path, rng: np.random.Generator) -> None:
    with gzip.open(path, "wt") as out:
        for chrom, size in CHROM_SIZES.items():
            seq = "".join(rng.choice(list("ACGT"), size=size))
            out.write(f">{chrom}  AC:test  LN:{size}\n")
            for i in range(0, size, 70):  # not the 60 columns we write, on purpose
                out.write(seq[i:i + 70] + "\n")


@dataclass
class PortalFile:
    accession: str
    experiment: str
    output_type: str
    kind: str  # narrowPeak | bigWig | fasta | bed
    assembly: str = "GRCh38"
    status: str = "released"
    replicates: tuple[int, ...] = (1, 2)
    preferred: bool = False


def _experiment(accession: str, assay_title: str, target: str, cell: str,
                files: list[dict]) -> dict:
    obj = {"accession": accession, "@id": f"/experiments/{accession}/", "status": "released",
           "assay_title": assay_title, "biosample_ontology": {"term_name": cell},
           "assembly": sorted({f["assembly"] for f in files}), "files": files}
    if target:
        obj["target"] = {"label": target}
    return obj


EXPERIMENTS = {
    # accession: (assay_title, target, cell type, files)
    "ENCSR000EGN": ("TF ChIP-seq", "JUND", "K562", [
        PortalFile("ENCFF774OPQ", "ENCSR000EGN", "conservative IDR thresholded peaks",
                   "narrowPeak"),
        PortalFile("ENCFF337DKJ", "ENCSR000EGN", "optimal IDR thresholded peaks", "narrowPeak"),
        PortalFile("ENCFF001AAA", "ENCSR000EGN", "conservative IDR thresholded peaks",
                   "narrowPeak", assembly="hg19"),
        PortalFile("ENCFF002AAA", "ENCSR000EGN", "conservative IDR thresholded peaks",
                   "narrowPeak", status="archived"),
        PortalFile("ENCFF003AAA", "ENCSR000EGN", "pseudoreplicated peaks", "narrowPeak"),
    ]),
    # Two candidates for JUN in K562: the first (by accession) lacks a GRCh38 relaxed set.
    "ENCSR222BBB": ("TF ChIP-seq", "JUN", "K562", [
        PortalFile("ENCFF222AAA", "ENCSR222BBB", "conservative IDR thresholded peaks",
                   "narrowPeak"),
        PortalFile("ENCFF222BBB", "ENCSR222BBB", "optimal IDR thresholded peaks", "narrowPeak",
                   assembly="hg19"),
    ]),
    # An older experiment: one IDR set per replicate pair (the fallback output type).
    "ENCSR333CCC": ("TF ChIP-seq", "JUN", "K562", [
        PortalFile("ENCFF333AAA", "ENCSR333CCC", "IDR thresholded peaks", "narrowPeak",
                   replicates=(1,)),
        PortalFile("ENCFF333BBB", "ENCSR333CCC", "IDR thresholded peaks", "narrowPeak"),
        PortalFile("ENCFF333CCC", "ENCSR333CCC", "pseudoreplicated peaks", "narrowPeak"),
    ]),
    "ENCSR444DDD": ("DNase-seq", "", "K562", [
        PortalFile("ENCFF444PKA", "ENCSR444DDD", "peaks", "narrowPeak"),
        PortalFile("ENCFF444SGA", "ENCSR444DDD", "read-depth normalized signal", "bigWig"),
    ]),
    "ENCSR555EEE": ("Histone ChIP-seq", "H3K27ac", "K562", [
        PortalFile("ENCFF555PKA", "ENCSR555EEE", "replicated peaks", "narrowPeak"),
        PortalFile("ENCFF555PKB", "ENCSR555EEE", "pseudoreplicated peaks", "narrowPeak",
                   replicates=(1,)),
        PortalFile("ENCFF555SGA", "ENCSR555EEE", "signal p-value", "bigWig"),
        PortalFile("ENCFF555SGB", "ENCSR555EEE", "fold change over control", "bigWig"),
    ]),
}
REFERENCES = [PortalFile("GRCh38_no_alt_analysis_set_GCA_000001405.15", "", "genome reference",
                         "fasta", replicates=()),
              PortalFile("ENCFF356LFX", "", "exclusion list", "bed", replicates=())]
EXTENSIONS = {"narrowPeak": ".bed.gz", "bigWig": ".bigWig", "fasta": ".fasta.gz",
              "bed": ".bed.gz"}


def build_portal(root: Path, seed: int = 7) -> dict[str, str]:
    """Write real files and their portal metadata under ``root``; return accession -> md5.

    Layout: ``root/files/{accession}{ext}``, ``root/portal/experiments/{ENCSR}.json``,
    ``root/portal/files.tsv`` (paths relative to ``root``).
    """
    rng = np.random.default_rng(seed)
    (root / "files").mkdir(parents=True, exist_ok=True)
    (root / "portal" / "experiments").mkdir(parents=True, exist_ok=True)
    rows = []
    md5s = {}

    def make(pf: PortalFile) -> dict:
        path = root / "files" / f"{pf.accession}{EXTENSIONS[pf.kind]}"
        if pf.kind == "narrowPeak":
            _narrowpeak(path, rng, int(rng.integers(150, 300)))
        elif pf.kind == "bigWig":
            _bigwig(path, rng)
        elif pf.kind == "fasta":
            _fasta(path, rng)
        else:
            with gzip.open(path, "wt") as out:
                out.write("chr2\t100\t400\nchr1\t5000\t5200\nchrEBV\t0\t100\nchr1\t10\t50\n")
        md5s[pf.accession] = _md5(path)
        size = path.stat().st_size
        rows.append({"accession": pf.accession, "path": str(path.relative_to(root)),
                     "md5sum": md5s[pf.accession], "file_size": size,
                     "output_type": pf.output_type, "experiment": pf.experiment})
        file_format = {"narrowPeak": "bed", "bigWig": "bigWig", "fasta": "fasta",
                       "bed": "bed"}[pf.kind]
        return {"accession": pf.accession, "@id": f"/files/{pf.accession}/",
                "file_format": file_format,
                "file_format_type": "narrowPeak" if pf.kind == "narrowPeak" else None,
                "file_type": "bed narrowPeak" if pf.kind == "narrowPeak" else file_format,
                "output_type": pf.output_type, "assembly": pf.assembly, "status": pf.status,
                "md5sum": md5s[pf.accession], "file_size": size,
                "href": f"/files/{pf.accession}/@@download/{path.name}",
                "biological_replicates": list(pf.replicates),
                "technical_replicates": [f"{r}_1" for r in pf.replicates],
                "preferred_default": pf.preferred, "dataset": (
                    f"/experiments/{pf.experiment}/" if pf.experiment else None)}

    for accession, (title, target, cell, files) in EXPERIMENTS.items():
        objects = [make(pf) for pf in files]
        exp = _experiment(accession, title, target, cell, objects)
        (root / "portal" / "experiments" / f"{accession}.json").write_text(
            json.dumps(exp, indent=1))
    for pf in REFERENCES:
        make(pf)
    with open(root / "portal" / "files.tsv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]), delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return md5s


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
        embedded = {f["accession"]: f for e in st.experiments.values()
                    for f in e.get("files", []) if isinstance(f, dict)}
        with open(st.root / "portal" / "files.tsv", newline="") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                obj = dict(embedded.get(row["accession"]) or _file_object(row))
                st.files[row["accession"]] = {"row": row, "object": obj}

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


def _file_object(row: dict) -> dict:
    """A file object for a files.tsv row that no experiment embeds (e.g. references)."""
    name = Path(row["path"]).name
    fmt = "fasta" if ".fa" in name else "bigWig" if name.endswith(".bigWig") else "bed"
    return {"accession": row["accession"], "@id": f"/files/{row['accession']}/",
            "file_format": fmt, "output_type": row["output_type"], "assembly": "GRCh38",
            "status": "released", "md5sum": row["md5sum"], "file_size": int(row["file_size"]),
            "href": f"/files/{row['accession']}/@@download/{name}",
            "biological_replicates": [], "preferred_default": False}


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
            self.wfile.write(piece)
            if accession:
                with self.state.lock:
                    self.state.bytes_served[accession] += len(piece)
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
        if value.startswith("bytes="):
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


CONDITIONS = "tf\tcell_type\texperiment\tpanel\nJUND\tK562\tENCSR000EGN\ttrain\nJUN\tK562\t\ttrain\n"
FEATURES = "cell_type\tassay\texperiment\nK562\tDNase\t\nK562\tH3K27ac\tENCSR555EEE\n"
