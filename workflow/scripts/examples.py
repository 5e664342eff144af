"""Rule `examples`: pooled, merged peaks -> example windows of one split."""

import sys

from nettime.files import atomic_output
from nettime.genome import Genome, read_blacklist, read_chrom_sizes
from nettime.peaks import build_examples, write_bed

sys.stderr = open(snakemake.log[0], "w")

options = snakemake.params.peaks
sizes = read_chrom_sizes(snakemake.input.sizes)
with Genome(snakemake.input.fasta) as genome:
    examples = build_examples(
        snakemake.input.peaks, genome, sizes, snakemake.params.chromosomes,
        read_blacklist(snakemake.input.blacklist, sizes), min_overlap=options["min_overlap"],
        max_union=options["max_union"], max_peak_length=options["max_peak_length"],
        length=options["window"])
with atomic_output(snakemake.output[0], suffix=".bed") as tmp:
    write_bed(examples, tmp)
print(f"{len(examples)} examples on {examples['chrom'].nunique()} chromosomes", file=sys.stderr)
