"""The simulated ENCODE-like data set (nettime.sources.simulate.world), at tiny scale, checked with the real
tools: pyBigWig, bedtools (pybedtools), pyfaidx, memelite's FIMO and snakemake."""

from __future__ import annotations

import filecmp
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pybedtools
import pyBigWig
import pyfaidx
import pytest

from nettime.cli import main
from nettime.config import load_project
from nettime.files import md5sum, read_chrom_sizes
from nettime.sources.simulate.checks import motif_enrichment
from nettime.sources.simulate.common import chromosome_sizes, panel_motifs
from nettime.sources.simulate.condition import simulate_condition
from nettime.sources.simulate.portal import accession
from nettime.sources.simulate.run import simulate

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "config" / "tiny" / "config.yaml"
NARROWPEAK_COLUMNS = 10


def _all_files(folder: Path) -> list[Path]:
    return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())


@pytest.fixture(scope="session")
def project():
    return load_project(TINY)


@pytest.fixture(scope="session")
def sim(tmp_path_factory, project) -> Path:
    """The tiny simulated data set, made once per session."""
    out = tmp_path_factory.mktemp("sim") / "simulated"
    simulate(project, out, progress=False)
    return out


@pytest.fixture(scope="session")
def sizes(sim) -> dict[str, int]:
    return read_chrom_sizes(sim / "genome" / "chrom.sizes")


def _narrowpeaks(sim: Path) -> list[Path]:
    return sorted((sim / "peaks").glob("*.narrowPeak.gz")) + sorted(
        (sim / "features").glob("*.narrowPeak.gz"))


def _read_peaks(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", header=None)


# ---- layout and determinism ----------------------------------------------------------------


def test_every_contract_file_exists(sim, project):
    expected = ["genome/genome.fa", "genome/genome.fa.fai", "genome/chrom.sizes",
                "genome/blacklist.bed", "motifs/planted.meme", "portal/files.tsv",
                "truth/elements.tsv", "truth/binding.tsv.gz", "truth/decoys.bed",
                *_condition_files(project)]
    missing = [p for p in expected if not (sim / p).is_file()]
    assert not missing
    assert not [p for p in _all_files(sim) if ".tmp" in p.name]  # no leftovers of atomic writes


def test_same_seed_is_byte_identical_and_other_seed_differs(sim, project, tmp_path):
    again = tmp_path / "again"
    simulate(project, again, progress=False)
    assert _all_files(again) == _all_files(sim)
    for rel in _all_files(sim):
        assert filecmp.cmp(sim / rel, again / rel, shallow=False), rel
    other = tmp_path / "other"
    simulate(project, other, seed=8, progress=False)
    for rel in ["genome/genome.fa", "peaks/JUND.K562.conserved.narrowPeak.gz",
                "features/K562.DNase.bigWig", "truth/binding.tsv.gz"]:
        assert not filecmp.cmp(sim / rel, other / rel, shallow=False), rel
    # Same lengths: the seed changes the content, the scale the sizes.
    assert (sim / "genome/chrom.sizes").read_text() == (other / "genome/chrom.sizes").read_text()


def test_condition_stage_alone_gives_the_same_files(sim, tmp_path):
    # A condition made on its own (as a new Snakemake job would) matches the full run.
    copy = tmp_path / "copy"
    shutil.copytree(sim, copy)
    for path in (copy / "peaks").glob("JUND.K562.*"):
        path.unlink()
    simulate_condition(copy, "JUND", "K562")
    for label_set in ("conserved", "relaxed"):
        rel = f"peaks/JUND.K562.{label_set}.narrowPeak.gz"
        assert filecmp.cmp(sim / rel, copy / rel, shallow=False)


def test_gzip_headers_carry_no_time(sim):
    for path in _narrowpeaks(sim):
        header = path.read_bytes()[:10]
        assert header[:2] == b"\x1f\x8b" and header[4:8] == b"\x00\x00\x00\x00"


def test_scales():
    tiny = chromosome_sizes([f"chr{i}" for i in range(1, 23)], "tiny")
    demo = chromosome_sizes([f"chr{i}" for i in range(1, 23)], "demo")
    assert 1.3e6 < sum(tiny.values()) < 1.7e6
    assert 12e6 <= sum(demo.values()) <= 15e6
    assert tiny["chr1"] > tiny["chr21"]


# ---- the files parse with the real tools ---------------------------------------------------


def test_fasta_indexes_and_matches_chrom_sizes(sim, sizes, tmp_path):
    fasta = tmp_path / "genome.fa"
    shutil.copy(sim / "genome" / "genome.fa", fasta)
    genome = pyfaidx.Fasta(str(fasta))  # builds its own index
    assert {name: len(genome[name]) for name in genome.keys()} == sizes
    # Our precomputed .fai is what pyfaidx (samtools' format) computes.
    genome.close()
    assert (tmp_path / "genome.fa.fai").read_text() == (sim / "genome/genome.fa.fai").read_text()
    with pyfaidx.Fasta(str(sim / "genome" / "genome.fa")) as ours:
        text = str(ours["chr2"][:])
    assert set(text) <= set("ACGTN")
    gc = (text.count("G") + text.count("C")) / max(1, len(text) - text.count("N"))
    assert 0.3 < gc < 0.6
    assert "N" * 1000 in text  # gaps
    assert "CG" in text and text.count("CG") < text.count("GC")  # CpG depletion


def test_every_bigwig_reads_over_every_chromosome(sim, sizes):
    paths = sorted((sim / "features").glob("*.bigWig"))
    assert len(paths) == 12
    for path in paths:
        with pyBigWig.open(str(path)) as bw:
            assert bw.isBigWig()
            assert bw.chroms() == sizes
            for chrom, size in sizes.items():
                values = bw.values(chrom, 0, size, numpy=True)
                assert values.shape == (size,)
                assert np.isfinite(values).all() and (values >= 0).all(), (path.name, chrom)
                assert bw.stats(chrom, type="max")[0] > 0


def test_every_narrowpeak_sorts_and_merges_with_bedtools(sim, sizes):
    paths = _narrowpeaks(sim)
    assert len(paths) == 2 * 14 + 12
    for path in paths:
        frame = _read_peaks(path)
        assert frame.shape[1] == NARROWPEAK_COLUMNS, path.name
        assert len(frame) > 0, path.name
        width = frame[2] - frame[1]
        assert (width > 0).all() and (frame[2] <= frame[0].map(sizes)).all()
        assert ((frame[9] >= 0) & (frame[9] < width)).all(), "summit inside the peak"
        assert (frame[6] > 0).all() and (frame[7] > 0).all() and (frame[8] > 0).all()
        assert ((frame[4] >= 0) & (frame[4] <= 1000)).all()
        bed = pybedtools.BedTool(str(path))
        ordered = bed.sort()
        assert [str(i) for i in ordered] == [str(i) for i in bed], "already sorted"
        assert len(ordered.merge()) > 0


def test_conserved_is_a_subset_of_relaxed(sim, project):
    for condition in project.condition_names():
        conserved = pybedtools.BedTool(str(sim / f"peaks/{condition}.conserved.narrowPeak.gz"))
        relaxed = pybedtools.BedTool(str(sim / f"peaks/{condition}.relaxed.narrowPeak.gz"))
        contained = conserved.intersect(relaxed, f=1.0, u=True)
        assert len(contained) == len(conserved), condition
        assert len(relaxed) > len(conserved), condition


# ---- the biology and the ground truth ------------------------------------------------------


@pytest.fixture(scope="session")
def enrichment(sim, project):
    """Planted-motif enrichment per TF (one FIMO session: the first call compiles)."""
    motifs = panel_motifs(project)
    table = {}
    for tf in project.tfs:
        cells = list(project.conditions.loc[project.conditions["tf"] == tf, "cell_type"])
        table[tf] = motif_enrichment(sim, tf, cells, motifs[tf])
    return table


def test_planted_motif_is_enriched_in_conserved_peaks(enrichment):
    for tf, (in_peaks, in_background, n) in enrichment.items():
        assert n >= 10, tf
        assert in_peaks >= 0.5, (tf, in_peaks)
        assert in_peaks >= 2.5 * in_background + 0.1, (tf, in_peaks, in_background)


def test_bound_sites_lie_in_open_elements_of_their_cell_type(sim, project):
    elements = pd.read_csv(sim / "truth" / "elements.tsv", sep="\t")
    sites = pd.read_csv(sim / "truth" / "sites.bed", sep="\t", header=None,
                        names=["chrom", "start", "end", "site", "motif", "score", "strand",
                               "element"])
    by_id = elements.set_index("element")
    kinds = set()
    for tf, cell in zip(project.conditions["tf"], project.conditions["cell_type"], strict=True):
        truth = pd.read_csv(sim / f"truth/{tf}.{cell}.sites.bed", sep="\t", header=None,
                            names=["chrom", "start", "end", "name", "score", "strand"])
        assert len(truth) > 0
        site_ids = truth["name"].str.split(":").str[1]
        kinds |= set(truth["name"].str.split(":").str[0])
        element = by_id.loc[sites.set_index("site").loc[site_ids, "element"]]
        assert (element[f"open_{cell}"].to_numpy() > 0).all(), (tf, cell)
        assert (element["start"].to_numpy() <= truth["start"].to_numpy()).all()
        assert (truth["end"].to_numpy() <= element["end"].to_numpy()).all()
        assert ((truth["end"] - truth["start"]) <= 25).all(), "sites are motif-sized"
    assert kinds == {"direct", "indirect"}  # some binding has no motif
    # Element activity: constitutive and cell-type-specific elements both exist.
    opened = elements[[f"open_{c}" for c in project.cell_types]].to_numpy() > 0
    assert opened.all(axis=1).any() and (opened.sum(axis=1) == 1).any()
    assert set(elements["type"]) == {"promoter", "enhancer"}


def test_decoys_are_strong_motifs_in_closed_chromatin_and_never_bound(sim):
    decoys = pybedtools.BedTool(str(sim / "truth" / "decoys.bed"))
    assert len(decoys) > 10
    assert min(float(d.fields[4]) for d in decoys) > 0.5
    elements = pd.read_csv(sim / "truth" / "elements.tsv", sep="\t")
    element_bed = pybedtools.BedTool.from_dataframe(elements[["chrom", "start", "end"]])
    assert len(decoys.intersect(element_bed, u=True)) == 0
    binding = pd.read_csv(sim / "truth" / "binding.tsv.gz", sep="\t")
    bound = pybedtools.BedTool.from_dataframe(binding[["chrom", "start", "end"]])
    assert len(decoys.intersect(bound, u=True)) == 0


def test_motif_families_differ_in_preferences(sim):
    world = json.loads((sim / "truth" / "world.json").read_text())
    family = world["families"]
    assert family["JUN"] == family["JUND"] == family["JUNB"]
    assert family["FOXA1"] == family["FOXA2"]
    assert len({family[t] for t in ("JUN", "FOXA1", "CTCF", "CEBPB")}) == 4
    prefs = world["element_preference"]
    assert prefs["JUN"] != prefs["JUND"]
    # Family members bind differently: their bound-site sets in the same cell type differ.
    binding = pd.read_csv(sim / "truth" / "binding.tsv.gz", sep="\t")
    k562 = binding[binding["cell_type"] == "K562"]
    jun = set(k562.loc[k562["tf"] == "JUN", "site"])
    jund = set(k562.loc[k562["tf"] == "JUND", "site"])
    assert jun & jund and jun != jund


def test_chromatin_signal_is_higher_at_open_elements(sim):
    elements = pd.read_csv(sim / "truth" / "elements.tsv", sep="\t")
    with pyBigWig.open(str(sim / "features" / "HepG2.DNase.bigWig")) as bw:
        means = np.array([bw.stats(c, int(s), int(e))[0] for c, s, e in
                          zip(elements["chrom"], elements["start"], elements["end"],
                              strict=True)])
    is_open = elements["open_HepG2"].to_numpy() > 0
    assert means[is_open].mean() > 5 * means[~is_open].mean()


def test_accessibility_peaks_around_bound_sites(sim):
    """Within open elements, DNase is higher beside a bound site than 300+ bp from any."""
    elements = pd.read_csv(sim / "truth" / "elements.tsv", sep="\t")
    binding = pd.read_csv(sim / "truth" / "binding.tsv.gz", sep="\t")
    bound = binding[binding["cell_type"] == "HepG2"]
    near, far = [], []
    with pyBigWig.open(str(sim / "features" / "HepG2.DNase.bigWig")) as bw:
        for chrom, start, end in elements.loc[elements["open_HepG2"] > 0,
                                              ["chrom", "start", "end"]].itertuples(index=False):
            values = np.nan_to_num(np.asarray(bw.values(chrom, int(start), int(end))))
            centres = ((bound["start"] + bound["end"]) // 2)[
                (bound["chrom"] == chrom) & (bound["start"] >= start) & (bound["end"] <= end)]
            distance = np.full(values.size, np.inf)
            for centre in centres - start:
                distance = np.minimum(distance, np.abs(np.arange(values.size) - centre))
            near.append(values[(distance >= 20) & (distance < 60)])  # beside the footprint
            far.append(values[distance >= 300])
    near_mean, far_mean = np.concatenate(near).mean(), np.concatenate(far).mean()
    assert near_mean > 1.5 * far_mean, (near_mean, far_mean)


def test_chromosome_split_gives_nonempty_sets(sim, project):
    peaks = pd.concat([_read_peaks(p) for p in sorted((sim / "peaks").glob("*.gz"))])
    for split in ("train", "valid", "test"):
        chroms = project.config["splits"][split]
        assert peaks[0].isin(chroms).sum() > 0, split
        assert (sim / "genome" / "chrom.sizes").read_text().count("\n") == 22


# ---- portal metadata -----------------------------------------------------------------------


def test_portal_metadata_describes_the_real_files(sim, project):
    table = pd.read_csv(sim / "portal" / "files.tsv", sep="\t")
    assert list(table.columns) == ["accession", "path", "md5sum", "file_size", "output_type",
                                   "experiment"]
    assert len(table) == 2 * len(project.conditions) + 2 * len(project.cell_features) + 2
    assert table["accession"].is_unique
    for row in table.itertuples():
        assert md5sum(sim / row.path) == row.md5sum
        assert (sim / row.path).stat().st_size == row.file_size
    # The references belong to no experiment and are described by their own file objects.
    references = table[table["experiment"].isna()]
    assert list(references["path"]) == ["genome/genome.fa", "genome/blacklist.bed"]
    for row in references.itertuples():
        record = json.loads((sim / f"portal/files/{row.accession}.json").read_text())
        assert (record["md5sum"], record["file_size"]) == (row.md5sum, row.file_size)
        assert record["assembly"] == "GRCh38" and record["status"] == "released"
    table = table.dropna(subset=["experiment"])
    for row in table.itertuples():
        assert re.fullmatch(r"ENCFF\d{3}[A-Z]{3}", row.accession)
        assert re.fullmatch(r"ENCSR\d{3}[A-Z]{3}", row.experiment)
    types = set(table["output_type"])
    assert {"conservative IDR thresholded peaks", "optimal IDR thresholded peaks",
            "replicated peaks", "signal p-value", "peaks",
            "read-depth normalized signal"} == types
    for experiment in set(table["experiment"]):
        record = json.loads((sim / f"portal/experiments/{experiment}.json").read_text())
        assert record["accession"] == experiment and record["status"] == "released"
        assert record["assay_title"] in {"TF ChIP-seq", "Histone ChIP-seq", "DNase-seq"}
        assert record["biosample_ontology"]["term_name"] in project.cell_types
        if record["assay_title"] != "DNase-seq":
            assert record["target"]["label"]
        for file in record["files"]:
            assert file["assembly"] == "GRCh38"
            ext = "bigWig" if file["file_format"] == "bigWig" else "bed.gz"
            acc = file["accession"]
            assert file["href"] == f"/files/{acc}/@@download/{acc}.{ext}"
            row = table.set_index("accession").loc[acc]
            assert (row["md5sum"], row["file_size"]) == (file["md5sum"], file["file_size"])


def test_sheet_accession_is_used(tmp_path, project):
    assert accession("SR", "a") == accession("SR", "a") != accession("SR", "b")
    conditions = tmp_path / "conditions.tsv"
    text = (ROOT / "config/tiny/conditions.tsv").read_text()
    conditions.write_text(text.replace("JUND\tK562\t\t", "JUND\tK562\tENCSR000EGN\t"))
    config = (TINY.read_text().replace("config/tiny/conditions.tsv", str(conditions))
              .replace("config/tiny/cell_features.tsv",
                       str(ROOT / "config/tiny/cell_features.tsv")))
    (tmp_path / "c.yaml").write_text(config)
    from nettime.sources.simulate.portal import portal_json_paths
    paths = portal_json_paths(load_project(tmp_path / "c.yaml"))
    assert "portal/experiments/ENCSR000EGN.json" in paths
    assert len(set(paths)) == len(paths)


# ---- command line and errors ---------------------------------------------------------------


def _tiny_config(tmp_path: Path, replace: dict[str, str]) -> Path:
    text = TINY.read_text()
    for old, new in {"config/tiny/": str(ROOT / "config/tiny") + "/", **replace}.items():
        text = text.replace(old, new)
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("replace, message", [
    ({"CTCF: MA0139.2": "CTCF: MA9999.9"}, "key 'motifs.CTCF': JASPAR matrix 'MA9999.9'"),
    ({"CEBPB: MA0466.4": "CEBPB: absent.meme"}, "key 'motifs.CEBPB': cannot read the MEME"),
    ({"  CEBPB: MA0466.4\n": ""}, "'CEBPB' has no motif"),
])
def test_bad_motif_gives_one_line_naming_file_and_key(tmp_path, capsys, replace, message):
    config = _tiny_config(tmp_path, replace)
    code = main(["simulate", "--config", str(config), "--outdir", str(tmp_path / "out"),
                 "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and str(config) in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_cli_simulate_matches_library(tmp_path, sim, capsys):
    config = _tiny_config(tmp_path, {})
    assert main(["simulate", "--config", str(config), "--outdir", str(tmp_path / "cli"),
                 "--quiet"]) == 0
    for rel in ["genome/genome.fa", "peaks/CTCF.A549.relaxed.narrowPeak.gz",
                "features/A549.H3K4me1.bigWig"]:
        assert filecmp.cmp(sim / rel, tmp_path / "cli" / rel, shallow=False)
    assert main(["simulate", "--config", str(config), "--scale", "huge"]) == 2
    assert "--scale" in capsys.readouterr().err


# ---- the workflow --------------------------------------------------------------------------


SIMULATION_TARGET = "resources/simulated/portal/files.tsv"


def _snakemake(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("snakemake")
    # The jobs import this checkout's nettime, whatever the environment has installed.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])])}
    return subprocess.run([str(exe), "-s", str(ROOT / "workflow" / "Snakefile"), *args],
                          cwd=cwd, capture_output=True, text=True, timeout=600, env=env)


@pytest.mark.workflow
def test_workflow_dry_run_default_config():
    # --forceall: the plan must not depend on what an earlier run left in the checkout.
    result = _snakemake("-n", "--forceall", "--cores", "1", cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "simulate_world" in result.stdout and "simulate_portal" in result.stdout


@pytest.mark.workflow
def test_workflow_stops_on_unknown_motif_before_any_job(tmp_path):
    shutil.copytree(ROOT / "config", tmp_path / "config")
    bad = tmp_path / "config" / "tiny" / "bad.yaml"
    bad.write_text(TINY.read_text().replace("MA0139.2", "MA9999.9"))
    result = _snakemake("-n", "--cores", "1", "--configfile", "config/tiny/bad.yaml",
                        cwd=tmp_path)
    assert result.returncode != 0
    assert "key 'motifs.CTCF': JASPAR matrix 'MA9999.9'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.workflow
@pytest.mark.slow
def test_workflow_runs_simulation_at_tiny_scale(tmp_path, sim, monkeypatch):
    shutil.copytree(ROOT / "config", tmp_path / "config")
    # The portal table depends on every simulation job; without a target `all` would also
    # train and evaluate every model of the figures.
    result = _snakemake("--cores", "2", SIMULATION_TARGET, "--configfile",
                        "config/tiny/config.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    out = tmp_path / "resources" / "simulated"
    # Snakemake's per-stage jobs give the very files the one-shot library call gives.
    assert _all_files(out) == _all_files(sim)
    for rel in _all_files(sim):
        assert filecmp.cmp(sim / rel, out / rel, shallow=False), rel
    assert (tmp_path / "logs" / "simulate" / "world.log").exists()
    again = _snakemake("-n", "--cores", "1", SIMULATION_TARGET, "--configfile",
                       "config/tiny/config.yaml", cwd=tmp_path)
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr
    # Another config file on top (say, one that adds a model) reruns no simulation job.
    (tmp_path / "overlay.yaml").write_text("models:\n  extra: {conditions: train}\n")
    overlaid = _snakemake("-n", "--cores", "1", SIMULATION_TARGET, "--configfile",
                          "config/tiny/config.yaml", "overlay.yaml", cwd=tmp_path)
    assert overlaid.returncode == 0, overlaid.stderr[-2000:]
    assert "Nothing to be done" in overlaid.stdout + overlaid.stderr, overlaid.stdout[-2000:]
    # New rows (a known TF in a known cell type, a new TF, a new cell type) plan only their own
    # jobs and the portal's, leave every other file untouched and give the library's files.
    sheets = tmp_path / "config" / "tiny"
    with open(sheets / "conditions.tsv", "a") as handle:
        handle.write("CEBPB\tK562\t\tnew\nATF3\tK562\t\tnew\nATF3\tMCF-7\t\tnew\n"
                     "JUND\tMCF-7\t\tnew\n")
    with open(sheets / "cell_features.tsv", "a") as handle:
        handle.write("".join(f"MCF-7\t{assay}\t\n"
                             for assay in ("DNase", "H3K4me1", "H3K4me3", "H3K27ac")))
    text = (sheets / "config.yaml").read_text()
    (sheets / "config.yaml").write_text(text.replace("motifs:\n", "motifs:\n  ATF3: MA0605.2\n", 1))
    monkeypatch.chdir(tmp_path)  # the sheets' paths are relative to the run folder
    plus = load_project("config/tiny/config.yaml")
    targets = [f"resources/simulated/{rel}" for rel in _simulation_files(plus)]
    plan = _snakemake("-n", "--cores", "1", *targets, "--configfile",
                      "config/tiny/config.yaml", cwd=tmp_path)
    assert plan.returncode == 0, plan.stderr[-2000:]
    assert _planned_jobs(plan.stdout) == {"simulate_condition": 4, "simulate_cell": 1,
                                          "simulate_portal": 1}, plan.stdout[-3000:]
    before = {rel: (out / rel).stat().st_mtime_ns for rel in _all_files(out)}
    ran = _snakemake("--cores", "2", *targets, "--configfile", "config/tiny/config.yaml",
                     cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr[-3000:]
    touched = [rel for rel, mtime in before.items() if (out / rel).stat().st_mtime_ns != mtime]
    assert touched and all(rel.parts[0] == "portal" for rel in touched), touched
    library = tmp_path / "library"
    simulate(plus, library, progress=False)
    assert _all_files(out) == _all_files(library)
    for rel in _all_files(library):
        assert filecmp.cmp(library / rel, out / rel, shallow=False), rel


def _simulation_files(project) -> list[str]:
    """Every file of the simulated data set of a project, relative to its folder."""
    from nettime.sources.simulate.portal import portal_json_paths

    return ["portal/files.tsv", *portal_json_paths(project), *_condition_files(project)]


def _condition_files(project) -> list[str]:
    """The simulated files of each condition (peaks, true sites) and of each cell type's
    feature (peaks, bigWig), relative to the simulation folder."""
    files = []
    for condition in project.condition_names():
        files += [f"peaks/{condition}.conserved.narrowPeak.gz",
                  f"peaks/{condition}.relaxed.narrowPeak.gz", f"truth/{condition}.sites.bed"]
    for cell, assay in zip(project.cell_features["cell_type"], project.cell_features["assay"],
                           strict=True):
        files += [f"features/{cell}.{assay}.narrowPeak.gz", f"features/{cell}.{assay}.bigWig"]
    return files


def _planned_jobs(stdout: str) -> dict[str, int]:
    """Rule -> number of jobs, from the 'Job stats' table of a dry run."""
    lines = stdout.split("Job stats:", 1)[1].splitlines()
    counts = {}
    for line in lines[3:]:
        fields = line.split()
        if not fields or fields[0] == "total":
            break
        counts[fields[0]] = int(fields[1])
    return counts


def test_relaxed_peaks_gzip_is_text(sim):
    with gzip.open(sim / "peaks" / "JUND.K562.relaxed.narrowPeak.gz", "rt") as handle:
        first = handle.readline().rstrip("\n").split("\t")
    assert len(first) == NARROWPEAK_COLUMNS and first[0].startswith("chr")


def test_atac_track_is_dnase_like(sim, tmp_path, sizes):
    from nettime.sources.simulate.cell import simulate_cell

    copy = tmp_path / "copy"
    shutil.copytree(sim, copy)
    simulate_cell(copy, "K562", ["ATAC"])
    elements = pd.read_csv(copy / "truth" / "elements.tsv", sep="\t")
    opened = elements[elements["open_K562"] > 0].iloc[0]
    with pyBigWig.open(str(copy / "features" / "K562.ATAC.bigWig")) as bw:
        assert bw.chroms() == sizes
        assert bw.stats(opened["chrom"], int(opened["start"]), int(opened["end"]),
                        type="max")[0] > 2
    assert len(_read_peaks(copy / "features" / "K562.ATAC.narrowPeak.gz")) > 10
