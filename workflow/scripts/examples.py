"""Rule `examples`: pooled, merged peaks -> example windows of one split."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from nettime.data.peaks import build_examples_file  # noqa: E402

examples = build_examples_file(snakemake.input.peaks, snakemake.input.fasta,
                               snakemake.input.sizes, snakemake.input.blacklist,
                               snakemake.params.chromosomes, snakemake.params.peaks,
                               snakemake.output[0])
print(f"{len(examples)} examples on {examples['chrom'].nunique()} chromosomes", file=sys.stderr)
