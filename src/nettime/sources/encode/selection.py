"""Which ENCODE file serves each role: the selection rules, and resolution of a project's wanted
files against the portal (experiment JSON, or a search when a row has no accession).

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

import datetime as dt
import logging
import os
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from nettime.sources.encode.client import PortalClient
from nettime.sources.encode.lock import LockEntry, Wanted, read_lock, write_lock
from nettime.sources.encode.settings import (
    ASSAY_TITLES,
    HISTONE_ASSAYS,
    ROLE_FORMATS,
    ResolutionError,
    Settings,
)

log = logging.getLogger(__name__)



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
