"""The file conventions (nettime.files): atomic outputs and writers, gzipped text, chromosome
sizes, provenance."""

import gzip
import os

import pytest

from nettime.files import (
    AtomicWriter,
    DataError,
    atomic_output,
    md5sum,
    open_text,
    provenance,
    read_chrom_sizes,
)


def test_atomic_output_appears_only_when_complete(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    with pytest.raises(RuntimeError), atomic_output(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert not target.exists() and list(target.parent.iterdir()) == []
    with atomic_output(target) as tmp:
        tmp.write_text("whole")
    assert target.read_text() == "whole"
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


class LinesWriter(AtomicWriter):
    def __init__(self, path, fail_in_setup=False):
        super().__init__(path)
        with self.opening():
            self.handle = open(self.tmp, "w")
            if fail_in_setup:
                raise ValueError("bad set-up")

    def close_handles(self):
        if hasattr(self, "handle"):
            self.handle.close()


def test_an_atomic_writer_leaves_nothing_behind_an_error(tmp_path):
    target = tmp_path / "lines.txt"
    with pytest.raises(ValueError, match="bad set-up"):
        LinesWriter(target, fail_in_setup=True)
    with pytest.raises(KeyError), LinesWriter(target) as writer:
        writer.handle.write("a\n")
        raise KeyError("killed while writing")
    assert list(tmp_path.iterdir()) == []
    with LinesWriter(target) as writer:
        writer.handle.write("a\n")
    assert target.read_text() == "a\n"


def test_open_text_reads_gzip_by_its_magic_bytes(tmp_path):
    plain, packed = tmp_path / "a.txt.gz", tmp_path / "b.txt"
    plain.write_text("x\n")  # a misleading name: not gzipped
    with gzip.open(packed, "wt") as handle:
        handle.write("y\n")
    with open_text(plain) as a, open_text(packed) as b:
        assert (a.read(), b.read()) == ("x\n", "y\n")
    with pytest.raises(DataError, match="missing.txt: cannot read the file"):
        open_text(tmp_path / "missing.txt")


@pytest.mark.parametrize(("text", "message"), [
    ("chr1\t100\nchr1\t200\n", ":2: chromosome 'chr1' appears twice"),
    ("chr1 100\n", ":1: expected 'chromosome<TAB>size'"),
    ("chr1\t-5\n", ":1: expected 'chromosome<TAB>size'"),
    ("# only a comment\n", "no chromosomes"),
])
def test_chrom_sizes_errors_name_file_and_line(tmp_path, text, message):
    path = tmp_path / "chrom.sizes"
    path.write_text(text)
    with pytest.raises(DataError, match=message):
        read_chrom_sizes(path)


def test_chrom_sizes_keep_file_order_and_provenance_keeps_paths_as_given(tmp_path):
    path = tmp_path / "chrom.sizes"
    path.write_text("chr2\t20\n\nchr1\t10\n")
    assert list(read_chrom_sizes(path).items()) == [("chr2", 20), ("chr1", 10)]
    assert provenance([path]) == {str(path): md5sum(path)}
