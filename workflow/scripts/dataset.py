"""Rule `dataset`: the HDF5 data set of one split (see nettime.dataset)."""

import json
import sys

import h5py

from nettime.dataset import config_hash, write_dataset
from nettime.files import atomic_output, md5sum
from nettime.genome import Genome
from nettime.motif_features import load_ppm, motif_source
from nettime.peaks import read_bed

sys.stderr = open(snakemake.log[0], "w")

params = snakemake.params
cell_assays = [tuple(name.split(".")) for name in params.cell_assays]
inpeak = dict(zip(cell_assays, snakemake.input.signals, strict=True))
labels = dict(zip(params.conditions, snakemake.input.labels, strict=True))
ppms = {tf: load_ppm(spec, params.motif_dir or None) for tf, spec in params.motifs.items()}
stats = json.loads(open(snakemake.input.stats).read())

# Provenance: every acquired source with its md5 (recorded upstream where already computed).
sources = {snakemake.input.fasta: md5sum(snakemake.input.fasta),
           snakemake.input.examples: md5sum(snakemake.input.examples)}
for path in snakemake.input.signals:
    with h5py.File(path, "r") as h5:
        sources[h5.attrs["bigwig"]] = h5.attrs["bigwig_md5"]
        sources[h5.attrs["peaks"]] = h5.attrs["peaks_md5"]
for path in snakemake.input.labels:
    with h5py.File(path, "r") as h5:
        for label_set in h5:
            sources[h5[label_set].attrs["source"]] = h5[label_set].attrs["md5"]
for tf, spec in params.motifs.items():
    sources[f"motif {tf}: {motif_source(spec)}"] = ""

attrs = {"split": snakemake.wildcards.split, "normalisation": params.normalisation,
         "normalisation_source": snakemake.input.stats,
         "config_hash": config_hash(snakemake.config)}
examples = read_bed(snakemake.input.examples)
with Genome(snakemake.input.fasta) as genome, \
        atomic_output(snakemake.output[0], suffix=".h5") as tmp:
    write_dataset(tmp, examples, genome, params.window, inpeak, labels, ppms, stats, attrs,
                  sources)
