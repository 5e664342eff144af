"""Download (or reuse) one resolved ENCODE file, verify it and write its acquired file(s)."""

import logging
import sys

from nettime.config import load_project
from nettime.encode import acquire

sys.stderr = open(snakemake.log[0], "w")
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(message)s")

project = load_project(config=dict(snakemake.config))
# The entry comes from lock.tsv (input[0], resolved.tsv, orders this job after resolution).
acquire(project, snakemake.params.key, snakemake.params.role, snakemake.params.resources)
