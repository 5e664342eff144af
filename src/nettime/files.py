"""File conventions shared by every stage: atomic outputs, checksums and provenance, text that
may be gzipped, chromosome sizes, and the error raised for a malformed input file.

One convention each:

- **Atomic outputs.** A library function that writes a pipeline output takes the final path and
  writes it through :func:`atomic_output` itself: the file is written under a temporary name in
  its final directory, flushed to disk, and renamed into place only when complete, so a killed
  run never leaves a half-written file that looks finished. Workflow scripts never wrap it.
- **Gzipped or plain text** is opened with :func:`open_text`, which looks at the magic bytes,
  not at the file name.
- **Chromosome sizes** (``chrom<TAB>size``) are read with :func:`read_chrom_sizes`.
- **BED and narrowPeak rows** are read with :func:`bed_rows` and :func:`narrowpeak_rows`, which
  skip the same header lines and check intervals with the same messages everywhere.
- **Provenance**: an output that records its inputs stores :func:`provenance` of them, path ->
  md5.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Self

PathLike = str | os.PathLike[str]
#: Starts of the lines of a BED or narrowPeak file that hold no interval.
HEADER_PREFIXES = ("#", "track", "browser")
#: Fields of a narrowPeak row.
NARROWPEAK_FIELDS = 10


class DataError(ValueError):
    """An input data file is malformed or inconsistent; the message names the file and the
    line or chromosome, so the command line prints it as one line."""


@contextlib.contextmanager
def atomic_output(path: PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` when the block succeeds.

    The temporary file keeps ``suffix`` (e.g. ``".bigWig"``) for libraries that look at the
    extension. Before the rename the file's data are flushed to disk (``fsync``), and after it
    the directory entry too, so that a power loss cannot leave a renamed but empty file. On an
    exception the temporary file is removed and ``path`` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix + ".tmp",
                                        dir=path.parent)
    os.close(handle)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # mkstemp creates 0600; give the output the permissions of a normally created file.
        os.chmod(tmp, 0o666 & ~_current_umask())
        durable_replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class AtomicWriter:
    """Base of writers whose file appears under its name only when they close without error
    (use them as context managers). A subclass opens ``self.tmp`` inside :meth:`opening` (an
    error there removes the temporary file) and closes what it opened in
    :meth:`close_handles`."""

    def __init__(self, path: PathLike, suffix: str = ""):
        self._atomic = atomic_output(path, suffix=suffix)
        self.tmp = self._atomic.__enter__()

    @contextlib.contextmanager
    def opening(self) -> Iterator[None]:
        """Wrap the subclass's set-up: on an error the writer closes and nothing is left."""
        try:
            yield
        except BaseException as error:
            self.close(error)
            raise

    def close_handles(self) -> None:
        """Close what the subclass opened on ``self.tmp`` (possibly only in part)."""

    def close(self, error: BaseException | None = None) -> None:
        """Close the file and, unless ``error`` is given, move it into place."""
        try:
            self.close_handles()
        except BaseException as closing:
            error = error or closing
            raise
        finally:
            if error is None:
                self._atomic.__exit__(None, None, None)
            else:
                self._atomic.__exit__(type(error), error, error.__traceback__)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close(error)


def durable_replace(tmp: PathLike, path: PathLike) -> None:
    """Rename a complete file ``tmp`` to ``path`` so that it survives a power loss.

    The file's data are flushed to disk (``fsync``) before the rename and the directory entry
    after it: without the first, a crash could leave ``path`` renamed but empty; without the
    second, the rename itself could be lost.
    """
    _fsync_file(Path(tmp))
    os.replace(tmp, path)
    _fsync_directory(Path(path).parent)


def _fsync_file(path: Path) -> None:
    if path.is_file():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())


def _fsync_directory(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # some file systems do not open directories
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_output(path) as tmp:
        tmp.write_text(text)


def md5sum(path: PathLike, block_size: int = 1 << 20) -> str:
    """Hex MD5 digest of a file, read in blocks."""
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(block_size), b""):
            digest.update(block)
    return digest.hexdigest()


def provenance(paths: Iterable[PathLike]) -> dict[str, str]:
    """Path (as given) -> md5 of each input file, in the order given."""
    return {os.fspath(path): md5sum(path) for path in paths}


def open_text(path: PathLike) -> IO[str]:
    """Open a text file for reading, gunzipping it when it starts with the gzip magic bytes.

    Raises
    ------
    DataError
        When the file cannot be opened, naming it.
    """
    try:
        with open(path, "rb") as probe:
            magic = probe.read(2)
    except OSError as error:
        raise DataError(f"{path}: cannot read the file: {error.strerror}") from None
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt")
    return open(path)


def read_chrom_sizes(path: PathLike) -> dict[str, int]:
    """Read a two-column ``chrom<TAB>size`` file; chromosomes in file order.

    Raises
    ------
    DataError
        Naming the file and line of a malformed row, a repeated chromosome or an empty file.
    """
    sizes: dict[str, int] = {}
    with open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.rstrip("\r\n").split("\t")
            if len(fields) < 2 or not fields[1].strip().isdigit():
                raise DataError(f"{path}:{number}: expected 'chromosome<TAB>size' with a "
                                f"positive integer size, got {line.rstrip()!r}")
            if fields[0] in sizes:
                raise DataError(f"{path}:{number}: chromosome {fields[0]!r} appears twice")
            sizes[fields[0]] = int(fields[1])
    if not sizes:
        raise DataError(f"{path}: no chromosomes")
    return sizes


def bed_rows(path: PathLike) -> Iterator[tuple[str, list[str]]]:
    """The rows of a BED-like text file (gzipped or not), in file order.

    Blank lines, ``#`` comments and ``track``/``browser`` lines are skipped.

    Yields
    ------
    tuple
        ``where`` (``"{path}:{line number}"``, to name the row in messages) and the line's
        tab-separated fields (str), its line end dropped.

    Raises
    ------
    DataError
        When the file cannot be read, or is neither text nor intact gzip, naming it.
    """
    with open_text(path) as handle:
        try:
            for number, line in enumerate(handle, start=1):
                if line.strip() and not line.startswith(HEADER_PREFIXES):
                    yield f"{path}:{number}", line.rstrip("\r\n").split("\t")
        except (UnicodeDecodeError, EOFError, gzip.BadGzipFile) as error:
            raise DataError(f"{path}: not a readable text or gzip file: {error}") from None


def bed_interval(fields: Sequence[str], where: str) -> tuple[int, int]:
    """Start and end of a BED-like row's fields, checked: integers with 0 <= start < end.

    Raises
    ------
    DataError
        Naming ``where`` (see :func:`bed_rows`) and the field.
    """
    try:
        start, end = int(fields[1]), int(fields[2])
    except ValueError:
        raise DataError(f"{where}: fields 'start' and 'end' must be integers, got "
                        f"{fields[1]!r} and {fields[2]!r}") from None
    if not 0 <= start < end:
        raise DataError(f"{where}: field 'start' ({start}) must be >= 0 and less than field "
                        f"'end' ({end})")
    return start, end


def narrowpeak_rows(path: PathLike) -> Iterator[tuple[str, list[str], int, int]]:
    """The peaks of a narrowPeak file (gzipped or not), in file order, each checked: 10
    tab-separated fields and a valid interval (:func:`bed_interval`).

    Yields
    ------
    tuple
        ``where`` (see :func:`bed_rows`), the 10 fields (str), start and end (int).

    Raises
    ------
    DataError
        Naming the file, line and field of the first malformed row.
    """
    for where, fields in bed_rows(path):
        if len(fields) != NARROWPEAK_FIELDS:
            raise DataError(f"{where}: expected {NARROWPEAK_FIELDS} tab-separated narrowPeak "
                            f"fields, found {len(fields)}")
        yield where, fields, *bed_interval(fields, where)
