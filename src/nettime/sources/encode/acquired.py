"""The acquired files: downloads turned into the layout that every source shares (narrowPeak,
BED, bigWig, FASTA with its index and chromosome sizes under ``resources/{source}``)."""


from __future__ import annotations

import gzip
import logging
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

from nettime.files import DataError, atomic_output, narrowpeak_rows, open_text
from nettime.sources.encode.client import PortalClient
from nettime.sources.encode.lock import LockEntry
from nettime.sources.encode.settings import EncodeError

log = logging.getLogger(__name__)



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
    """The verified raw file of a lock entry in ``downloads`` (downloaded unless present and
    verified)."""
    # The client reuses a verified file, replaces a wrong one and lets one job download at a
    # time: checking here, outside its lock, could remove a file another job just verified.
    name = Path(urlsplit(entry.url).path).name or entry.accession
    dest = Path(downloads) / name
    label = f"{entry.accession} ({entry.key} {entry.role})"
    return client.download(client.rebase(entry.url), dest, entry.md5sum, entry.file_size,
                           label)



def write_narrowpeak(raw: str | os.PathLike[str], target: str | os.PathLike[str],
                     chromosomes: Iterable[str]) -> int:
    """Check a narrowPeak file, keep the given chromosomes, sort by chrom/start, gzip it.

    Returns the number of peaks written. Raises :class:`EncodeError` naming the file and line
    of the first malformed row.
    """
    keep = set(chromosomes)
    try:
        rows = [(cols[0], start, end, "\t".join(cols))
                for _, cols, start, end in narrowpeak_rows(raw) if cols[0] in keep]
    except DataError as error:
        raise EncodeError(str(error)) from None
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
    with open_text(raw) as handle:
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
    with atomic_output(fasta) as tmp, open(tmp, "w") as out, open_text(Path(raw)) as handle:
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
