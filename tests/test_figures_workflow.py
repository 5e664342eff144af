"""The tiny configuration to every figure under real Snakemake, in a copy of the checkout:
every figure, its numbers and the findings, equal to the numbers recorded from it; a rerun does
nothing; one figure pulls in only its own models; a deleted model reruns only what depends on
it.

The recorded numbers (tests/data/tiny_figures) change only when the method does: after such a
change, rerun with ``NETTIME_RECORD=1`` to record the new numbers, and say why in the commit.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import copy_checkout

from nettime.paper.figures import figure_numbers

ROOT = Path(__file__).resolve().parent.parent
CONFIG = "config/tiny/config.yaml"
FIGURES = ["reference_free_signal", "fig2_jund", "fig2_jun_family", "fig2_unrelated", "fig3a_features", "table4_1",
           "fig3b_baselines", "fig3c_leopard_1bp", "fig3d_dream", "fig4_5_resolutions",
           "fig4a_embeddings_prediction", "fig4b_embeddings_training", "fig4c_tf_embeddings",
           "fig5b_transfer", "figs5ac_baselines_transfer", "figs5bd_fine_tuning",
           "fig4_7c_fine_tuning", "fig6a_new_conditions", "fig6b_motifs", "fig7_crf"]
TARGETS = [f"results/figures/{f}.pdf" for f in FIGURES] + ["results/findings.tsv"]

pytestmark = [pytest.mark.workflow, pytest.mark.slow]




def snakemake(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(cwd / "src")}
    return subprocess.run([sys.executable, "-m", "snakemake", "--configfile", CONFIG, *args],
                          cwd=cwd, env=env, capture_output=True, text=True)


def planned(run: subprocess.CompletedProcess) -> tuple[dict[str, int], set[str]]:
    """Rule -> job count of a dry run's job stats, and the models its jobs name."""
    text = run.stdout + run.stderr
    counts = {}
    block = text.split("Job stats:", 1)[1] if "Job stats:" in text else ""
    for line in block.splitlines()[3:]:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            break
        counts[parts[0]] = int(parts[1])
    return counts, set(re.findall(r"model=([A-Za-z0-9_-]+)", text))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    work = tmp_path_factory.mktemp("figures")
    copy_checkout(work)
    run = snakemake(work, "--cores", "2", *TARGETS)
    assert run.returncode == 0, run.stderr[-4000:]
    return work


def test_every_figure_and_its_numbers(built):
    for figure in FIGURES:
        pdf = built / f"results/figures/{figure}.pdf"
        assert pdf.read_bytes()[:5] == b"%PDF-"
        numbers = figure_numbers(built / f"results/figures/{figure}.tsv")
        assert len(numbers) > 0
    # Each figure's TSV carries the reference scores of its conditions beside its numbers.
    with_reference = pd.read_csv(built / "results/figures/fig2_jund.tsv", sep="\t")
    references = with_reference[with_reference["reference"].notna()]
    assert set(references["reference"]) == {"dnase", "assays_sum", "motif", "oracle"}
    assert set(references["condition"]) == {"JUND.K562", "JUND.HepG2", "JUND.A549"}
    fig2 = figure_numbers(built / "results/figures/fig2_jund.tsv")
    scores = fig2[fig2["kind"] == "score"]
    # Three JUND conditions in the tiny panel, three arms each, auPRC in [0, 1].
    assert set(scores["arm"]) == {"MTL", "MTL-sampled", "STL"} and len(scores) == 9
    assert scores["value"].between(0, 1).all()
    settings = figure_numbers(built / "results/figures/fig3a_features.tsv")
    assert list(settings["feature_set"]) == ["Seq", "Seq+TF", "Seq+CT", "Seq+CT+TF"]
    grid = figure_numbers(built / "results/figures/fig4a_embeddings_prediction.tsv")
    assert len(grid) == 4
    training = figure_numbers(built / "results/figures/fig4b_embeddings_training.tsv")
    assert list(training["variant"]) == ["trained", "random TF", "random CT", "random both"]
    tsne = figure_numbers(built / "results/figures/fig4c_tf_embeddings.tsv")
    assert set(tsne["tf"]) == {"JUND", "JUN", "JUNB", "FOXA1", "FOXA2", "CTCF", "CEBPB"}
    crf = figure_numbers(built / "results/figures/fig7_crf.tsv")
    assert {"iou", "transitions", "threshold_curve"} <= set(crf["panel"])
    transfer = figure_numbers(built / "results/figures/fig5b_transfer.tsv")
    scores = transfer[transfer["kind"] == "score"]
    assert set(scores["condition"]) == {"JUND.A549", "CTCF.A549"}
    assert set(scores["arm"]) == {"Supervised", "Embedding Transfer", "Average Train",
                                  "No Embedding Transfer"}
    new = figure_numbers(built / "results/figures/fig6a_new_conditions.tsv")
    assert set(new.loc[new["kind"] == "score", "condition"]) == {"FOXA2.A549"}
    findings = pd.read_csv(built / "results/findings.tsv", sep="\t")
    assert findings["claim_id"].is_unique
    assert findings["claim_id"].iloc[0] == "learned_beyond_free_signal"
    assert set(findings["verdict"]) <= {"yes", "no"}
    assert set(findings["holds"]) <= {"yes", "no", "not meaningful"}
    assert {"mtl_jund", "sampled_jun_family", "features_ct", "crf", "fig3c_leopard",
            "ratio_catchitt_1bp", "fig5b_et_vs_at", "figs5bd_tuning_gain",
            "fig6a_trained_vs_no"} <= set(findings["claim_id"])


RECORDED = Path(__file__).resolve().parent / "data" / "tiny_figures"


def assert_same_numbers(recorded: pd.DataFrame, measured: pd.DataFrame, name: str) -> None:
    """Equal tables, numbers to a tolerance that covers float rounding across CPUs (the
    models are trained on whatever CPU runs the test); p-values more loosely."""
    assert list(measured.columns) == list(recorded.columns), name
    assert measured.shape == recorded.shape, name
    for column in recorded.columns:
        a, b = recorded[column], measured[column]
        if a.dtype.kind in "fi" and b.dtype.kind in "fi":
            tolerance = 0.05 if column.startswith("p") else 5e-3
            close = np.isclose(a.to_numpy(float), b.to_numpy(float), rtol=0, atol=tolerance,
                               equal_nan=True)
            assert close.all(), f"{name}, column {column}: {a[~close]} -> {b[~close]}"
        elif column != "measured":  # measured: the same numbers, formatted
            # Missing text as "" on both sides: pandas' str dtype keeps NaN through astype.
            same = a.astype(object).fillna("").astype(str) == b.astype(object).fillna("").astype(str)
            assert same.all(), f"{name}, column {column}"


def test_numbers_equal_those_recorded(built):
    produced = [f"figures/{f}.tsv" for f in FIGURES] + ["findings.tsv"]
    if os.environ.get("NETTIME_RECORD"):
        for old in RECORDED.glob("*.tsv"):
            old.unlink()
        for path in produced:
            shutil.copy(built / "results" / path, RECORDED / Path(path).name)
    names = sorted(p.name for p in RECORDED.glob("*.tsv"))
    assert names == sorted(Path(p).name for p in produced)
    for path in produced:
        measured = pd.read_csv(built / "results" / path, sep="\t")
        assert_same_numbers(pd.read_csv(RECORDED / Path(path).name, sep="\t"), measured, path)


def test_reference_rows_are_those_of_the_figures_own_conditions(built):
    """A figure that names its conditions carries the reference scores of those alone; the new
    conditions' scores come from their own table (Fig 6a shows only new conditions)."""
    for name in FIGURES[1:]:
        table = pd.read_csv(built / "results/figures" / f"{name}.tsv", sep="\t")
        numbers = table[table["reference"].isna()]
        if "condition" not in numbers or numbers["condition"].isna().all():
            continue
        shown = set(numbers["condition"].dropna())
        assert set(table.loc[table["reference"].notna(), "condition"]) <= shown, name
    fig6a = pd.read_csv(built / "results/figures/fig6a_new_conditions.tsv", sep="\t")
    sheet = pd.read_csv(built / "config/tiny/conditions.tsv", sep="\t").query("panel == 'new'")
    new = set(sheet["tf"] + "." + sheet["cell_type"])
    assert set(fig6a.loc[fig6a["reference"].notna(), "condition"]) == new


def test_a_rerun_does_nothing(built):
    again = snakemake(built, "-n", *TARGETS)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "Nothing to be done" in again.stdout + again.stderr


def test_a_deleted_model_reruns_only_what_depends_on_it(built):
    model = built / "results/models/stl_JUND_K562/model.pt"
    saved = model.read_bytes()
    model.unlink()
    try:
        # Snakemake reruns a missing file only when asked for it (`snakemake` with no target
        # asks for every figure's models: figure_files in common.smk).
        counts, models = planned(snakemake(built, "-n", *TARGETS, str(model.relative_to(built))))
    finally:
        model.write_bytes(saved)
    assert models == {"stl_JUND_K562"}
    assert counts["train_model"] == 1 and counts["predict"] == 1
    # Both panels with JUND.K562 redraw, and the findings; nothing else.
    assert counts["figure_fig2_jund"] == 1 and counts["figure_fig2_jun_family"] == 1
    assert counts["findings"] == 1
    assert not {"figure_fig2_unrelated", "figure_fig3a_features", "figure_fig7_crf", "dataset",
                "train_crf"} & set(counts)


def test_one_figure_builds_only_what_it_needs(tmp_path):
    copy_checkout(tmp_path)
    run = snakemake(tmp_path, "-n", "results/figures/fig7_crf.pdf")
    assert run.returncode == 0, run.stderr[-3000:]
    counts, models = planned(run)
    assert models == {"multitask"}
    assert counts["train_model"] == 1 and counts["figure_fig7_crf"] == 1
    assert not {"figure_fig2_jund", "evaluate_probability", "predict_variant", "track",
                "findings"} & set(counts)


def test_a_new_row_reruns_only_its_own_work(built):
    """A new TF in two conditions (one in a cell type of the panel, one with a TF of the panel
    in it): its simulation, labels and motif track, and the base model fine-tuned for it; the
    other new condition sharing its cell type is fine-tuned again (its fine-tuning set grew).
    Nothing of the panel is remade: no world, no examples, no signal, no panel model."""
    sheet, config = built / "config/tiny/conditions.tsv", built / CONFIG
    saved = sheet.read_text(), config.read_text()
    sheet.write_text(saved[0] + "ATF3\tK562\t\tnew\nATF3\tA549\t\tnew\n")
    config.write_text(saved[1].replace("  CEBPB: MA0466.4\n",
                                       "  CEBPB: MA0466.4\n  ATF3: MA0605.2\n"))
    try:
        run = snakemake(built, "-n", *TARGETS)
    finally:
        sheet.write_text(saved[0])
        config.write_text(saved[1])
    assert run.returncode == 0, run.stderr[-3000:]
    counts, models = planned(run)
    assert not {"simulate_world", "simulate_cell", "examples", "inpeak_signal",
                "signal_tracks", "reference_scores"} & set(counts)
    assert counts["reference_scores_new"] == 1
    assert counts["simulate_condition"] == 2 and counts["labels"] == 2
    trained = {m for m in models if m.startswith("new_")}
    assert trained == {f"new_{c}{s}" for c in ("ATF3_K562", "ATF3_A549", "FOXA2_A549")
                       for s in ("", "_none", "_random")}
    assert counts["train_model"] == len(trained)
    assert not models - trained
