"""Reference scores (nettime.evaluation.reference) and the findings' first row, which every
other verdict needs."""

import numpy as np
import pandas as pd
import pytest

from nettime.data.dataset import open_dataset
from nettime.data.writer import write_dataset_arrays
from nettime.evaluation.reference import ORACLE_FLANK, reference_scores
from nettime.metrics import auprc
from nettime.paper.findings import (
    NOT_MEANINGFUL,
    claim_row,
    findings_table,
    learned_beyond_free_signal,
)

N, L = 12, 400


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("ref")
    rng = np.random.default_rng(3)
    dnase = rng.standard_normal((N, L)).astype(np.float32)
    h3 = rng.standard_normal((N, L)).astype(np.float32)
    labels = (dnase > 1.0).astype(np.uint8)  # bound exactly where DNase is high
    motifs = {"JUND": rng.standard_normal((N, L, 2)).astype(np.float32)}
    start = np.arange(N, dtype=np.int64) * 1000
    coordinates = pd.DataFrame({"chrom": "chr1", "start": start, "end": start + L})
    write_dataset_arrays(root / "test", rng.integers(0, 4, (N, L)).astype(np.uint8),
                         {"JUND.K562": labels},
                         {("K562", "DNase"): dnase, ("K562", "H3K27ac"): h3}, motifs,
                         coordinates=coordinates)
    # One true site in the middle of example 2 (chr1:2000-2400), occupancy 0.8.
    sites = root / "JUND.K562.sites.bed"
    sites.write_text("chr1\t2195\t2205\tdirect:S1\t400\t.\n")
    return {"root": root, "dnase": dnase, "h3": h3, "labels": labels, "motifs": motifs,
            "sites": sites}


def test_each_reference_is_the_auprc_of_its_raw_score(data):
    table = reference_scores(data["root"] / "test", "test", ["JUND.K562"],
                             {"JUND.K562": data["sites"]}, progress=False)
    values = table.set_index("method")["value"]
    assert set(table["model"]) == {"reference"} and set(table["resolution"]) == {1}
    y = data["labels"]
    assert values["dnase"] == pytest.approx(1.0)
    with open_dataset(data["root"] / "test") as stored:  # the tracks as stored (float16)
        dnase, h3 = (stored.read_signal("K562", a) for a in ("DNase", "H3K27ac"))
        motif = stored.read_motifs("JUND").max(-1)
    assert values["assays_sum"] == pytest.approx(auprc((dnase + h3).astype(np.float16), y))
    assert values["motif"] == pytest.approx(auprc(motif.astype(np.float16), y))
    # The oracle scores 0.8 within ORACLE_FLANK of the site, 0 elsewhere.
    oracle = np.zeros((N, L), np.float16)
    oracle[2, 195 - ORACLE_FLANK:205 + ORACLE_FLANK] = 0.8
    assert values["oracle"] == pytest.approx(auprc(oracle, y))


def test_a_subset_of_examples_scores_only_those(data):
    kept = np.zeros(N, dtype=bool)
    kept[[1, 4, 5, 9]] = True
    table = reference_scores(data["root"] / "test", "test", ["JUND.K562"],
                             {"JUND.K562": data["sites"]}, progress=False, examples_kept=kept)
    values = table.set_index("method")["value"]
    y = data["labels"][kept]
    with open_dataset(data["root"] / "test") as stored:
        dnase, h3 = (stored.read_signal("K562", a)[kept] for a in ("DNase", "H3K27ac"))
        motif = stored.read_motifs("JUND")[kept].max(-1)
    assert values["assays_sum"] == pytest.approx(auprc((dnase + h3).astype(np.float16), y))
    assert values["motif"] == pytest.approx(auprc(motif.astype(np.float16), y))
    assert values["motif"] != pytest.approx(
        reference_scores(data["root"] / "test", "test", ["JUND.K562"], progress=False)
        .set_index("method").loc["motif", "value"])
    # The true site lies in example 2, which is left out: the oracle scores 0 everywhere.
    assert values["oracle"] == pytest.approx(auprc(np.zeros(y.shape, np.float16), y))


def test_without_motif_channels_or_sites_those_rows_are_absent(data):
    table = reference_scores(data["root"] / "test", "test", ["JUND.K562"], progress=False)
    assert set(table["method"]) == {"dnase", "assays_sum", "motif"}


def _numbers(model, free):
    rows = [{"kind": "score", "arm": "model", "condition": f"c{i}", "value": v}
            for i, v in enumerate(model)]
    rows += [{"kind": "score", "arm": "free", "condition": f"c{i}", "value": v}
             for i, v in enumerate(free)]
    return pd.DataFrame(rows)


def test_a_model_at_the_level_of_its_inputs_makes_every_verdict_not_meaningful():
    same = learned_beyond_free_signal(_numbers([0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
                                               [0.1, 0.21, 0.3, 0.41, 0.5, 0.6]),
                                      "model", ["free"])
    assert same["holds"] == "no"
    other = claim_row("x", "a claim", "Fig 1", "measured", 0.01, "paper", "criterion", True)
    table = findings_table([other, same])
    assert list(table["claim_id"]) == ["learned_beyond_free_signal", "x"]
    assert table.loc[1, "holds"] == NOT_MEANINGFUL and table.loc[1, "verdict"] == "yes"


def test_a_model_above_its_inputs_keeps_the_verdicts():
    better = learned_beyond_free_signal(_numbers([0.5, 0.6, 0.7, 0.8, 0.9, 0.7],
                                                 [0.1, 0.2, 0.3, 0.1, 0.2, 0.3]),
                                        "model", ["free"])
    assert better["holds"] == "yes" and better["p_value"] < 0.05
    other = claim_row("x", "a claim", "Fig 1", "measured", 0.5, "paper", "criterion", False)
    assert list(findings_table([better, other])["holds"]) == ["yes", "no"]
