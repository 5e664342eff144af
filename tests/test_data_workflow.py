"""The data-set rules end to end with real snakemake on tiny inputs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import SIZES

from nettime.data.dataset import open_dataset

pytestmark = pytest.mark.workflow
REPO = Path(__file__).resolve().parents[1]
DATA_RULES = ["examples", "labels", "inpeak_signal", "signal_tracks", "motif_tracks", "data"]


def snakemake(workdir: Path, *args: str) -> str:
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    # The inputs are placed by hand under resources/encode, so only the data-set rules may run
    # (the ENCODE acquisition rules would otherwise try to resolve them on the portal).
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "workflow/Snakefile"),
               "--directory", str(workdir), "--allowed-rules", *DATA_RULES, "--cores", "1",
               *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def workdir(resources, tmp_path_factory):
    work = tmp_path_factory.mktemp("workflow")
    shutil.copytree(resources["root"], work / "resources/encode")
    (work / "config").mkdir()
    rows = [c.split(".") for c in resources["conditions"]]
    (work / "config/conditions.tsv").write_text(
        "tf\tcell_type\texperiment\tpanel\n" + "".join(f"{t}\t{c}\t\ttrain\n" for t, c in rows))
    (work / "config/cell_features.tsv").write_text(
        "cell_type\tassay\texperiment\n"
        + "".join(f"{c}\t{a}\t\n" for c in ("c1", "c2") for a in ("DNase", "H3K27ac")))
    config = {
        "source": "encode", "conditions": "config/conditions.tsv",
        "cell_features": "config/cell_features.tsv",
        "genome": {"chromosomes": list(SIZES)},
        "splits": {"train": ["chr1"], "valid": ["chr2"], "test": ["chr3"]},
        "peaks": {"min_overlap": 200, "max_union": 600, "max_peak_length": 1000, "window": 1000},
        "normalisation": "train",
        "feature_sets": {"Seq": {"assays": []}, "Seq+CT": {"assays": ["DNase", "H3K27ac"]}},
    }
    (work / "config/config.yaml").write_text(yaml.safe_dump(config))
    snakemake(work, "data")
    return work


def test_rules_build_every_split(workdir):
    for split, chrom in (("train", "chr1"), ("valid", "chr2"), ("test", "chr3")):
        with open_dataset(workdir / f"results/data/{split}") as data:
            assert data.n_examples > 0 and set(data.examples()["chrom"]) == {chrom}
            assert data.conditions == ["TFA.c1", "TFA.c2", "TFB.c1"]
            signal = data.read_signal("c1", "DNase")
            assert np.isfinite(signal).all()
            stats = data.stats
        # Every split is z-scored with the training split's statistics.
        if split == "train":
            train_stats = stats
        assert stats == train_stats
    with open_dataset(workdir / "results/data/train") as data:
        signal = data.read_signal("c2", "H3K27ac").astype(np.float64)
        assert abs(signal.mean()) < 1e-2 and abs(signal.std() - 1) < 1e-2


def test_rerun_does_nothing_and_new_condition_keeps_signals(workdir, resources):
    assert "Nothing to be done" in snakemake(workdir, "-n", "data")
    sheet = workdir / "config/conditions.tsv"
    original = sheet.read_text()
    peaks = workdir / "resources/encode/peaks"
    for label_set in ("conserved", "relaxed"):
        shutil.copy(peaks / f"TFB.c1.{label_set}.narrowPeak.gz",
                    peaks / f"TFB.c2.{label_set}.narrowPeak.gz")
    try:
        sheet.write_text(original + "TFB\tc2\t\ttrain\n")
        plan = snakemake(workdir, "-n", "data")
    finally:
        sheet.write_text(original)
    # A training condition adds peaks, so new example windows: every track is rewritten over
    # them, but the in-peak signals do not depend on the conditions.
    assert "rule labels:" in plan and "rule examples:" in plan and "rule signal_tracks:" in plan
    assert "results/data/valid/labels/TFB.c2.h5" in plan
    assert "rule inpeak_signal:" not in plan


def test_another_normalisation_rewrites_the_tracks_only(workdir):
    plan = snakemake(workdir, "-n", "data", "--config", "normalisation=per_split")
    assert "rule signal_tracks:" in plan
    assert "rule examples:" not in plan and "rule labels:" not in plan
