"""Rule `export_embeddings`: a model's trained embedding vectors as TSV."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from nettime.models.network import export_embeddings  # noqa: E402

export_embeddings(snakemake.input[0], snakemake.output[0])
