"""What a project wants from the portal (one entry per condition, cell-type assay and reference)
and the lock table that records every resolved file, so that a rerun downloads exactly the same
files."""


from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from nettime.files import atomic_output
from nettime.sources.encode.settings import EncodeError


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
