"""Snakemake script: the findings table, one row per claim, from the figures' numbers."""

import sys

from nettime import figures

sys.stderr = open(snakemake.log[0], "w")  # open for the whole job
inputs = dict(snakemake.input.items())
fig2 = {name[len("fig2_"):]: path for name, path in inputs.items() if name.startswith("fig2_")}
figures.findings(
    fig2,
    features=inputs.get("fig3a_features"),
    at_prediction=inputs.get("fig4a_embeddings_prediction"),
    at_training=inputs.get("fig4b_embeddings_training"),
    embedding_model=inputs.get("embedding_model"),
    families=snakemake.params.families,
    crf=inputs.get("fig7_crf"),
    out=snakemake.output[0],
)
