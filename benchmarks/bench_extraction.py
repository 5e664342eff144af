"""Feature extraction throughput against the raw sequential read speed of the same bigWigs.

Raw: every bigWig read whole, chromosome by chromosome in 16-Mb ``values(numpy=True)`` calls.
Ours: the rules' two steps, ``write_inpeak`` per track (the bigWig read inside peaks) then
``InPeakSignal.windows`` over every example. Both are expressed as examples x tracks per second
(raw: the examples of the same data set divided by the time to read the bigWigs).
Goal: ours at least half the raw speed.

    python benchmarks/bench_extraction.py --root resources/simulated   # an existing data set
    python benchmarks/bench_extraction.py --examples 50000              # synthetic inputs
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import pyBigWig

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from nettime.data.genome import Genome, read_blacklist  # noqa: E402
from nettime.data.peaks import build_examples  # noqa: E402
from nettime.data.signals import READ_BLOCK, InPeakSignal, chromosome_blocks, write_inpeak  # noqa: E402
from nettime.files import read_chrom_sizes  # noqa: E402


def raw_read_seconds(bigwigs: list[Path]) -> tuple[float, int]:
    """Seconds to read every base of every bigWig, and the bases read."""
    t, bases = time.perf_counter(), 0
    for path in bigwigs:
        bw = pyBigWig.open(str(path))
        for chrom, size in bw.chroms().items():
            for lo in range(0, size, READ_BLOCK):
                values = bw.values(chrom, lo, min(lo + READ_BLOCK, size), numpy=True)
                bases += len(values)
        bw.close()
    return time.perf_counter() - t, bases


def measure(root: Path, out: Path, length: int = 1000) -> dict:
    sizes = read_chrom_sizes(root / "genome/chrom.sizes")
    peak_files = sorted((root / "peaks").glob("*.narrowPeak.gz"))
    bigwigs = sorted((root / "features").glob("*.bigWig"))
    with Genome(root / "genome/genome.fa") as genome:
        examples = build_examples(peak_files, genome, sizes, list(sizes),
                                  read_blacklist(root / "genome/blacklist.bed", sizes),
                                  length=length)
    raw_s, bases = raw_read_seconds(bigwigs)
    t = time.perf_counter()
    files = []
    for path in bigwigs:
        files.append(out / (path.stem + ".inpeak.h5"))
        write_inpeak(path, str(path).replace(".bigWig", ".narrowPeak.gz"), sizes, files[-1],
                     progress=False)
    inpeak_s = time.perf_counter() - t
    t = time.perf_counter()
    checksum = 0.0
    starts = examples["start"].to_numpy()
    for path in files:
        with InPeakSignal(path) as signal:
            for chrom, a, b in chromosome_blocks(examples, 2048):
                checksum += float(signal.windows(chrom, starts[a:b], length).sum())
    windows_s = time.perf_counter() - t
    work = len(examples) * len(bigwigs)
    return {"examples": len(examples), "tracks": len(bigwigs), "genome_bases": bases // max(
        len(bigwigs), 1), "raw_read_s": raw_s, "raw_mbases_per_s": bases / raw_s / 1e6,
        "raw_rate": work / raw_s, "inpeak_s": inpeak_s, "windows_s": windows_s,
        "ours_rate": work / (inpeak_s + windows_s), "windows_rate": work / windows_s,
        "ratio": raw_s / (inpeak_s + windows_s), "checksum": checksum}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", help="resources/{source} of an existing data set")
    parser.add_argument("--examples", type=int, default=20000,
                        help="size of the synthetic inputs when --root is not given")
    parser.add_argument("--out", default=str(HERE / "out/extraction.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nettime-bench-") as tmp:
        if args.root:
            root = Path(args.root)
        else:
            import synthetic

            root = Path(tmp) / "inputs"
            synthetic.make_inputs(root, args.examples)
        result = measure(root, Path(tmp))
    result["source"] = args.root or f"synthetic {args.examples}"
    print(f"inputs: {result['source']}: {result['examples']} examples x {result['tracks']} "
          f"tracks, {result['genome_bases'] / 1e6:.1f} Mb genome")
    print(f"raw sequential bigWig read: {result['raw_read_s']:.2f} s "
          f"({result['raw_mbases_per_s']:.1f} Mb/s) = {result['raw_rate']:.0f} examples x "
          "tracks / s")
    print(f"ours: in-peak read {result['inpeak_s']:.2f} s + windows {result['windows_s']:.2f} s "
          f"= {result['ours_rate']:.0f} examples x tracks / s "
          f"(windows alone {result['windows_rate']:.0f}/s)")
    print(f"ours / raw = {result['ratio']:.2f} (goal >= 0.5)")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
