"""The training rules under real Snakemake: train, fine-tune, predict, variant, track.

Data sets are written in the layout of nettime.data.dataset and read through it.
"""

import os
import shutil
import subprocess
import sys

import h5py
import numpy as np
import pyBigWig
import pytest
import yaml
from helpers import ROOT, write_random_dataset

from nettime.config import load_project

pytestmark = [pytest.mark.workflow, pytest.mark.slow]
L = 30


def test_train_finetune_predict_and_track_rules(tmp_path):
    for name in ("config", "workflow"):
        shutil.copytree(ROOT / name, tmp_path / name)
    config_path = tmp_path / "config/config.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["conditions"] = str(ROOT / config["conditions"])
    config["cell_features"] = str(ROOT / config["cell_features"])
    config["training"] = {"device": "cpu", "threads": 1, "predict_batch_size": 8,
                          "defaults": {"sizes": {"embedding_dim": 2},
                                       "budget": {"steps": 3, "epochs": None, "batch_size": 4,
                                                  "eval_every": 2, "lr": 1e-3,
                                                  "valid_examples": 3}}}
    config["models"] = {"multitask": {"conditions": "train", "predict": "train"},
                        "tuned": {"conditions": {"tf": "CTCF"}, "init": {"from": "multitask"},
                                  "predict": ["CTCF.MCF-7", "JUND.HepG2"]}}
    config_path.write_text(yaml.safe_dump(config))
    project = load_project(config_path)
    rng = np.random.default_rng(0)
    (tmp_path / "results/data").mkdir(parents=True)
    for split, n in (("train", 16), ("valid", 6), ("test", 5)):
        write_random_dataset(tmp_path / f"results/data/{split}", n, L,
                             project.condition_names(), project.cell_types,
                             ["DNase", "H3K4me1", "H3K4me3", "H3K27ac"], rng)
    sizes = tmp_path / "resources/simulated/genome/chrom.sizes"
    sizes.parent.mkdir(parents=True)
    sizes.write_text("chr1\t100000\n")
    targets = ["results/tracks/multitask/JUND.K562.bigWig",
               "results/predictions/multitask/valid.random_tf.h5",
               "results/predictions/tuned/test.h5"]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    # The data sets are written by hand above, so only the model rules may run (the data-set
    # rules would otherwise rebuild them from a simulated data set).
    allowed = ["--allowed-rules", "train_model", "predict", "predict_variant", "track"]
    run = subprocess.run([sys.executable, "-m", "snakemake", *allowed, "--cores", "1", *targets],
                         cwd=tmp_path, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    for name in ("model.pt", "log.tsv", "spec.yaml"):
        assert (tmp_path / "results/models/tuned" / name).exists()
    spec = yaml.safe_load((tmp_path / "results/models/tuned/spec.yaml").read_text())
    assert spec["init_from"] == "multitask" and spec["result"]["steps"] == 3
    with h5py.File(tmp_path / "results/predictions/tuned/test.h5") as h5:
        assert list(h5.attrs["conditions"]) == ["CTCF.MCF-7", "JUND.HepG2"]
        assert h5["prob/CTCF.MCF-7"].shape == (5, L)
        assert h5["prob/CTCF.MCF-7"].dtype == np.float16
    bw = pyBigWig.open(str(tmp_path / "results/tracks/multitask/JUND.K562.bigWig"))
    assert len(bw.values("chr1", 0, L)) == L
    bw.close()
    again = subprocess.run([sys.executable, "-m", "snakemake", *allowed, "--cores", "1", "-n",
                            *targets],
                           cwd=tmp_path, env=env, capture_output=True, text=True)
    assert "Nothing to be done" in again.stdout + again.stderr
