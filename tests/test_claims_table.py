"""The claims study's table (benchmarks/claims.py): per claim each seed's verdict, and whether the
verdicts agree across seeds."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from claims import verdict_table  # noqa: E402

FINDINGS = Path(__file__).parent / "data" / "tiny_figures" / "findings.tsv"


def test_verdicts_per_seed_and_their_agreement(tmp_path):
    findings = pd.read_csv(FINDINGS, sep="\t", dtype=str)
    flipped = findings.copy()
    first, second = findings["claim_id"].iloc[1], findings["claim_id"].iloc[2]
    flipped.loc[1, "verdict"] = "yes" if findings.loc[1, "verdict"] == "no" else "no"
    for seed, table in ((1, findings), (2, flipped)):
        (tmp_path / f"seed{seed}" / "results").mkdir(parents=True)
        table.to_csv(tmp_path / f"seed{seed}" / "results" / "findings.tsv", sep="\t", index=False)
    table = verdict_table(tmp_path, [1, 2, 3]).set_index("claim_id")
    assert list(table.columns) == ["seed 1", "seed 2", "stable"]  # seed 3 has not run
    assert list(table.index) == list(findings["claim_id"])
    assert table.loc[first, "stable"] == "no" and table.loc[second, "stable"] == "yes"
    row = findings.set_index("claim_id").loc[second]
    assert table.loc[second, "seed 1"] == (f"{row['verdict']} ({row['holds']}, "
                                           f"p={float(row['p_value']):.2g})")
    assert verdict_table(tmp_path, [3]).empty
