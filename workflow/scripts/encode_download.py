"""Download (or reuse) one resolved ENCODE file, verify it and write its acquired file(s)."""

import logging
import sys

from nettime.config import load_project
from nettime.encode import acquire

sys.stderr = open(snakemake.log[0], "w")
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(message)s")

project = load_project(config=dict(snakemake.config))
acquire(project, snakemake.params.key, snakemake.params.role, snakemake.params.resources,
        table=snakemake.input[0])
