"""Fig 6b, de novo motifs: the plan and its config checks (nettime.paper.figures_motifs), the
layout of the motif files, and the figure drawn from real tables and MEME files of
nettime.evaluation.denovo on a small planted genome (real pyfaidx, memelite and logomaker)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pandas as pd
import pytest
from helpers import write_motif_world

from nettime import layout
from nettime.config import ConfigError, load_project, validate_config
from nettime.evaluation.denovo import denovo_condition, denovo_paths
from nettime.motifs.discovery import ENGINE
from nettime.motifs.matrices import Motif, load_jaspar, write_meme
from nettime.paper.draw import FigureError
from nettime.paper.figures import figure_by_key, plan_figures
from nettime.paper.figures_motifs import motif_models
from nettime.paper.logos import draw_motif_logos

SIZES = {"chr1": 40000, "chr2": 20000}
CONDITIONS = ("JUND.c1", "RANDOM.c1")


@pytest.fixture(scope="module")
def tiny():
    return load_project("config/tiny/config.yaml")


def with_motifs(project, **settings):
    other = copy.deepcopy(project)
    other.config["motif_discovery"] = {**other.config["motif_discovery"], **settings}
    return other


def test_layout_and_denovo_paths_agree():
    files = layout.denovo_files(model="m", split="test", condition="JUND.K562")
    folder = Path(files["table"]).parent
    assert {k: str(v) for k, v in denovo_paths(folder, "JUND.K562").items()} == files
    assert files["sites_meme"] == "results/motifs/m/test/JUND.K562.sites.meme"
    assert len(set(files.values())) == 7


def test_plan_reads_the_tables_of_the_configured_conditions(tiny):
    figure, plan = plan_figures(tiny)["fig6b_motifs"]
    assert figure.key == "fig6b"
    assert list(plan.files["conditions"]) == tiny.config["motif_discovery"]["conditions"]
    # The new condition's sites come from its Fig 6a model, the others' from the base model.
    assert plan.models == ("new_FOXA2_A549", "multitask")
    table = plan.files["conditions"]["JUND.K562"]["table"]
    assert table == "results/motifs/multitask/train/JUND.K562.tsv"
    assert plan.files["conditions"]["FOXA2.A549"]["table"] == (
        "results/motifs/new_FOXA2_A549/train/FOXA2.A549.tsv")
    assert plan.files["planted"]["meme"] == "resources/simulated/motifs/planted.meme"
    # Its TSV carries the reference scores of the new conditions too, from their own table.
    assert plan.files["reference"] == {"supervised": "results/metrics/reference.test.tsv",
                                       "new": "results/metrics/reference_new.test.tsv"}
    assert plan_figures(tiny)["fig7_crf"][1].files["reference"] == {
        "supervised": "results/metrics/reference.test.tsv"}
    assert "the engine that made each motif is named" in figure.caption.format(**plan.params)
    builtin = plan_figures(with_motifs(tiny, engine="builtin"))["fig6b_motifs"]
    assert "reimplemented in nettime" in figure.caption.format(**builtin[1].params)
    # An empty list: every condition the base model predicts (its train and heldout panels).
    every = motif_models(with_motifs(tiny, conditions=[]))
    assert set(every) == set(tiny.condition_names(["train", "heldout"]))


@pytest.mark.parametrize(("conditions", "model", "message"), [
    (["NOPE.K562"], "auto",
     r"key 'motif_discovery.conditions': unknown condition\(s\) NOPE.K562"),
    (["FOXA2.A549"], "supervised", r"key 'motif_discovery.conditions': condition\(s\) "
                                   r"FOXA2.A549 have no calls of the model 'multitask'"),
    (["JUND.K562"], "transfer", r"condition\(s\) JUND.K562 have no calls of a Fig 6a model"),
])
def test_a_condition_without_calls_is_a_config_error(tiny, conditions, model, message):
    with pytest.raises(ConfigError, match=message):
        plan_figures(with_motifs(tiny, conditions=conditions, model=model))


def test_a_new_condition_takes_its_fig6a_model(tiny):
    models = motif_models(with_motifs(tiny, conditions=["FOXA2.A549", "JUND.K562"]))
    assert models == {"FOXA2.A549": "new_FOXA2_A549", "JUND.K562": "multitask"}


def test_the_schema_names_a_malformed_condition_and_unknown_keys(tiny):
    config = copy.deepcopy(tiny.config)
    config["motif_discovery"] = {"conditions": ["JUNDK562"], "engines": "auto"}
    with pytest.raises(ConfigError) as error:
        validate_config(config, "c.yaml")
    text = str(error.value)
    assert "key 'motif_discovery.conditions[0]': 'JUNDK562' is malformed" in text
    assert "unknown key(s) 'engines'" in text


@pytest.fixture(scope="module")
def motif_world(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A random genome with JUND sites planted every ~500 bp; JUND.c1 called at the sites,
    RANDOM.c1 at random places; conserved peaks (shared) with summits on the sites; example
    windows tiling the genome; the de novo outputs of both conditions; the planted matrices
    (JUND, and CTCF's matrix for RANDOM) and the world's families."""
    root = write_motif_world(tmp_path_factory.mktemp("fig6b"), SIZES, seed=5, spacing=500,
                             jitter=40)["root"]
    jund = load_jaspar("MA0492.2")
    out = root / "motifs"
    for condition in CONDITIONS:
        denovo_condition(condition, root / "genome.fa", root / "sites.bed",
                         root / "peaks.narrowPeak", root / "examples.bed", out,
                         engine="builtin", progress=False, seed=1)
    ctcf = load_jaspar("MA0139.2")
    write_meme([Motif("JUND", jund.matrix_id, jund.ppm), Motif("RANDOM", "MA0139.2", ctcf.ppm)],
               root / "planted.meme")
    (root / "world.json").write_text(json.dumps({"families": {"JUND": 0, "RANDOM": 1}}))
    files = {"conditions": {c: {role: str(p) for role, p in denovo_paths(out, c).items()
                                if role in ("table", "sites_meme", "peaks_meme")}
                            for c in CONDITIONS},
             "planted": {"meme": str(root / "planted.meme"), "world": str(root / "world.json")}}
    params = {"models": dict.fromkeys(CONDITIONS, "m"), "split": "test", "calls": "crf",
              "tomtom_threshold": 0.05, "e_value_threshold": 0.05}
    return {"root": root, "files": files, "params": params}


def test_draw_shows_each_set_compares_and_checks_the_planted_motif(motif_world,
                                                                   tmp_path: Path):
    pdf, tsv = tmp_path / "fig6b.pdf", tmp_path / "fig6b.tsv"
    numbers = draw_motif_logos(motif_world["files"], motif_world["params"], pdf, tsv)
    assert pdf.read_bytes()[:5] == b"%PDF-"
    saved = pd.read_csv(tsv, sep="\t")
    assert saved["condition"].tolist() == list(CONDITIONS)
    rows = saved.set_index("condition")
    jund, random = rows.loc["JUND.c1"], rows.loc["RANDOM.c1"]
    assert jund["match"] == "yes" and jund["tomtom_p_value"] < 0.05
    assert jund["sites_engine"] == ENGINE and jund["model"] == "m"
    assert jund["sites_recovers_planted"] == "yes" and jund["sites_planted_best_tf"] == "JUND"
    assert jund["sites_planted_q_value"] < 0.05 and jund["planted_family"] == "JUND"
    # No significant motif under the random sites: not compared, said so, nothing invented.
    assert random["match"] == "not compared" and pd.isna(random["tomtom_p_value"])
    assert random["sites_recovers_planted"] == "no motif"
    assert random["status"].startswith("no significant motif")
    assert random["peaks_planted_best_tf"] == "RANDOM"  # its peaks hold JUND sites, not CTCF
    assert random["peaks_recovers_planted"] == "no"
    assert numbers.shape == saved.shape

    figure = figure_by_key("fig6b")
    plan = type("Plan", (), {"params": motif_world["params"]})()
    claims = pd.DataFrame(figure.claims(plan, saved)).set_index("claim_id")
    assert claims.loc["motif_match_jund_c1", "holds"] == "yes"
    assert claims.loc["motif_match_random_c1", "holds"] == "no"
    assert "no significant motif" in claims.loc["motif_match_random_c1", "measured"]
    assert claims.loc["motif_match", "holds"] == "no"
    assert claims.loc["motif_match", "measured"].startswith("1 of 2 conditions match")
    assert claims.loc["motif_planted_jund_c1", "holds"] == "yes"
    assert claims.loc["motif_planted_random_c1", "holds"] == "no"
    assert set(claims["holds"]) <= {"yes", "no"} and set(claims["figure"]) == {"Fig 6b"}


def test_draw_names_a_missing_table(motif_world, tmp_path: Path):
    files = copy.deepcopy(motif_world["files"])
    files["conditions"]["JUND.c1"]["table"] = str(tmp_path / "gone.tsv")
    with pytest.raises(FigureError, match="gone.tsv: no such de novo motif table"):
        draw_motif_logos(files, motif_world["params"], tmp_path / "f.pdf", tmp_path / "f.tsv")
    assert not (tmp_path / "f.pdf").exists()


def test_a_tf_the_world_lacks_is_checked_against_the_family_it_binds(motif_world,
                                                                    tmp_path: Path):
    """A new TF of no supervised panel has no planted matrix: the simulator lets it bind the
    sites of the family whose motif is like its own, and those are the matrices it is
    compared with. Here JUND is left out of the world, which plants JUN (same family)."""
    jun = load_jaspar("MA0488.2")
    ctcf = load_jaspar("MA0139.2")
    write_meme([Motif("JUN", jun.matrix_id, jun.ppm), Motif("RANDOM", "MA0139.2", ctcf.ppm)],
               tmp_path / "planted.meme")
    (tmp_path / "world.json").write_text(json.dumps({"families": {"JUN": 0, "RANDOM": 1}}))
    files = {**motif_world["files"], "planted": {"meme": str(tmp_path / "planted.meme"),
                                                 "world": str(tmp_path / "world.json")}}
    with pytest.raises(FigureError, match=r"planted.meme: no planted motif for TF 'JUND'"):
        draw_motif_logos(files, motif_world["params"], tmp_path / "f.pdf", tmp_path / "f.tsv")
    assert not (tmp_path / "f.pdf").exists()
    params = {**motif_world["params"], "beyond_world_motifs": {"JUND": "MA0492.2"}}
    draw_motif_logos(files, params, tmp_path / "f.pdf", tmp_path / "f.tsv")
    jund = pd.read_csv(tmp_path / "f.tsv", sep="\t").set_index("condition").loc["JUND.c1"]
    assert pd.isna(jund["planted_id"]) and jund["planted_family"] == "JUN"
    assert pd.isna(jund["sites_planted_p_value"]) and jund["sites_planted_best_tf"] == "JUN"
    assert jund["sites_recovers_planted"] == "yes"
    plan = type("Plan", (), {"params": params})()
    claims = pd.DataFrame(figure_by_key("fig6b").claims(
        plan, pd.read_csv(tmp_path / "f.tsv", sep="\t"))).set_index("claim_id")
    row = claims.loc["motif_planted_jund_c1"]
    assert row["holds"] == "yes" and "family JUND binds (JUN)" in row["claim"]
    assert "no planted matrix of its own" in row["measured"]
