"""Rules `encode_*`: download (or reuse) one resolved ENCODE file, verify it and write its
acquired file(s). The entry comes from lock.tsv (input[0], resolved.tsv, orders this job after
resolution)."""

import logging
import sys

sys.stderr = open(snakemake.log[0], "w")
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(message)s")

from nettime.sources.encode.project import acquire  # noqa: E402

acquire(snakemake.config, snakemake.params.key, snakemake.params.role, snakemake.params.resources)
