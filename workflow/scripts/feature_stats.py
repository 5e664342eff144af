"""Rule `feature_stats`: z-score statistics of every signal and motif track over a split."""

import json
import sys

from nettime.dataset import compute_stats
from nettime.files import atomic_output
from nettime.genome import Genome
from nettime.motif_features import load_ppm
from nettime.peaks import read_bed

sys.stderr = open(snakemake.log[0], "w")

cell_assays = [tuple(name.split(".")) for name in snakemake.params.cell_assays]
inpeak = dict(zip(cell_assays, snakemake.input.signals, strict=True))
ppms = {tf: load_ppm(spec, snakemake.params.motif_dir or None)
        for tf, spec in snakemake.params.motifs.items()}
with Genome(snakemake.input.fasta) as genome:
    stats = compute_stats(read_bed(snakemake.input.examples), snakemake.params.window, inpeak,
                          genome, ppms)
with atomic_output(snakemake.output[0], suffix=".json") as tmp:
    tmp.write_text(json.dumps(stats, indent=1) + "\n")
