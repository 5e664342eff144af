"""Stage 4 of the simulated data set: ENCODE-shaped experiment and file JSON and a files table
(md5, sizes), so that a loopback portal can serve the simulated files to the real download code."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from nettime.config import Project, load_project
from nettime.files import md5sum, write_text
from nettime.sources.simulate.common import frame_text

ASSAY_TITLES = {"DNase": "DNase-seq", "ATAC": "ATAC-seq"}
# The references, published like ENCODE's GRCh38 files (accessions of the analysis-set FASTA and
# the exclusion list that nettime.sources.encode.client resolves by default): role -> (accession, path,
# output type, file format).
REFERENCE_FILES = {
    "genome": ("GRCh38_no_alt_analysis_set_GCA_000001405.15", "genome/genome.fa",
               "genome reference", "fasta"),
    "blacklist": ("ENCFF356LFX", "genome/blacklist.bed", "exclusion list", "bed"),
}



# ---------------------------------------------------------------------------------------------
# stage 4: portal metadata


def accession(kind: str, *names: str) -> str:
    """Deterministic ENCODE-like accession, e.g. ``ENCSR123ABC`` (kind ``SR``) or ``ENCFF...``."""
    digest = hashlib.sha256("\t".join((kind,) + names).encode()).digest()
    number = int.from_bytes(digest[:8], "big")
    digits = f"{number % 1000:03d}"
    number //= 1000
    letters = ""
    for _ in range(3):
        letters += chr(ord("A") + number % 26)
        number //= 26
    return f"ENC{kind}{digits}{letters}"


def portal_experiments(project: Project) -> list[dict[str, Any]]:
    """One entry per experiment: accession, assay title, target, biosample and its files
    (paths relative to the output folder, output types)."""
    experiments = []
    for rec in project.conditions.to_dict("records"):
        tf, cell = rec["tf"], rec["cell_type"]
        experiments.append({
            "accession": rec["experiment"] or accession("SR", "TF ChIP-seq", tf, cell),
            "assay_title": "TF ChIP-seq", "target": tf, "biosample": cell,
            "files": [(f"peaks/{tf}.{cell}.conserved.narrowPeak.gz",
                       "conservative IDR thresholded peaks"),
                      (f"peaks/{tf}.{cell}.relaxed.narrowPeak.gz",
                       "optimal IDR thresholded peaks")]})
    for rec in project.cell_features.to_dict("records"):
        cell, assay = rec["cell_type"], rec["assay"]
        title = ASSAY_TITLES.get(assay, "Histone ChIP-seq")
        peaks_type, signal_type = (("peaks", "read-depth normalized signal")
                                   if assay in ASSAY_TITLES
                                   else ("replicated peaks", "signal p-value"))
        experiments.append({
            "accession": rec["experiment"] or accession("SR", title, assay, cell),
            "assay_title": title, "target": None if assay in ASSAY_TITLES else assay,
            "biosample": cell,
            "files": [(f"features/{cell}.{assay}.narrowPeak.gz", peaks_type),
                      (f"features/{cell}.{assay}.bigWig", signal_type)]})
    return experiments


def portal_json_paths(project: Project) -> list[str]:
    """Paths (relative to the output folder) of the experiment and reference file JSON files."""
    return ([f"portal/experiments/{e['accession']}.json" for e in portal_experiments(project)]
            + [f"portal/files/{acc}.json" for acc, *_ in REFERENCE_FILES.values()])


def write_portal(project: Project, outdir: str | os.PathLike[str]) -> None:
    """Stage 4: ``portal/experiments/{ENCSR}.json``, ``portal/files/{accession}.json`` (the
    references, which belong to no experiment) and ``portal/files.tsv``."""
    out = Path(outdir)
    rows = []
    for file_acc, path, output_type, file_format in REFERENCE_FILES.values():
        full = out / path
        record = {
            "@id": f"/files/{file_acc}/", "accession": file_acc, "file_format": file_format,
            "file_type": file_format, "output_type": output_type, "assembly": "GRCh38",
            "status": "released", "md5sum": md5sum(full), "file_size": full.stat().st_size,
            "href": f"/files/{file_acc}/@@download/{file_acc}.{file_format}",
            "biological_replicates": [], "technical_replicates": [],
            "preferred_default": False, "derived_from": [],
        }
        rows.append((file_acc, path, record["md5sum"], record["file_size"], output_type, ""))
        write_text(out / "portal" / "files" / f"{file_acc}.json",
                    json.dumps(record, indent=1, sort_keys=True) + "\n")
    for exp in portal_experiments(project):
        files = []
        for path, output_type in exp["files"]:
            full = out / path
            bigwig = path.endswith(".bigWig")
            file_acc = accession("FF", exp["accession"], output_type)
            ext = "bigWig" if bigwig else "bed.gz"
            files.append({
                "@id": f"/files/{file_acc}/", "accession": file_acc,
                "file_format": "bigWig" if bigwig else "bed",
                "file_format_type": None if bigwig else "narrowPeak",
                "file_type": "bigWig" if bigwig else "bed narrowPeak",
                "output_type": output_type, "assembly": "GRCh38", "status": "released",
                "md5sum": md5sum(full), "file_size": full.stat().st_size,
                "href": f"/files/{file_acc}/@@download/{file_acc}.{ext}",
                "biological_replicates": [1, 2], "technical_replicates": ["1_1", "2_1"],
                "preferred_default": True, "derived_from": [],
            })
            if bigwig:
                del files[-1]["file_format_type"]
            rows.append((file_acc, path, files[-1]["md5sum"], files[-1]["file_size"],
                         output_type, exp["accession"]))
        record = {
            "@id": f"/experiments/{exp['accession']}/", "@type": ["Experiment", "Dataset"],
            "accession": exp["accession"], "assay_title": exp["assay_title"],
            "status": "released", "assembly": ["GRCh38"],
            "biosample_ontology": {"term_name": exp["biosample"]},
            "description": "simulated by nettime.sources.simulate.world", "files": files,
        }
        if exp["target"] is not None:
            record["target"] = {"label": exp["target"]}
        write_text(out / "portal" / "experiments" / f"{exp['accession']}.json",
                    json.dumps(record, indent=1, sort_keys=True) + "\n")
    table = pd.DataFrame(rows, columns=["accession", "path", "md5sum", "file_size",
                                        "output_type", "experiment"])
    write_text(out / "portal" / "files.tsv", frame_text(table, header=True))


def write_project_portal(config: Mapping[str, Any], outdir: str | os.PathLike[str]) -> None:
    """Stage 4 for the workflow's configuration mapping (checked, naming its file, before any
    job; the file's path is not passed, which would rerun this job whenever another
    ``--configfile`` is named)."""
    write_portal(load_project("the workflow's config", config=dict(config)), outdir)
