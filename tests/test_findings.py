"""Claims are judged from the figures' numbers, and a claim that fails is reported as failing."""

from __future__ import annotations

import numpy as np
import pandas as pd

from nettime.paper import findings, plots


def _multitask_numbers(tmp_path, mtl_shift: float, sampled_shift: float) -> pd.DataFrame:
    stl = np.linspace(0.2, 0.5, 7)
    table = pd.DataFrame(
        [{"condition": f"c{i}", "arm": arm, "auprc": v + shift}
         for arm, shift in (("MTL", mtl_shift), ("MTL-sampled", sampled_shift), ("STL", 0.0))
         for i, v in enumerate(stl + np.linspace(0, 0.01, 7) * (arm == "MTL"))])
    return plots.plot_multitask(table, tmp_path / "f.pdf", "x")


def test_multitask_claims_hold_and_fail(tmp_path):
    good = _multitask_numbers(tmp_path, 0.1, -0.05)
    assert findings.mtl_beats_stl(good, "a", "JUND", "Fig 2a", "")["holds"] == "yes"
    assert findings.sampled_does_not_beat_stl(good, "b", "JUND", "Fig 2a", "")["holds"] == "yes"
    bad = _multitask_numbers(tmp_path, -0.1, 0.1)
    assert findings.mtl_beats_stl(bad, "a", "JUND", "Fig 2a", "")["holds"] == "no"
    assert findings.sampled_does_not_beat_stl(bad, "b", "JUND", "Fig 2a", "")["holds"] == "no"


def test_feature_claims(tmp_path):
    base = np.linspace(0.1, 0.3, 8)
    table = pd.DataFrame(
        [{"feature_set": fs, "condition": f"c{i}", "auprc": v + shift + 0.001 * i * (fs != "Seq")}
         for fs, shift in (("Seq", 0), ("Seq+TF", 0.0), ("Seq+CT", 0.2), ("Seq+CT+TF", 0.5))
         for i, v in enumerate(base)])
    settings = plots.plot_feature_settings(table, tmp_path / "f.pdf")
    assert findings.cell_type_features_help(settings)["holds"] == "yes"
    # A large, consistent gain from motifs with CT contradicts the claim.
    assert findings.motif_features_add_little(settings)["holds"] == "no"


def test_related_tfs_closer():
    rng = np.random.default_rng(0)
    names = ["JUN", "JUNB", "JUND", "FOXA1", "FOXA2", "HNF4A", "HNF4G", "CTCF", "SP1"]
    families = {"JUN": "AP-1", "JUNB": "AP-1", "JUND": "AP-1", "FOXA1": "FOXA",
                "FOXA2": "FOXA", "HNF4A": "HNF4", "HNF4G": "HNF4"}
    anchors = {f: rng.normal(size=12) for f in ("AP-1", "FOXA", "HNF4", "CTCF", "SP1")}
    clustered = np.stack([anchors[families.get(n, n)] + 0.1 * rng.normal(size=12)
                          for n in names])
    assert findings.related_tfs_are_closer(clustered, names, families,
                                           permutations=2000)["holds"] == "yes"
    scattered = rng.normal(size=(len(names), 12))
    assert findings.related_tfs_are_closer(scattered, names, families,
                                           permutations=2000)["holds"] == "no"


def test_crf_claim(tmp_path):
    conditions = [f"c{i}" for i in range(8)]
    iou = pd.DataFrame([{"condition": c, "method": m, "iou": 0.35 + 0.01 * i}
                        for i, c in enumerate(conditions) for m in ("threshold", "crf")])
    transitions = pd.DataFrame([{"condition": c, "method": m, "transitions": t + 0.01 * i}
                                for i, c in enumerate(conditions)
                                for m, t in (("target", 0.2), ("threshold", 1.5),
                                             ("crf", 0.25))])
    curve = pd.DataFrame({"threshold": [0.1, 0.2], "iou": [0.3, 0.35]})
    numbers = plots.plot_binary_calls(iou, transitions, curve, 0.2, tmp_path / "f.pdf")
    assert findings.crf_matches_threshold(numbers)["holds"] == "yes"
    worse = transitions.assign(transitions=np.where(transitions["method"] == "crf", 3.0,
                                                    transitions["transitions"]))
    numbers = plots.plot_binary_calls(iou, worse, curve, 0.2, tmp_path / "g.pdf")
    assert findings.crf_matches_threshold(numbers)["holds"] == "no"
    # Half the threshold's IOU is not "comparable", however small both are.
    halved = iou.assign(iou=np.where(iou["method"] == "crf", iou["iou"] / 2, iou["iou"]))
    numbers = plots.plot_binary_calls(halved, transitions, curve, 0.2, tmp_path / "h.pdf")
    assert findings.crf_matches_threshold(numbers)["holds"] == "no"
