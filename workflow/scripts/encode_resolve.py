"""Resolve every ENCODE file of the configuration; update lock.tsv; write resolved.tsv."""

import logging
import sys

from nettime.config import load_project
from nettime.encode import resolve_project

sys.stderr = open(snakemake.log[0], "w")
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(message)s")

project = load_project(config=dict(snakemake.config))
resolve_project(project, snakemake.params.resources, out=snakemake.output[0])
