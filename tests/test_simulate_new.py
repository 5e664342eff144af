"""Conditions beyond the simulated world (panel new): a new TF or cell type is simulated from the
world's files (nettime.sources.simulate.binding) and changes none of them, nor any other
condition's or cell type's files. Tiny scale."""

from __future__ import annotations

import filecmp
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nettime.cli import main
from nettime.config import ConfigError, load_project
from nettime.paper.experiments import SUPERVISED_PANELS
from nettime.sources.simulate.binding import WorldState
from nettime.sources.simulate.checks import motif_enrichment
from nettime.sources.simulate.common import (
    WORLD_PANELS,
    check_new_conditions,
    frame_text,
    panel_motifs,
    world_spec,
)
from nettime.sources.simulate.condition import simulate_condition
from nettime.sources.simulate.run import simulate
from nettime.sources.simulate.world import simulate_world

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "config" / "tiny"
ASSAYS = ("DNase", "H3K4me1", "H3K4me3", "H3K27ac")
# A new TF (ATF3, whose motif is like JUNB's) in a world cell type and in a new one (MCF-7), and
# a world TF in the new cell type.
NEW_ROWS = [("ATF3", "K562"), ("ATF3", "MCF-7"), ("JUND", "MCF-7")]
NEW_MOTIFS = {"ATF3": "MA0605.2"}


def tiny_variant(folder: Path, rows=(), cells=(), motifs=None) -> Path:
    """A copy of the tiny configuration in ``folder`` with ``rows`` (TF, cell type) added to the
    conditions sheet as new, ``cells`` to the features sheet (every assay) and ``motifs`` to
    the motif table; returns the config file."""
    folder.mkdir(parents=True, exist_ok=True)
    conditions = (TINY / "conditions.tsv").read_text()
    conditions += "".join(f"{tf}\t{cell}\t\tnew\n" for tf, cell in rows)
    (folder / "conditions.tsv").write_text(conditions)
    features = (TINY / "cell_features.tsv").read_text()
    features += "".join(f"{cell}\t{assay}\t\n" for cell in cells for assay in ASSAYS)
    (folder / "cell_features.tsv").write_text(features)
    text = (TINY / "config.yaml").read_text()
    text = text.replace("config/tiny/conditions.tsv", str(folder / "conditions.tsv"))
    text = text.replace("config/tiny/cell_features.tsv", str(folder / "cell_features.tsv"))
    extra = "".join(f"  {tf}: {motif}\n" for tf, motif in (motifs or {}).items())
    text = text.replace("motifs:\n", "motifs:\n" + extra, 1)
    path = folder / "config.yaml"
    path.write_text(text)
    return path


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """The tiny data set as the tiny configuration makes it."""
    out = tmp_path_factory.mktemp("base") / "simulated"
    simulate(load_project(tiny_variant(out.parent / "config")), out, progress=False)
    return out


@pytest.fixture(scope="module")
def plus_project(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plus_config")
    return load_project(tiny_variant(folder, NEW_ROWS, ["MCF-7"], NEW_MOTIFS))


@pytest.fixture(scope="module")
def plus(tmp_path_factory, plus_project) -> Path:
    """The tiny data set with a new TF and a new cell type."""
    out = tmp_path_factory.mktemp("plus") / "simulated"
    simulate(plus_project, out, progress=False)
    return out


def test_world_panels_are_the_supervised_panels():
    assert WORLD_PANELS == SUPERVISED_PANELS


def test_new_rows_change_no_file_of_the_world_or_of_other_conditions(base, plus):
    # The portal lists every experiment, so it alone grows with the new rows.
    kept = [rel for rel in _files(base) if not rel.startswith("portal/")]
    assert "truth/binding.tsv.gz" in kept and "features/K562.DNase.bigWig" in kept
    for rel in kept:
        assert filecmp.cmp(base / rel, plus / rel, shallow=False), rel
    added = set(_files(plus)) - set(_files(base))
    for tf, cell in NEW_ROWS:
        assert f"peaks/{tf}.{cell}.conserved.narrowPeak.gz" in added
        assert f"truth/{tf}.{cell}.sites.bed" in added
    assert {f"features/MCF-7.{a}.bigWig" for a in ASSAYS} <= added
    world = json.loads((plus / "truth" / "world.json").read_text())
    assert "ATF3" not in world["tfs"] and "MCF-7" not in world["cell_types"]
    assert world["cell_types"] == sorted({"K562", "HepG2", "A549"})


def test_world_pairs_bound_from_the_files_match_the_world(base):
    # The pair function, fed from the world's files, gives the world's own binding.
    state = WorldState(base)
    binding = pd.read_csv(base / "truth" / "binding.tsv.gz", sep="\t")
    elements = pd.read_csv(base / "truth" / "elements.tsv", sep="\t")
    for cell in state.cell_types:
        openness = state.openness(cell)
        assert np.array_equal(openness, elements[f"open_{cell}"].to_numpy()), cell
        for tf in state.tfs:
            ours = state.binding(tf, cell, openness=openness).reset_index(drop=True)
            world = binding[(binding["tf"] == tf) & (binding["cell_type"] == cell)]
            assert frame_text(ours) == frame_text(world.reset_index(drop=True)), (tf, cell)


def test_new_cell_type_is_what_the_world_would_have_made(plus, plus_project, tmp_path):
    # A world that has MCF-7 (same TFs, so the same genome and planted sites).
    spec = world_spec(plus_project)
    spec.cell_types = sorted([*spec.cell_types, "MCF-7"])
    wider = tmp_path / "wider"
    simulate_world(spec, wider)
    assert (wider / "genome/genome.fa").read_bytes() == (plus / "genome/genome.fa").read_bytes()
    elements = pd.read_csv(wider / "truth" / "elements.tsv", sep="\t")
    state = WorldState(plus)
    assert np.array_equal(state.openness("MCF-7"), elements["open_MCF-7"].to_numpy())
    # Binding in MCF-7 matches but for motif-less binding, whose cell type is drawn among the
    # world's cell types.
    binding = pd.read_csv(wider / "truth" / "binding.tsv.gz", sep="\t")
    indirect = json.loads((wider / "truth" / "world.json").read_text())["indirect_cell"]
    compared = 0
    for tf in state.tfs:
        if indirect[tf] == "MCF-7":
            continue
        ours = state.binding(tf, "MCF-7").reset_index(drop=True)
        world = binding[(binding["tf"] == tf) & (binding["cell_type"] == "MCF-7")]
        assert frame_text(ours) == frame_text(world.reset_index(drop=True)), tf
        compared += 1
    assert compared >= 2


def test_new_cell_type_signals_do_not_depend_on_new_tfs(plus, tmp_path):
    config = tiny_variant(tmp_path / "config", [("JUND", "MCF-7")], ["MCF-7"])
    out = tmp_path / "simulated"
    simulate(load_project(config), out, progress=False)
    for assay in ASSAYS:
        for ext in ("bigWig", "narrowPeak.gz"):
            rel = f"features/MCF-7.{assay}.{ext}"
            assert filecmp.cmp(out / rel, plus / rel, shallow=False), rel
    rel = "peaks/JUND.MCF-7.conserved.narrowPeak.gz"
    assert filecmp.cmp(out / rel, plus / rel, shallow=False)


def test_new_tf_binds_the_sites_of_its_motif_family(plus):
    world = json.loads((plus / "truth" / "world.json").read_text())
    families = world["families"]
    sites = pd.read_csv(plus / "truth" / "sites.bed", sep="\t", header=None,
                        names=["chrom", "start", "end", "site", "motif", "score", "strand",
                               "element"]).set_index("site")
    for cell in ("K562", "MCF-7"):
        truth = pd.read_csv(plus / f"truth/ATF3.{cell}.sites.bed", sep="\t", header=None)
        kind = truth[3].str.split(":").str[0]
        site = truth[3].str.split(":").str[1]
        direct = sites.loc[site[kind == "direct"], "motif"]
        assert len(direct) >= 10, cell
        # ATF3's motif is most like JUNB's: it binds the JUN family's planted sites.
        assert set(direct.map(families)) == {families["JUNB"]}, cell


def test_new_tf_conserved_peaks_are_enriched_for_its_family_motif(plus, plus_project):
    motifs = panel_motifs(plus_project)
    cells = [cell for tf, cell in NEW_ROWS if tf == "ATF3"]
    for name in ("JUNB", "ATF3"):  # the planted family member's motif, and its own
        in_peaks, in_background, n = motif_enrichment(plus, "ATF3", cells, motifs[name])
        assert n >= 10
        assert in_peaks >= 0.5, (name, in_peaks)
        assert in_peaks >= 2.5 * in_background + 0.1, (name, in_peaks, in_background)


def test_new_tf_condition_needs_its_motif(base):
    with pytest.raises(ValueError, match="'ATF3' is not in the simulated world .* needs its "
                                         "motif"):
        simulate_condition(base, "ATF3", "K562")
    assert not (base / "peaks" / "ATF3.K562.conserved.narrowPeak.gz").exists()


# REST's motif (MA0138.2) is like none of the tiny panel's.
NO_FAMILY = {"rows": [("REST", "K562"), ("REST", "HepG2")], "motifs": {"REST": "MA0138.2"}}


def test_new_tf_without_motif_family_is_refused_before_any_work(tmp_path, capsys, base):
    config = tiny_variant(tmp_path / "config", NO_FAMILY["rows"], (), NO_FAMILY["motifs"])
    sheet = str(tmp_path / "config" / "conditions.tsv")
    with pytest.raises(ConfigError) as caught:
        check_new_conditions(load_project(config))
    (problem,) = caught.value.problems
    assert problem.file == sheet and problem.column == "tf"
    assert "'REST' (motif MA0138.2)" in problem.message
    assert "no site it could bind" in problem.message
    code = main(["simulate", "--config", str(config), "--outdir", str(tmp_path / "out"),
                 "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and sheet in err and "'REST' (motif MA0138.2)" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
    # The stage itself refuses it too, naming the TF and its motif.
    motif = panel_motifs(load_project(config))["REST"]
    with pytest.raises(ValueError, match=r"'REST' \(motif MA0138.2\)"):
        simulate_condition(base, "REST", "K562", motif=motif)


@pytest.mark.workflow
def test_workflow_stops_on_new_tf_without_motif_family(tmp_path):
    config = tiny_variant(tmp_path / "config", NO_FAMILY["rows"], (), NO_FAMILY["motifs"])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])])}
    exe = Path(sys.executable).with_name("snakemake")
    result = subprocess.run([str(exe), "-s", str(ROOT / "workflow" / "Snakefile"), "-n",
                             "--cores", "1", "--configfile", str(config)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode != 0
    assert "'REST' (motif MA0138.2)" in result.stderr
    assert str(tmp_path / "config" / "conditions.tsv") in result.stderr
    assert "Traceback" not in result.stderr
