"""Rule `examples`: pooled, merged peaks -> example windows of every split and their sequence."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from nettime.data.writer import build_examples  # noqa: E402

counts = build_examples(snakemake.input.peaks, snakemake.input.fasta, snakemake.input.sizes,
                        snakemake.input.blacklist, snakemake.params.splits,
                        snakemake.params.peaks, dict(zip(snakemake.params.splits,
                                                         snakemake.output.beds, strict=True)),
                        dict(zip(snakemake.params.splits, snakemake.output.sequences,
                                 strict=True)))
print(f"examples per split: {counts}", file=sys.stderr)
