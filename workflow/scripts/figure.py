"""Snakemake script: one figure of the paper and the numbers it shows (nettime.figures)."""

import sys

from nettime import figures

sys.stderr = open(snakemake.log[0], "w")  # open for the whole job
name = snakemake.params.figure
files = snakemake.params.files
spec = snakemake.params.spec
pdf, tsv = snakemake.output.pdf, snakemake.output.tsv
if name.startswith("fig2_"):
    figures.figure_multitask(files["arms"], files["stl"], pdf, tsv, spec["title"],
                             group_by=spec["group_by"])
elif name == "fig3a_features":
    figures.figure_feature_settings(files["settings"], pdf, tsv)
elif name == "fig4a_embeddings_prediction":
    figures.figure_embeddings_at_prediction(files["trained"], files["variants"], pdf, tsv)
elif name == "fig4b_embeddings_training":
    figures.figure_embeddings_at_training(files["variants"], pdf, tsv)
elif name == "fig4c_tf_embeddings":
    figures.figure_tf_embedding_map(files["model"], snakemake.params.families, pdf, tsv)
elif name == "fig7_crf":
    figures.figure_binary_calls(files["metrics"], files["thresholds"], pdf, tsv)
else:
    raise ValueError(f"unknown figure {name!r}")
