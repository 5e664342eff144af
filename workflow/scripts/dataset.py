"""Rule `dataset`: the HDF5 data set of one split."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from nettime.config import config_hash  # noqa: E402
from nettime.data.writer import build_dataset  # noqa: E402

params = snakemake.params
build_dataset(
    snakemake.output[0], snakemake.input.examples, snakemake.input.fasta, params.window,
    inpeak=dict(zip([tuple(name.split(".")) for name in params.cell_assays],
                    snakemake.input.signals, strict=True)),
    label_files=dict(zip(params.conditions, snakemake.input.labels, strict=True)),
    motifs=params.motifs, motif_dir=params.motif_dir, stats_json=snakemake.input.stats,
    attrs={"split": snakemake.wildcards.split, "normalisation": params.normalisation,
           "config_hash": config_hash(snakemake.config)})
