"""The data set folder: writing each track, reading, and the torch sample loader for every
feature set."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from conftest import TGASTCA

from nettime.config import schema_defaults
from nettime.data.dataset import FeatureSet, feature_sets_from_config, open_dataset
from nettime.data.genome import Genome, one_hot
from nettime.data.loader import make_loader
from nettime.data.motif_features import motif_channels
from nettime.data.peaks import base_labels, read_narrowpeak
from nettime.data.signals import InPeakSignal, write_inpeak
from nettime.data.writer import (
    build_examples,
    build_labels,
    build_motif_tracks,
    build_signal_tracks,
)
from nettime.files import DataError, read_chrom_sizes
from nettime.motifs.matrices import Motif, write_meme

SPLITS = {"train": ["chr1", "chr3"], "valid": ["chr2"]}
CELLS = ("c1", "c2")
ASSAYS = ("DNase", "H3K27ac")
FEATURE_SETS = {
    "Seq": FeatureSet("Seq"),
    "Seq+DNase": FeatureSet("Seq+DNase", ("DNase",)),
    "Seq+CT": FeatureSet("Seq+CT", ("DNase", "H3K27ac")),
    "Seq+TF": FeatureSet("Seq+TF", (), True),
    "Seq+CT+TF": FeatureSet("Seq+CT+TF", ("H3K27ac", "DNase"), True),
}
OPTIONS = {"min_overlap": 200, "max_union": 600, "max_peak_length": 1000, "window": 1000}


@pytest.fixture(scope="module")
def built(resources, tmp_path_factory, warm_fimo):
    """Every track of two splits, written by the pipeline's steps."""
    root = resources["root"]
    out = tmp_path_factory.mktemp("data")
    sizes = read_chrom_sizes(root / "genome/chrom.sizes")
    files = [root / f"peaks/{c}.{s}.narrowPeak.gz" for c in resources["conditions"]
             for s in ("conserved", "relaxed")]
    beds = {split: out / f"{split}.bed" for split in SPLITS}
    paths = {split: out / split for split in SPLITS}
    build_examples(files, root / "genome/genome.fa", root / "genome/chrom.sizes",
                   root / "genome/blacklist.bed", SPLITS, OPTIONS, beds,
                   {split: paths[split] / "examples.h5" for split in SPLITS})
    for condition in resources["conditions"]:
        build_labels(beds, 1000, root / f"peaks/{condition}.conserved.narrowPeak.gz",
                     root / f"peaks/{condition}.relaxed.narrowPeak.gz",
                     {split: paths[split] / f"labels/{condition}.h5" for split in SPLITS})
    inpeak = {(cell, assay): str(out / f"{cell}.{assay}.h5") for cell in CELLS for assay in ASSAYS}
    for (cell, assay), target in inpeak.items():
        track = root / f"features/{cell}.{assay}"
        write_inpeak(f"{track}.bigWig", f"{track}.narrowPeak.gz", sizes, target, progress=False)
        build_signal_tracks(target, beds, 1000, "train",
                            {s: paths[s] / f"signals/{cell}.{assay}.h5" for s in SPLITS})
    ppms = {"TFA": TGASTCA, "TFB": TGASTCA[::-1, ::-1].copy()}
    for tf, ppm in ppms.items():
        write_meme([Motif(tf, tf, ppm)], out / f"{tf}.meme")
        build_motif_tracks(root / "genome/genome.fa", beds, 1000, str(out / f"{tf}.meme"), None,
                           "train", {s: paths[s] / f"motifs/{tf}.h5" for s in SPLITS})
    with open_dataset(paths["train"]) as train:
        examples = {split: open_dataset(paths[split]).examples() for split in SPLITS}
        stats = train.stats
    return {"paths": paths, "examples": examples, "inpeak": inpeak, "ppms": ppms,
            "root": root, "stats": stats}


def test_file_layout_and_provenance(built):
    valid = built["paths"]["valid"]
    n = len(built["examples"]["valid"])
    with h5py.File(valid / "examples.h5", "r") as h5:
        assert h5["sequence"].shape == (n, 1000) and h5["sequence"].dtype == np.uint8
        assert h5["sequence"].chunks[0] <= 128 and h5["sequence"].compression == "gzip"
        assert h5.attrs["split"] == "valid" and h5.attrs["length"] == 1000
    with h5py.File(valid / "signals/c1.DNase.h5", "r") as h5:
        assert h5["values"].dtype == np.float16 and h5["values"].shape == (n, 1000)
        # Validation signals are z-scored with the training split's statistics, recorded.
        assert [h5.attrs["mean"], h5.attrs["std"]] == built["stats"]["signals/c1/DNase"]
        assert str(h5.attrs["source"]).endswith("c1.DNase.bigWig") and len(h5.attrs["md5"]) == 32
    with h5py.File(valid / "labels/TFA.c1.h5", "r") as h5:
        assert h5["relaxed"].shape == (n, 125)
        assert str(h5["conserved"].attrs["source"]).endswith("TFA.c1.conserved.narrowPeak.gz")
    with h5py.File(valid / "motifs/TFA.h5", "r") as h5:
        assert h5["values"].shape == (n, 1000, 2)
    assert set(built["stats"]) >= {"signals/c2/H3K27ac", "motifs/TFB/rev"}


def test_reader_round_trip(built, resources):
    root = built["root"]
    examples = built["examples"]["valid"]
    with open_dataset(built["paths"]["valid"]) as data, Genome(root / "genome/genome.fa") as g:
        assert data.n_examples == len(examples) > 3 and data.length == 1000
        assert data.conditions == sorted(resources["conditions"])
        np.testing.assert_array_equal(data.examples()["start"], examples["start"])
        rows = slice(1, 4)
        peaks = read_narrowpeak(root / "peaks/TFA.c2.conserved.narrowPeak.gz")
        np.testing.assert_array_equal(data.read_labels("TFA.c2", "conserved", 1, 4),
                                      base_labels(examples.iloc[rows], peaks, 1000))
        codes = np.stack([g.codes(c, s, e) for c, s, e in
                          examples.iloc[rows].itertuples(index=False)])
        np.testing.assert_array_equal(data.read_sequence(1, 4), codes)
        # Validation signals use the training statistics.
        mean, std = built["stats"]["signals/c2/H3K27ac"]
        with InPeakSignal(built["inpeak"]["c2", "H3K27ac"]) as signal:
            raw = signal.windows("chr2", examples["start"].to_numpy()[1:4], 1000)
        np.testing.assert_allclose(data.read_signal("c2", "H3K27ac", 1, 4), (raw - mean) / std,
                                   rtol=2e-3, atol=2e-3)
        fwd = built["stats"]["motifs/TFA/fwd"]
        raw_motif = motif_channels(codes, built["ppms"]["TFA"])
        np.testing.assert_allclose(data.read_motifs("TFA", 1, 4)[..., 0],
                                   (raw_motif[..., 0] - fwd[0]) / fwd[1], rtol=2e-3, atol=2e-3)
        x = data.read_features(FEATURE_SETS["Seq+CT+TF"], "c2", "TFA", 1, 4)
        assert x.shape == (3, 1000, 8)
        np.testing.assert_array_equal(x[..., :4], one_hot(codes))
        np.testing.assert_array_equal(x[..., 4], data.read_signal("c2", "H3K27ac", 1, 4))
        with pytest.raises(KeyError, match="no labels for condition 'TFC.c1'"):
            data.read_labels("TFC.c1")


@pytest.mark.parametrize("name", list(FEATURE_SETS))
def test_loader_round_trip_every_feature_set(built, name):
    feature_set = FEATURE_SETS[name]
    conditions = ["TFA.c1", "TFB.c1", "TFA.c2"]
    path = built["paths"]["train"]
    loader = make_loader(path, feature_set, conditions, ["conserved", "relaxed"],
                         tf_vocab=["TFB", "TFA"], cell_vocab=["c2", "c1"], batch_size=7,
                         shuffle=True, seed=1, block_examples=4, buffer_blocks=2)
    seen = set()
    with open_dataset(path) as data:
        for batch in loader:
            assert batch["x"].shape[1:] == (1000, feature_set.n_channels)
            assert batch["x"].dtype.is_floating_point and batch["y"].dtype.is_signed
            for i in range(len(batch["y"])):
                e, c, s = (int(batch[k][i]) for k in ("example", "condition", "label_set"))
                seen.add((e, c, s))
                tf, cell = conditions[c].split(".")
                assert int(batch["tf"][i]) == ["TFB", "TFA"].index(tf)
                assert int(batch["cell"][i]) == ["c2", "c1"].index(cell)
                label_set = ("conserved", "relaxed")[s]
                np.testing.assert_array_equal(
                    batch["y"][i].numpy(), data.read_labels(conditions[c], label_set, e, e + 1)[0])
                np.testing.assert_array_equal(
                    batch["x"][i].numpy(), data.read_features(feature_set, cell, tf, e, e + 1)[0])
        n = data.n_examples
    assert len(seen) == n * 3 * 2  # every sample exactly once (a set, and counts match)
    assert sum(len(b["y"]) for b in loader) == n * 6


def test_loader_order_without_shuffle_and_subsampling(built):
    path = built["paths"]["train"]
    loader = make_loader(path, FEATURE_SETS["Seq"], ["TFB.c1"], ["conserved"], ["TFA", "TFB"],
                         ["c1", "c2"], batch_size=5, shuffle=False, block_examples=3)
    examples = np.concatenate([b["example"].numpy() for b in loader])
    np.testing.assert_array_equal(examples, np.arange(len(built["examples"]["train"])))
    sub = make_loader(path, FEATURE_SETS["Seq"], ["TFA.c1", "TFB.c1"], ["conserved", "relaxed"],
                      ["TFA", "TFB"], ["c1", "c2"], batch_size=4, seed=3, num_samples=9,
                      block_examples=3)
    first = [tuple(t) for b in sub for t in zip(b["example"].tolist(), b["condition"].tolist(),
                                                b["label_set"].tolist(), strict=True)]
    second = [tuple(t) for b in sub for t in zip(b["example"].tolist(), b["condition"].tolist(),
                                                 b["label_set"].tolist(), strict=True)]
    assert len(first) == len(set(first)) == 9
    assert set(first) == set(second)  # the subset is fixed, its order reshuffled


def test_loader_bound_fraction_keeps_every_bound_sample_and_thins_the_rest(built):
    path = built["paths"]["train"]
    conditions, label_sets = ["TFA.c1", "TFB.c1", "TFA.c2"], ["conserved", "relaxed"]
    with open_dataset(path) as data:
        bound = {(e, c, s) for c, condition in enumerate(conditions)
                 for s, label_set in enumerate(label_sets)
                 for e in np.flatnonzero(data.read_labels(condition, label_set).any(axis=1))}
        every = {(e, c, s) for e in range(data.n_examples) for c in range(3) for s in range(2)}

    def one_pass(fraction: float | None) -> list[tuple[int, int, int]]:
        loader = make_loader(path, FEATURE_SETS["Seq"], conditions, label_sets, ["TFA", "TFB"],
                             ["c1", "c2"], batch_size=5, seed=4, block_examples=4,
                             buffer_blocks=2, bound_fraction=fraction)
        return [tuple(t) for b in loader for t in zip(b["example"].tolist(),
                                                      b["condition"].tolist(),
                                                      b["label_set"].tolist(), strict=True)]

    unbound = every - bound
    assert bound and unbound
    # 90% bound: about len(bound) / 9 unbound samples are kept.
    seen = one_pass(0.9)
    assert len(seen) == len(set(seen))
    assert bound <= set(seen) and set(seen) <= every
    kept = set(seen) - bound
    assert 0 < len(kept) < min(len(unbound), 2 * len(bound) / 9)
    assert one_pass(0.9) == seen  # a fresh loader with the same seed: the same samples
    # Too few unbound samples for the fraction: all are kept; None keeps every sample.
    assert set(one_pass(len(bound) / len(every) / 2)) == every
    assert set(one_pass(None)) == every
    with pytest.raises(DataError, match="bound_fraction must be in"):
        make_loader(path, FEATURE_SETS["Seq"], conditions, label_sets, ["TFA", "TFB"],
                    ["c1", "c2"], 5, bound_fraction=1.0)


def test_loader_rejects_unknown_conditions_and_features(built):
    path = built["paths"]["train"]
    with pytest.raises(DataError, match="no condition 'TFZ.c1'"):
        make_loader(path, FEATURE_SETS["Seq"], ["TFZ.c1"], ["conserved"], ["TFZ"], ["c1"], 4)
    with pytest.raises(DataError, match="missing from the vocabularies"):
        make_loader(path, FEATURE_SETS["Seq"], ["TFA.c1"], ["conserved"], ["TFB"], ["c1"], 4)
    with pytest.raises(DataError, match="needs assay 'H3K4me1'"):
        make_loader(path, FeatureSet("x", ("H3K4me1",)), ["TFA.c1"], ["conserved"], ["TFA"],
                    ["c1"], 4)


def test_feature_sets_from_config():
    sets = feature_sets_from_config({})
    assert list(sets) == list(schema_defaults()["feature_sets"])
    assert sets["Seq+CT+TF"].n_channels == 4 + 4 + 2 and sets["Seq"].n_channels == 4
    custom = feature_sets_from_config({"feature_sets": {"D": {"assays": ["DNase"]}}})
    assert custom == {"D": FeatureSet("D", ("DNase",), False)}


def test_per_split_normalisation_uses_each_splits_statistics(built, tmp_path):
    inpeak = built["inpeak"]["c1", "DNase"]
    beds = {split: tmp_path / f"{split}.bed" for split in SPLITS}
    for split, bed in beds.items():
        built["examples"][split].to_csv(bed, sep="\t", header=False, index=False)
    outs = {split: tmp_path / split / "signals/c1.DNase.h5" for split in SPLITS}
    build_signal_tracks(inpeak, beds, 1000, "per_split", outs)
    for split in SPLITS:
        with h5py.File(outs[split], "r") as h5:
            values = h5["values"][:].astype(np.float64)
            # Each split z-scored with its own statistics: mean 0 and SD 1 over its values.
            assert abs(values.mean()) < 1e-2 and abs(values.std() - 1) < 1e-2
    with h5py.File(outs["valid"], "r") as valid, h5py.File(outs["train"], "r") as train:
        assert valid.attrs["mean"] != train.attrs["mean"]
    with pytest.raises(ValueError, match="unknown normalisation 'global'"):
        build_signal_tracks(inpeak, beds, 1000, "global", outs)


def test_input_files_of_a_folder_or_of_its_examples_file():
    from nettime.baselines.common import data_files
    from nettime.data.dataset import input_files

    feature_set = FeatureSet("Seq+DNase+TF", ("DNase",), True)
    folder = input_files("results/data/train", ["JUND.K562"], feature_set)
    assert folder == ["results/data/train/examples.h5", "results/data/train/labels/JUND.K562.h5",
                      "results/data/train/signals/K562.DNase.h5",
                      "results/data/train/motifs/JUND.h5"]
    # Rules name a split's examples file as its input: it stands for the folder.
    assert input_files("results/data/train/examples.h5", ["JUND.K562"], feature_set) == folder
    assert data_files("results/data/train/examples.h5", ["JUND.K562"], ["HepG2"]) == [
        *folder[:2], "results/data/train/signals/HepG2.DNase.h5"]


def test_a_tf_without_a_known_motif_gets_zero_channels(built, tmp_path):
    beds = {split: built["paths"][split].parent / f"{split}.bed" for split in SPLITS}
    outs = {s: tmp_path / s / "motifs/TFX.h5" for s in SPLITS}
    build_motif_tracks(built["root"] / "genome/genome.fa", beds, 1000, "none", None, "train",
                       outs)
    for split in SPLITS:
        with h5py.File(outs[split]) as h5:
            values = h5["values"][:]
            assert values.shape == (len(built["examples"][split]), 1000, 2)
            assert not values.any()
            assert "no known motif" in h5.attrs["source"]
