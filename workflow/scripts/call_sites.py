"""Snakemake script: per-base calls by threshold and CRF, and the called sites as BED."""

import sys

import torch

from nettime.calls import call_split, read_best_threshold
from nettime.crf import load_crf

sys.stderr = open(snakemake.log[0], "w")  # open for the whole job
torch.set_num_threads(snakemake.threads)
call_split(
    snakemake.input.predictions,
    snakemake.input.data,
    threshold=read_best_threshold(snakemake.input.thresholds),
    crf=load_crf(snakemake.input.crf),
    calls_h5=snakemake.output.calls,
    beds={"threshold": snakemake.output.threshold_bed, "crf": snakemake.output.crf_bed},
    block_size=snakemake.params.settings["block_size"],
)
