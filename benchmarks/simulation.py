"""Time the simulated data set at a given scale (default: demo, every stage) and measure the
planted motifs' enrichment in each TF's conserved peaks.

    python benchmarks/simulation.py [--config config/config.yaml] [--scale demo]
                                    [--outdir /tmp/nettime-sim-bench]

Prints the wall time per stage and in all, the size on disk, and per TF the fraction of its
conserved peaks (pooled over its cell types) with a FIMO hit of its planted motif at p < 1e-4,
the same fraction in random genome windows of the same widths, and their ratio.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from nettime.config import load_project, split_condition
from nettime.sources.simulate.cell import simulate_cell
from nettime.sources.simulate.checks import motif_enrichment
from nettime.sources.simulate.common import panel_motifs, world_spec
from nettime.sources.simulate.condition import simulate_condition
from nettime.sources.simulate.portal import write_portal
from nettime.sources.simulate.world import simulate_world


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config/config.yaml")
    parser.add_argument("--scale", default=None, help="default: the config's")
    parser.add_argument("--outdir", default="/tmp/nettime-sim-bench")
    parser.add_argument("--keep", action="store_true", help="keep the output folder")
    args = parser.parse_args()

    project = load_project(args.config)
    out = Path(args.outdir)
    shutil.rmtree(out, ignore_errors=True)
    times = {}
    start = time.perf_counter()
    spec = world_spec(project, scale=args.scale)
    simulate_world(spec, out)
    times["world"] = time.perf_counter() - start
    mark = time.perf_counter()
    motifs = panel_motifs(project)
    for name in project.condition_names():
        tf, cell = split_condition(name)
        simulate_condition(out, tf, cell, motif=motifs[tf])
    times[f"conditions ({len(project.conditions)})"] = time.perf_counter() - mark
    mark = time.perf_counter()
    for cell in project.cell_types:
        simulate_cell(out, cell, project.assays_of(cell))
    times[f"cell types ({len(project.cell_types)})"] = time.perf_counter() - mark
    mark = time.perf_counter()
    write_portal(project, out)
    times["portal"] = time.perf_counter() - mark
    total = time.perf_counter() - start

    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    genome = sum(int(line.split("\t")[1]) for line in
                 (out / "genome/chrom.sizes").read_text().splitlines())
    print(f"config {args.config}, scale {spec.scale}, seed {spec.seed}: genome {genome / 1e6:.2f} "
          f"Mb, {len(project.tfs)} TFs, {len(project.cell_types)} cell types, "
          f"{len(project.conditions)} conditions")
    for stage, seconds in times.items():
        print(f"  {stage:<22s} {seconds:7.1f} s")
    print(f"  {'all stages (1 core)':<22s} {total:7.1f} s")
    print(f"size on disk: {size / 2**20:.1f} MiB in {sum(1 for p in out.rglob('*') if p.is_file())}"
          " files")

    print("\nplanted-motif enrichment in conserved peaks (FIMO p < 1e-4)")
    print(f"{'TF':<7s} {'motif':<9s} {'peaks':>6s} {'in peaks':>9s} {'background':>11s} "
          f"{'ratio':>6s}")
    for tf in project.tfs:
        cells = list(project.conditions.loc[project.conditions["tf"] == tf, "cell_type"])
        in_peaks, in_background, n = motif_enrichment(out, tf, cells, motifs[tf])
        ratio = in_peaks / in_background if in_background else float("inf")
        print(f"{tf:<7s} {motifs[tf].matrix_id:<9s} {n:6d} {in_peaks:9.3f} {in_background:11.3f} "
              f"{ratio:6.1f}")
    if not args.keep:
        shutil.rmtree(out)


if __name__ == "__main__":
    main()
