"""Rule `signal_tracks`: one cell type's assay over every split's examples, z-scored."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from nettime.data.writer import build_signal_tracks  # noqa: E402
from nettime.layout import SPLITS  # noqa: E402

build_signal_tracks(snakemake.input.inpeak, dict(zip(SPLITS, snakemake.input.examples,
                                                     strict=True)),
                    snakemake.params.window, snakemake.params.normalisation,
                    dict(zip(SPLITS, snakemake.output, strict=True)))
