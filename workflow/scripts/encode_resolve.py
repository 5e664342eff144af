"""Rule `encode_resolve`: resolve every ENCODE file of the configuration, update lock.tsv and
write resolved.tsv."""

import logging
import sys

sys.stderr = open(snakemake.log[0], "w")
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(message)s")

from nettime.sources.encode.project import resolve_project  # noqa: E402

resolve_project(snakemake.config, snakemake.params.resources, out=snakemake.output[0])
