"""The ENCODE-DREAM benchmark (Fig 3d): bins and B/A/U labels on hand-made peaks (checked
against bedtools), the challenge's label files, tiles and their ownership, genome-wide
prediction by a real model against per-example prediction, the table's metrics against
scikit-learn, and the figure's plan, drawing and claims."""

from __future__ import annotations

import copy
import gzip
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pybedtools
import pytest
import torch
from conftest import SIZES
from sklearn.metrics import auc, average_precision_score, precision_recall_curve, roc_auc_score

from nettime.config import ConfigError, load_project
from nettime.data.dataset import FeatureSet, open_dataset
from nettime.data.genome import Genome
from nettime.data.peaks import read_bed, write_bed
from nettime.data.predictions import PredictionsWriter
from nettime.data.signals import build_inpeak
from nettime.data.tiles import (
    build_tile_motifs,
    build_tile_signal,
    build_tiles,
    read_tiling,
    tile_count,
    tile_spans,
)
from nettime.data.writer import build_examples, build_signal_tracks, write_examples
from nettime.evaluation.dream import (
    AMBIGUOUS,
    BOUND,
    UNBOUND,
    auroc_from_counts,
    bin_count,
    challenge_bins,
    evaluate_dream,
    label_bins,
    merged_intervals,
    peak_bins,
    prediction_tracks,
)
from nettime.evaluation.genome_wide import MaximaWriter, predict_maxima, write_maxima
from nettime.files import DataError
from nettime.metrics import PRAccumulator
from nettime.models.network import ModelConfig, build_model, save_model
from nettime.models.prediction import predict_split
from nettime.models.registry import paper_spec
from nettime.paper.declare import FigurePlan
from nettime.paper.figures import plan_figures
from nettime.paper.figures_dream import FIG3D, draw_dream

L, GRID = 400, 50


def intervals(rows):
    frame = pd.DataFrame(rows, columns=["chrom", "start", "end"])
    return merged_intervals(frame.astype({"start": np.int64, "end": np.int64}))


# ---- bins and labels ---------------------------------------------------------------------------

def test_bins_lie_wholly_inside_each_chromosome():
    assert bin_count(1049, 200, 50) == 17 and bin_count(1050, 200, 50) == 18
    assert bin_count(199, 200, 50) == 0 and bin_count(200, 200, 50) == 1
    blocks = list(peak_bins({"c": 1049, "d": 250}, ["c", "d"], 200, 50, {}, {}, block=5))
    starts = np.concatenate([s for chrom, s, _ in blocks if chrom == "c"])
    assert starts[0] == 0 and starts[-1] == 800 and len(starts) == 17  # 800 + 200 <= 1049
    assert [s.tolist() for chrom, s, _ in blocks if chrom == "d"] == [[0, 50]]
    assert all((labels == UNBOUND).all() for _, _, labels in blocks)


def test_one_base_of_a_conserved_peak_makes_a_bin_bound_and_relaxed_only_ambiguous():
    conserved = intervals([("c", 1000, 1001)])["c"]
    relaxed = intervals([("c", 1000, 1001), ("c", 3000, 3400)])["c"]
    starts = np.arange(0, 4000, 50, dtype=np.int64)
    labels = dict(zip(starts.tolist(), label_bins(starts, 200, conserved, relaxed), strict=True))
    assert [labels[s] for s in (800, 850, 1000, 1050)] == [UNBOUND, BOUND, BOUND, UNBOUND]
    # A bin ending where the relaxed peak begins shares no base with it.
    assert labels[2800] == UNBOUND and labels[2850] == AMBIGUOUS
    assert labels[3350] == AMBIGUOUS and labels[3400] == UNBOUND


def test_labels_agree_with_bedtools_on_random_peaks():
    rng = np.random.default_rng(3)
    size = 60000
    rows = [("c", int(s), int(s + w)) for s, w in zip(rng.integers(0, size - 900, 60),
                                                      rng.integers(1, 900, 60), strict=True)]
    conserved_rows, relaxed_rows = rows[:20], rows
    starts = next(peak_bins({"c": size}, ["c"], 200, 50, intervals(conserved_rows),
                            intervals(relaxed_rows)))[1]
    labels = label_bins(starts, 200, intervals(conserved_rows)["c"], intervals(relaxed_rows)["c"])
    bins = pybedtools.BedTool("".join(f"c\t{s}\t{s + 200}\n" for s in starts), from_string=True)
    try:
        def hit(peaks):
            text = "".join(f"{c}\t{a}\t{b}\n" for c, a, b in peaks)
            found = bins.intersect(pybedtools.BedTool(text, from_string=True), u=True)
            return {f.start for f in found}

        bound, touched = hit(conserved_rows), hit(relaxed_rows)
    finally:
        pybedtools.cleanup()
    expected = np.array([BOUND if s in bound else AMBIGUOUS if s in touched else UNBOUND
                         for s in starts.tolist()], dtype=np.int8)
    np.testing.assert_array_equal(labels, expected)
    assert (labels == BOUND).sum() > 10 and (labels == AMBIGUOUS).sum() > 10


def write_challenge(path, rows, cells=("c1", "c2")):
    with gzip.open(path, "wt") as handle:
        handle.write("\t".join(["chr", "start", "stop", *cells]) + "\n")
        for row in rows:
            handle.write("\t".join(str(v) for v in row) + "\n")


def test_challenge_label_files(tmp_path):
    path = tmp_path / "TFA.train.labels.tsv.gz"
    write_challenge(path, [("chr2", 0, 200, "U", "B"), ("c", 50, 250, "B", "U"),
                           ("c", 100, 300, "A", "U"), ("c", 150, 350, "U", "A")])
    blocks = list(challenge_bins(path, "c1", ["c"], 200, 50))
    assert [(c, s.tolist(), lab.tolist()) for c, s, lab in blocks] == [
        ("c", [50, 100, 150], [BOUND, AMBIGUOUS, UNBOUND])]
    with pytest.raises(DataError, match="no column 'K562'.*c1, c2"):
        list(challenge_bins(path, "K562", ["c"], 200, 50))
    write_challenge(path, [("c", 0, 200, "U", "B"), ("c", 50, 250, "X", "U")])
    with pytest.raises(DataError, match=r"labels.tsv.gz:3: .*'X'"):
        list(challenge_bins(path, "c1", ["c"], 200, 50))
    write_challenge(path, [("c", 10, 210, "U", "B")])
    with pytest.raises(DataError, match=r":2: expected a 200-bp bin starting on the 50-bp grid"):
        list(challenge_bins(path, "c1", ["c"], 200, 50))
    (tmp_path / "bad.tsv.gz").write_bytes(gzip.compress(b"chrom\tfrom\tto\tc1\n"))
    with pytest.raises(DataError, match="expected the header"):
        list(challenge_bins(tmp_path / "bad.tsv.gz", "c1", ["c"], 200, 50))


# ---- scores and metrics --------------------------------------------------------------------------

def test_auroc_from_histograms_equals_scikit_learn():
    rng = np.random.default_rng(0)
    scores = np.round(rng.random(5000), 2).astype(np.float16)  # many ties
    labels = rng.random(5000) < 0.2 + 0.3 * scores.astype(float)
    scores[:7] = -0.0  # -0 and +0 are one score
    accumulator = PRAccumulator()
    accumulator.add(scores, labels)
    assert auroc_from_counts(accumulator.positives, accumulator.negatives) == pytest.approx(
        roc_auc_score(labels, scores.astype(np.float64)), abs=1e-12)
    empty = PRAccumulator()
    empty.add(scores, np.zeros(len(scores), bool))
    assert np.isnan(auroc_from_counts(empty.positives, empty.negatives))


def write_maxima_file(path, maxima, sizes, grid=GRID):
    """A maxima file from per-condition, per-chromosome block maxima, through MaximaWriter's
    layout (written with h5py directly: no predictions needed)."""
    with h5py.File(path, "w") as h5:
        h5.attrs["grid"], h5.attrs["length"] = grid, L
        h5.attrs["chromosomes"] = np.array(list(sizes), dtype="S")
        h5.attrs["sizes"] = np.array(list(sizes.values()), dtype=np.int64)
        for condition, chroms in maxima.items():
            for chrom, values in chroms.items():
                h5[f"maxima/{condition}/{chrom}"] = np.asarray(values, np.float16)


def test_table_leaves_ambiguous_and_blacklisted_bins_out_and_matches_scikit_learn(tmp_path):
    rng = np.random.default_rng(1)
    sizes = {"c": 20000, "d": 9000}
    (tmp_path / "sizes").write_text("".join(f"{c}\t{s}\n" for c, s in sizes.items()))
    (tmp_path / "black.bed").write_text("d\t4000\t4100\n")
    peaks = {}
    for condition in ("A.x", "B.x"):
        conserved = [(c, int(s), int(s) + 120) for c in sizes
                     for s in rng.integers(0, sizes[c] - 200, 8)]
        relaxed = conserved + [(c, int(s), int(s) + 300) for c in sizes
                               for s in rng.integers(0, sizes[c] - 400, 8)]
        files = []
        for name, rows in (("conserved", conserved), ("relaxed", relaxed)):
            files.append(tmp_path / f"{condition}.{name}.narrowPeak.gz")
            with gzip.open(files[-1], "wt") as handle:
                for c, a, b in sorted(rows):
                    handle.write(f"{c}\t{a}\t{b}\tp\t0\t.\t1\t-1\t1\t10\n")
        peaks[condition] = (conserved, relaxed, files)
    blocks = {condition: {c: rng.integers(0, 60, s // GRID).astype(np.float16) / 64
                          for c, s in sizes.items()} for condition in peaks}
    write_maxima_file(tmp_path / "maxima.h5", blocks, sizes)
    table = evaluate_dream(tmp_path / "maxima.h5", "m", list(peaks), tmp_path / "sizes", 200,
                           50, peaks={c: tuple(v[2]) for c, v in peaks.items()},
                           blacklist=tmp_path / "black.bed", progress=False)
    assert list(table.columns) == ["model", "condition", "split", "method", "resolution",
                                   "metric", "value"]
    for condition, (conserved, relaxed, _) in peaks.items():
        scores, truth, counts = [], [], {"ambiguous": 0, "blacklisted": 0}
        for chrom, size in sizes.items():
            for start in range(0, size - 200 + 1, 50):
                def touches(rows, lo=start, chrom=chrom):
                    return any(c == chrom and a < lo + 200 and b > lo for c, a, b in rows)
                if touches([("d", 4000, 4100)]):
                    counts["blacklisted"] += 1
                elif touches(conserved) or not touches(relaxed):
                    scores.append(float(blocks[condition][chrom][start // 50:start // 50 + 4]
                                        .max()))
                    truth.append(touches(conserved))
                else:
                    counts["ambiguous"] += 1
        got = table[table["condition"] == condition].set_index("metric")["value"]
        precision, recall, _ = precision_recall_curve(truth, scores)
        assert got["auprc"] == pytest.approx(auc(recall, precision), abs=1e-9)
        assert got["average_precision"] == pytest.approx(average_precision_score(truth, scores),
                                                         abs=1e-9)
        assert got["auroc"] == pytest.approx(roc_auc_score(truth, scores), abs=1e-9)
        assert got["bound_bins"] == sum(truth) and got["unbound_bins"] == len(truth) - sum(truth)
        assert got["ambiguous_bins"] == counts["ambiguous"] > 0
        assert got["blacklisted_bins"] == counts["blacklisted"] == 5
    # The challenge's own labels give the same table when they say the same.
    labels_dir = tmp_path / "labels"
    labels_dir.mkdir()
    rows = []
    for chrom, size in sizes.items():
        starts = np.arange(0, size - 199, 50)
        codes = {cond: label_bins(starts, 200, intervals(v[0])[chrom], intervals(v[1])[chrom])
                 for cond, v in peaks.items()}
        letters = {BOUND: "B", AMBIGUOUS: "A", UNBOUND: "U"}
        rows += [(chrom, s, s + 200, letters[codes["A.x"][i]], "U")
                 for i, s in enumerate(starts.tolist())]
    write_challenge(labels_dir / "A.train.labels.tsv.gz", rows, cells=("xcell", "other"))
    again = evaluate_dream(tmp_path / "maxima.h5", "m", ["A.x"], tmp_path / "sizes", 200, 50,
                           labels_dir=labels_dir, label_columns={"x": "xcell"},
                           blacklist=tmp_path / "black.bed", progress=False)
    pd.testing.assert_frame_equal(again, table[table["condition"] == "A.x"].reset_index(
        drop=True))


# ---- tiles -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("size", "length", "grid"), [
    (1000, 1000, 50), (1049, 1000, 50), (1500, 1000, 50), (2345, 1000, 50), (24000, 400, 50),
    (24010, 400, 50), (777, 300, 50), (5000, 1000, 100)])
def test_tiles_lie_inside_the_chromosome_and_own_every_base_once(size, length, grid):
    starts, lo, hi = tile_spans(size, length, grid)
    assert len(starts) == tile_count(size, length, grid)
    assert lo[0] == 0 and hi[-1] == size // grid * grid and (lo[1:] == hi[:-1]).all()
    assert (starts % grid == 0).all() and (starts + length <= size).all()
    assert (lo >= starts).all() and (hi <= starts + length).all() and (lo < hi).all()
    stride = (length // 2) // grid * grid
    # Away from the chromosome's ends a base has at least (length - stride) / 2 bases of
    # context on each side in the window that owns it.
    inner = slice(1, -1)
    assert (lo[inner] - starts[inner] >= (length - stride) // 2 // grid * grid).all()
    assert (starts[inner] + length - hi[inner] >= (length - stride) // 2 // grid * grid).all()
    for a in range(0, len(starts), 3):  # any block gives the same spans
        block = tile_spans(size, length, grid, a, a + 3)
        for whole, part in zip((starts, lo, hi), block, strict=True):
            np.testing.assert_array_equal(whole[a:a + 3], part)


@pytest.fixture(scope="module")
def genome_wide(resources, tmp_path_factory):
    """The train split of the small genome (chr2, chr3) built by the pipeline's writer, the
    tiles of chr1 with c1's DNase z-scored with the training split's statistics, and a real
    (untrained) NetTIME Seq+DNase model."""
    root, work = resources["root"], tmp_path_factory.mktemp("dream")
    peaks = sorted(str(p) for p in (root / "peaks").glob("*.narrowPeak.gz"))
    splits = {"train": ["chr2", "chr3"], "test": ["chr1"]}
    beds = {s: work / f"examples/{s}.bed" for s in splits}
    folders = {s: work / f"data/{s}" for s in splits}
    build_examples(peaks, root / "genome/genome.fa", root / "genome/chrom.sizes",
                   root / "genome/blacklist.bed", splits,
                   {"min_overlap": 200, "max_union": 600, "max_peak_length": 1000, "window": L},
                   beds, {s: folders[s] / "examples.h5" for s in splits})
    inpeak = work / "c1.DNase.inpeak.h5"
    build_inpeak(root / "features/c1.DNase.bigWig", root / "features/c1.DNase.narrowPeak.gz",
                 root / "genome/chrom.sizes", inpeak)
    build_signal_tracks(inpeak, beds, L, "train",
                        {s: folders[s] / "signals/c1.DNase.h5" for s in splits})
    tiles = work / "tiles"
    tiling = build_tiles(root / "genome/genome.fa", root / "genome/chrom.sizes", ["chr1"], L,
                         GRID, tiles / "examples.h5", progress=False)
    build_tile_signal(inpeak, tiles, tiles / "signals/c1.DNase.h5", "train",
                      reference=folders["train"] / "signals/c1.DNase.h5", progress=False)
    config = ModelConfig(n_features=5, embedding_dim=3, tf_table_size=4, cell_table_size=4,
                         tf_vocab=("TFA", "TFB"), cell_vocab=("c1", "c2"))
    model, network = work / "model.pt", build_model(config, seed=0)
    with torch.no_grad():  # larger weights: probabilities that vary along the genome
        for weights in network.parameters():
            weights.mul_(3.0)
    save_model(network, model,
               {"feature_set": {"name": "Seq+DNase", "assays": ["DNase"], "motifs": False}})
    return {"work": work, "root": root, "tiles": tiles, "tiling": tiling, "model": model,
            "inpeak": inpeak, "beds": beds, "folders": folders}


CONFIG = {"training": {"device": "cpu", "threads": 1, "predict_batch_size": 16}}


def test_tiled_data_set_holds_the_training_normalisation(genome_wide):
    tiles, tiling = genome_wide["tiles"], genome_wide["tiling"]
    assert read_tiling(tiles) == tiling and tiling.n_examples == tile_count(SIZES["chr1"], L,
                                                                             GRID)
    train = open_dataset(genome_wide["folders"]["train"])
    with open_dataset(tiles) as data, open_dataset(genome_wide["folders"]["test"]) as test, \
            train:
        assert data.stats["signals/c1/DNase"] == train.stats["signals/c1/DNase"]
        coords = data.examples()
        assert (coords["chrom"] == "chr1").all() and (coords["end"] - coords["start"] == L).all()
        with Genome(genome_wide["root"] / "genome/genome.fa") as genome:
            np.testing.assert_array_equal(data.read_sequence(5, 6)[0],
                                          genome.codes("chr1", 5 * 200, 5 * 200 + L))
        # Every base of a test example carries the same z-scored DNase in the tiles.
        tile_signal = data.read_signal("c1", "DNase")
        test_coords = test.examples()
        assert len(test_coords) > 5
        for row, start in enumerate(test_coords["start"]):
            tile = min(int(start) // 200, tiling.n_examples - 1)
            while coords["start"][tile] > start:
                tile -= 1
            shift = int(start) - int(coords["start"][tile])
            width = L - shift
            np.testing.assert_array_equal(test.read_signal("c1", "DNase", row, row + 1)[0, :width],
                                          tile_signal[tile, shift:])


def test_genome_wide_prediction_equals_per_example_prediction(genome_wide):
    work, tiles, tiling = genome_wide["work"], genome_wide["tiles"], genome_wide["tiling"]
    maxima = work / "maxima.h5"
    predict_maxima(genome_wide["model"], tiles, maxima, ["TFA.c1", "TFB.c1"], "m", CONFIG,
                   progress=False)
    assert not [p for p in work.iterdir() if p.name.startswith(".dream-")]  # no leftovers
    # Per-example: every third tile as an example set of its own, made by the pipeline's
    # writer (signal z-scored with the training split's statistics), predicted by the model.
    every = tiling.blocks()
    _, _, _, starts, lo, hi = next(every)
    chosen = np.arange(0, len(starts), 3)
    examples = pd.DataFrame({"chrom": "chr1", "start": starts[chosen],
                             "end": starts[chosen] + L})
    sub = work / "sub"
    write_bed(examples, work / "sub.bed")
    with Genome(genome_wide["root"] / "genome/genome.fa") as genome:
        write_examples(sub / "examples.h5", read_bed(work / "sub.bed"), L,
                       [(0, genome.windows("chr1", starts[chosen], L))])
    build_signal_tracks(genome_wide["inpeak"], {"train": genome_wide["beds"]["train"],
                                                "sub": work / "sub.bed"}, L, "train",
                        {"train": work / "scratch.h5", "sub": sub / "signals/c1.DNase.h5"})
    predict_split(genome_wide["model"], sub, work / "sub.h5", ["TFA.c1", "TFB.c1"], "m", "sub",
                  batch_size=16, device="cpu", progress=False)
    with h5py.File(work / "sub.h5", "r") as per_example, h5py.File(maxima, "r") as genome:
        for condition in ("TFA.c1", "TFB.c1"):
            prob = per_example[f"prob/{condition}"][:]
            blocks = genome[f"maxima/{condition}/chr1"][:]
            for row, tile in enumerate(chosen):
                # The same bases of the same window: the owned span's block maxima (equal on
                # this machine; the tolerance is float16's rounding, for other CPUs' kernels).
                a, b = (lo[tile] - starts[tile]), (hi[tile] - starts[tile])
                expected = prob[row, a:b].reshape(-1, GRID).max(axis=1)
                np.testing.assert_allclose(blocks[lo[tile] // GRID:hi[tile] // GRID]
                                           .astype(np.float32), expected.astype(np.float32),
                                           atol=1e-3)
            assert blocks.std() > 0.02  # a model whose output varies along the genome


def test_block_maxima_are_the_stitched_per_base_maxima(genome_wide, tmp_path):
    tiles, tiling = genome_wide["tiles"], genome_wide["tiling"]
    n = tiling.n_examples
    rng = np.random.default_rng(5)
    prob = rng.random((n, L)).astype(np.float16)
    with PredictionsWriter(tmp_path / "p.h5", n, L, "m", "tiles", ["A.c"]) as writer:
        writer.create("A.c")[:] = prob
    write_maxima(tmp_path / "p.h5", tiles, tmp_path / "maxima.h5", block=7, progress=False)
    # Brute force: each base from the window whose centre is nearest (ties: the earlier).
    size = SIZES["chr1"]
    starts, _, _ = tile_spans(size, L, GRID)
    stitched = np.full(size // GRID * GRID, np.nan, np.float32)
    centres = starts + L / 2
    for position in range(len(stitched)):
        inside = np.flatnonzero((starts <= position) & (starts + L > position))
        best = inside[np.argmin(np.abs(centres[inside] - (position // GRID * GRID + GRID / 2))
                                + 1e-9 * inside)]
        stitched[position] = prob[best, position - starts[best]]
    with h5py.File(tmp_path / "maxima.h5", "r") as h5:
        blocks = h5["maxima/A.c/chr1"][:]
        assert h5.attrs["bin_width"] == 1 and h5.attrs["grid"] == GRID
    np.testing.assert_array_equal(blocks.astype(np.float32),
                                  stitched.reshape(-1, GRID).max(axis=1))


def test_binned_methods_need_bins_that_divide_the_grid(genome_wide, tmp_path):
    tiles, n = genome_wide["tiles"], genome_wide["tiling"].n_examples
    scores = np.random.default_rng(2).random((n, L // 50)).astype(np.float16)
    for width in (50, 40):
        path = tmp_path / f"p{width}.h5"
        with PredictionsWriter(path, n, L, "m", "tiles", ["A.c"], method="catchitt",
                               bin_width=width) as writer:
            writer.create("A.c")[:] = np.repeat(scores, 50, axis=1)
    write_maxima(tmp_path / "p50.h5", tiles, tmp_path / "m50.h5", progress=False)
    with h5py.File(tmp_path / "m50.h5", "r") as h5:
        assert h5.attrs["method"] == "catchitt" and h5.attrs["bin_width"] == 50
        blocks = h5["maxima/A.c/chr1"][:]
    _, lo, _ = tile_spans(SIZES["chr1"], L, GRID)
    starts, _, _ = tile_spans(SIZES["chr1"], L, GRID)
    assert blocks[lo[3] // GRID] == scores[3, (lo[3] - starts[3]) // 50]
    with pytest.raises(DataError, match="bins of 40 bp do not divide the 50-bp grid"):
        write_maxima(tmp_path / "p40.h5", tiles, tmp_path / "m40.h5", progress=False)
    assert not (tmp_path / "m40.h5").exists()  # atomic: nothing left by the failure


def test_tile_motifs_use_the_recorded_statistics(genome_wide, tmp_path, warm_fimo):
    from nettime.data.motif_features import load_ppm, motif_channels

    tiles, root = genome_wide["tiles"], genome_wide["root"]
    reference = tmp_path / "train_motifs.h5"
    with h5py.File(reference, "w") as h5:
        h5.attrs.update({"mean_fwd": 0.1, "std_fwd": 0.5, "mean_rev": 0.2, "std_rev": 0.25})
    out = tmp_path / "motifs/TFA.h5"
    build_tile_motifs(root / "genome/genome.fa", tiles, out, "MA0492.2", None, "train",
                      reference=reference, progress=False)
    with h5py.File(out, "r") as h5, Genome(root / "genome/genome.fa") as genome:
        assert h5["values"].shape == (genome_wide["tiling"].n_examples, L, 2)
        raw = motif_channels(genome.windows("chr1", np.array([0, 200]), L),
                             load_ppm("MA0492.2"))
        expected = np.stack([(raw[..., 0] - 0.1) / 0.5, (raw[..., 1] - 0.2) / 0.25], axis=-1)
        np.testing.assert_allclose(h5["values"][:2].astype(np.float32), expected, atol=2e-3)
        assert h5.attrs["mean_rev"] == 0.2
    with pytest.raises(ValueError, match="needs the training split's file"):
        build_tile_signal(genome_wide["inpeak"], tiles, tmp_path / "s.h5", "train")


def test_maxima_writer_checks_the_shape(genome_wide, tmp_path):
    with PredictionsWriter(tmp_path / "p.h5", 3, L, "m", "tiles", ["A.c"]) as writer:
        writer.create("A.c")[:] = 0
    with pytest.raises(DataError, match="has shape"), h5py.File(tmp_path / "p.h5") as source, \
            MaximaWriter(tmp_path / "m.h5", genome_wide["tiling"]) as maxima:
        maxima.add("A.c", source, tmp_path / "p.h5")


def test_prediction_tracks_per_kind():
    conditions = ["A.x", "B.y"]
    seq_dnase = FeatureSet("Seq+DNase+TF", ("DNase",), True)
    nettime = paper_spec("n", ["A.x", "A.z"], feature_set="Seq+DNase+TF")
    assert prediction_tracks(nettime, seq_dnase, conditions) == (
        [("x", "DNase"), ("y", "DNase")], ["A", "B"])
    leopard = paper_spec("l", ["A.x", "A.z"], kind="leopard")
    assert prediction_tracks(leopard, seq_dnase, conditions)[0] == [
        ("x", "DNase"), ("y", "DNase"), ("z", "DNase")]
    assert prediction_tracks(paper_spec("c", ["A.x"], kind="catchitt"), seq_dnase,
                             conditions) == ([("x", "DNase"), ("y", "DNase")], ["A", "B"])
    assert prediction_tracks(paper_spec("d", ["A.x"], kind="deepbind"), seq_dnase,
                             conditions) == ([], [])


# ---- the figure ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny():
    return load_project("config/tiny/config.yaml")


def with_dream(project, dream=None, drop_baselines=()):
    other = copy.deepcopy(project)
    if dream is None:
        other.config.pop("dream", None)
    else:
        other.config["dream"] = dream
    for kind in drop_baselines:
        other.config["experiments"]["baselines"].pop(kind)
    return other


def test_the_figure_is_planned_with_its_files(tiny):
    planned = plan_figures(with_dream(tiny, {}))
    figure, plan = planned["fig3d_dream"]
    assert figure is FIG3D
    assert plan.files["methods"] == {
        "NetTIME Seq+DNase": "results/metrics/fig3b_seq_dnase/dream.tsv",
        "Catchitt": "results/metrics/catchitt/dream.tsv",
        "Leopard": "results/metrics/leopard/dream.tsv"}
    assert plan.models == ("fig3b_seq_dnase", "catchitt", "leopard")
    assert plan.params["n_conditions"] == 13 and plan.params["chromosomes"] == "chr1, chr8, chr21"
    caption = figure.caption.format(name=plan.name, **plan.params)
    assert "simulated conserved (B) and relaxed (A)" in caption and "reimplemented" in caption
    # The challenge's files named in the caption when they give the labels.
    other = plan_figures(with_dream(tiny, {"labels_dir": "dream/labels"}))["fig3d_dream"][1]
    assert "dream/labels/{TF}.train.labels.tsv.gz" in figure.caption.format(**other.params)
    only = plan_figures(with_dream(tiny, {}, drop_baselines=("catchitt",)))["fig3d_dream"][1]
    assert list(only.files["methods"]) == ["NetTIME Seq+DNase", "Leopard"]
    assert "fig3d_dream" not in plan_figures(with_dream(tiny, None))
    assert "fig3d_dream" not in plan_figures(with_dream(tiny, {},
                                                        drop_baselines=("catchitt", "leopard")))
    # The section is checked whenever present (its rules read it), with or without the figure.
    with pytest.raises(ConfigError, match="dream.bin"):
        plan_figures(with_dream(tiny, {"bin": 220}, drop_baselines=("catchitt", "leopard")))


@pytest.mark.parametrize(("dream", "message"), [
    ({"conditions": ["NOPE.K562"]}, "dream.conditions.*unknown condition"),
    ({"conditions": ["ATF3.K562"]}, "dream.conditions.*cannot be predicted by model"),
    ({"chromosomes": ["chrX"]}, "dream.chromosomes.*not in genome.chromosomes"),
    ({"bin": 220}, "dream.bin.*multiple of step"),
    ({"step": 300}, "dream.step.*peaks.window"),
])
def test_bad_settings_name_their_key(tiny, dream, message):
    project = with_dream(tiny, dream)
    # A new condition of a TF no model was trained on.
    row = project.conditions.iloc[[0]].assign(tf="ATF3", panel="new", condition="ATF3.K562")
    project.conditions = pd.concat([project.conditions, row], ignore_index=True)
    with pytest.raises(ConfigError, match=message):
        plan_figures(project)


def dream_table(path: Path, model: str, values: dict[str, float], roc_shift: float = 0.3):
    rows = [(model, c, "dream", "probability", 200, metric, v + (roc_shift if metric == "auroc"
                                                                   else 0.0))
            for c, v in values.items() for metric in ("auprc", "auroc")]
    rows += [(model, c, "dream", "probability", 200, "bound_bins", 10.0) for c in values]
    pd.DataFrame(rows, columns=["model", "condition", "split", "method", "resolution", "metric",
                                "value"]).to_csv(path, sep="\t", index=False)


def test_draw_and_claims(tmp_path):
    conditions = [f"T{i}.c" for i in range(8)]
    base = {c: 0.1 + 0.05 * i for i, c in enumerate(conditions)}
    files = {}
    for label, factor in (("NetTIME Seq+DNase", 1.2), ("Catchitt", 1.0), ("Leopard", 1.25)):
        files[label] = tmp_path / f"{label}.tsv"
        dream_table(files[label], label, {c: v * factor for c, v in base.items()})
    params = {"reference": "NetTIME Seq+DNase", "bin": 200, "step": 50, "chromosomes": "chr1"}
    numbers = draw_dream({"methods": files}, params, tmp_path / "f.pdf", tmp_path / "f.tsv")
    assert (tmp_path / "f.pdf").read_bytes()[:5] == b"%PDF-"
    saved = pd.read_csv(tmp_path / "f.tsv", sep="\t")
    assert set(saved["metric"]) == {"auprc", "auroc"} and len(saved) == 6
    row = numbers.set_index(["metric", "method"]).loc[("auprc", "Catchitt")]
    assert row["gain"] == pytest.approx(0.2) and row["paper_gain"] == 0.118
    assert row["p_NetTIME Seq+DNase_greater"] < 0.05 and row["n"] == 8
    plan = FigurePlan("fig3d_dream", {"methods": files}, params=params)
    claims = {c["claim_id"]: c for c in FIG3D.claims(plan, saved)}
    assert claims["fig3d_dream_catchitt"]["holds"] == "yes"
    assert "+20.0%" in claims["fig3d_dream_catchitt"]["measured"]
    assert "+11.8%" in claims["fig3d_dream_catchitt"]["measured"]
    assert claims["fig3d_dream_leopard"]["holds"] == "no"  # Leopard's mean is higher
