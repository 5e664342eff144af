"""Configuration and sample-sheet validation: every bad input names its file, row and column."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from nettime.cli import main
from nettime.config import ConfigError, load_project

REPO = Path(__file__).resolve().parents[1]
CONDITIONS_HEADER = "tf\tcell_type\texperiment\tpanel\n"
FEATURES_HEADER = "cell_type\tassay\texperiment\n"


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    """A copy of the default configuration, with sheet paths relative to tmp_path."""
    (tmp_path / "config").mkdir()
    for name in ("conditions.tsv", "cell_features.tsv"):
        shutil.copy(REPO / "config" / name, tmp_path / "config" / name)
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["conditions"] = str(tmp_path / "config" / "conditions.tsv")
    config["cell_features"] = str(tmp_path / "config" / "cell_features.tsv")
    (tmp_path / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return tmp_path


def _write_conditions(root: Path, rows: list[str], header: str = CONDITIONS_HEADER) -> Path:
    path = root / "config" / "conditions.tsv"
    path.write_text(header + "".join(r + "\n" for r in rows))
    return path


def _write_features(root: Path, rows: list[str], header: str = FEATURES_HEADER) -> Path:
    path = root / "config" / "cell_features.tsv"
    path.write_text(header + "".join(r + "\n" for r in rows))
    return path


def _features_for(*cells: str) -> list[str]:
    return [f"{c}\t{a}\t" for c in cells for a in ("DNase", "H3K4me1", "H3K4me3", "H3K27ac")]


def _edit_config(root: Path, edit) -> Path:
    path = root / "config" / "config.yaml"
    config = yaml.safe_load(path.read_text())
    edit(config)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _problems(root: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_project(root / "config" / "config.yaml")
    return [str(p) for p in info.value.problems]


def test_default_configuration_is_valid():
    project = load_project(REPO / "config" / "config.yaml")
    assert project.source == "simulated"
    assert len(project.conditions) >= 30
    assert len(project.cell_types) >= 5
    assert {"JUN", "JUNB", "JUND", "FOXA1", "FOXA2", "HNF4A", "HNF4G"} <= set(project.tfs)
    assert project.condition_names()[0] == "JUND.K562"
    assert set(project.conditions["panel"]) <= {"train", "heldout", "new"}


# Each case: (rows of conditions.tsv or None, rows of cell_features.tsv or None,
#             config edit or None, expected file name, expected fragments of the message)
SHEET_CASES = {
    "bad experiment accession": (
        ["JUND\tK562\tENCSR12ABC\ttrain"], None,
        ["conditions.tsv:2", "row 1", "column 'experiment'", "ENCSR12ABC"]),
    "lower-case accession": (
        ["JUND\tK562\tencsr000egn\ttrain"], None,
        ["conditions.tsv:2", "row 1", "column 'experiment'"]),
    "bad file accession": (
        None, None, ["conditions.tsv:3", "row 2", "column 'conserved_file'", "ENCFF1234"]),
    "duplicate condition": (
        ["JUND\tK562\t\ttrain", "JUND\tK562\t\ttrain"], None,
        ["conditions.tsv:3", "row 2", "column 'tf'", "duplicate condition", "row 1"]),
    "cell type without features": (
        ["JUND\tK562\t\ttrain", "JUND\tLiver\t\ttrain"], None,
        ["conditions.tsv:3", "row 2", "column 'cell_type'", "'Liver' has no features"]),
    "unknown assay": (
        None, _features_for("K562") + ["K562\tH3K9me3\t"],
        ["cell_features.tsv:6", "row 5", "column 'assay'", "'H3K9me3'", "DNase"]),
    "unsafe TF name (slash)": (
        ["JUN/D\tK562\t\ttrain"], None, ["conditions.tsv:2", "row 1", "column 'tf'", "JUN/D"]),
    "unsafe TF name (shell)": (
        ["JUND;rm\tK562\t\ttrain"], None, ["conditions.tsv:2", "row 1", "column 'tf'"]),
    "unsafe cell type (space)": (
        ["JUND\tHeLa S3\t\ttrain"], _features_for("K562") + ["HeLa S3\tDNase\t"],
        ["row 1", "column 'cell_type'", "HeLa S3"]),
    "missing required column": (
        None, None, ["conditions.tsv:1", "column 'cell_type'", "required column is missing"]),
    "missing assay column": (
        None, None, ["cell_features.tsv:1", "column 'assay'", "required column is missing"]),
    "unknown panel": (
        ["JUND\tK562\t\ttraining"], None,
        ["conditions.tsv:2", "row 1", "column 'panel'", "train, heldout, new"]),
    "unknown column": (
        None, None, ["conditions.tsv:1", "column 'experimnt'", "unknown column"]),
    "blank required cell": (
        ["\tK562\t\ttrain"], None, ["conditions.tsv:2", "row 1", "column 'tf'", "required"]),
    "too many fields": (
        ["JUND\tK562\t\ttrain\textra"], None, ["conditions.tsv:2", "row 1", "5 fields"]),
    "duplicate assay": (
        None, _features_for("K562") + ["K562\tDNase\t"],
        ["cell_features.tsv:6", "row 5", "column 'assay'", "duplicate assay DNase"]),
    "cell type lacking an assay": (
        None, _features_for("K562") + ["HepG2\tDNase\t"],
        ["cell_features.tsv:6", "row 5", "'HepG2' lacks assay(s) H3K27ac"]),
    "bad feature experiment accession": (
        None, ["K562\tDNase\tENCSR0000AB"] + _features_for("K562")[1:],
        ["cell_features.tsv:2", "row 1", "column 'experiment'"]),
}


def _apply_sheet_case(root: Path, name: str, conditions, features) -> None:
    if name == "bad file accession":
        _write_conditions(root, ["JUND\tK562\t\ttrain\t", "JUN\tK562\t\ttrain\tENCFF1234"],
                          header="tf\tcell_type\texperiment\tpanel\tconserved_file\n")
    elif name == "missing required column":
        _write_conditions(root, ["JUND\ttrain"], header="tf\tpanel\n")
    elif name == "missing assay column":
        _write_features(root, ["K562\t"], header="cell_type\texperiment\n")
    elif name == "unknown column":
        _write_conditions(root, ["JUND\tK562\t\ttrain"],
                          header="tf\tcell_type\texperimnt\tpanel\n")
    if conditions is not None:
        _write_conditions(root, conditions)
    elif name not in {"bad file accession", "missing required column", "unknown column"}:
        _write_conditions(root, ["JUND\tK562\t\ttrain"])
    if features is not None:
        _write_features(root, features)
    elif name != "missing assay column":
        _write_features(root, _features_for("K562"))


@pytest.mark.parametrize("name", list(SHEET_CASES))
def test_bad_sheet_names_file_row_and_column(project_dir: Path, name: str):
    conditions, features, fragments = SHEET_CASES[name]
    _apply_sheet_case(project_dir, name, conditions, features)
    messages = _problems(project_dir)
    assert any(all(f in m for f in fragments) for m in messages), messages


CONFIG_CASES = {
    "overlapping splits": (
        lambda c: c["splits"]["valid"].append("chr1"),
        ["config.yaml:", "key 'splits.test[0]'", "'chr1' is in both the 'valid' and the 'test'"]),
    "unknown chromosome in split": (
        lambda c: c["splits"]["test"].append("chr23"),
        ["config.yaml:", "key 'splits.test[3]'", "'chr23' is not a chromosome"]),
    "unknown source": (
        lambda c: c.update(source="ucsc"),
        ["config.yaml:", "key 'source'", "'ucsc' is not allowed", "simulated, encode"]),
    "bad motif id": (
        lambda c: c["motifs"].update(JUND="JASPAR-JUND"),
        ["config.yaml:", "key 'motifs.JUND'", "JASPAR-JUND"]),
    "unknown top-level key": (
        lambda c: c.update(sourse="simulated"),
        ["config.yaml:", "unknown key(s) 'sourse'"]),
    "unknown scale": (
        lambda c: c["simulation"].update(scale="huge"),
        ["config.yaml:", "key 'simulation.scale'", "tiny, demo, large"]),
    "TF without motif": (
        lambda c: c["motifs"].pop("CEBPB"),
        ["conditions.tsv:", "column 'tf'", "'CEBPB' has no motif", "motifs"]),
    "missing splits": (
        lambda c: c.pop("splits"),
        ["config.yaml", "missing required key(s): splits"]),
}


@pytest.mark.parametrize("name", list(CONFIG_CASES))
def test_bad_config_names_file_line_and_key(project_dir: Path, name: str):
    edit, fragments = CONFIG_CASES[name]
    _edit_config(project_dir, edit)
    messages = _problems(project_dir)
    assert any(all(f in m for f in fragments) for m in messages), messages


def test_line_numbers_point_at_the_offending_line(project_dir: Path):
    path = _edit_config(project_dir, lambda c: c["splits"]["test"].append("chr99"))
    message = _problems(project_dir)[0]
    line = int(message.split("config.yaml:")[1].split(",")[0])
    assert "chr99" in path.read_text().splitlines()[line - 1]


def test_invalid_yaml_names_the_line(project_dir: Path):
    path = project_dir / "config" / "config.yaml"
    path.write_text("source: simulated\nsplits: [chr1\nconditions: x\n")
    message = _problems(project_dir)[0]
    assert "config.yaml:3: not valid YAML" in message
    assert "flow sequence that starts on line 2" in message


def test_missing_sheet_names_the_file(project_dir: Path):
    (project_dir / "config" / "conditions.tsv").unlink()
    messages = _problems(project_dir)
    assert any("conditions.tsv" in m and "cannot read" in m for m in messages), messages


def test_comment_lines_and_blank_optional_cells_are_accepted(project_dir: Path):
    _write_conditions(project_dir, ["# a comment", "JUND\tK562\t\t", "JUN\tK562\tENCSR000EGN\t"])
    _write_features(project_dir, _features_for("K562"))
    project = load_project(project_dir / "config" / "config.yaml")
    assert list(project.conditions["panel"]) == ["train", "train"]
    assert list(project.conditions["experiment"]) == ["", "ENCSR000EGN"]


def test_cli_validate_prints_one_line_per_problem(project_dir: Path, capsys):
    _write_conditions(project_dir, ["JUND\tK562\tENCSR12ABC\ttrain"])
    _write_features(project_dir, _features_for("K562"))
    status = main(["validate", "--config", str(project_dir / "config" / "config.yaml")])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert len(err) == 1
    assert "conditions.tsv:2, row 1, column 'experiment'" in err[0]


def test_cli_validate_console_script_has_no_traceback(project_dir: Path):
    _write_conditions(project_dir, ["JUND\tK562\t\ttrain", "JUND\tK562\t\ttrain"])
    _write_features(project_dir, _features_for("K562"))
    result = subprocess.run(
        [sys.executable, "-m", "nettime.cli", "validate", "--config",
         str(project_dir / "config" / "config.yaml")],
        capture_output=True, text=True, cwd=REPO, check=False)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "duplicate condition" in result.stderr


def test_cli_validate_accepts_the_default(capsys):
    assert main(["validate", "--config", str(REPO / "config" / "config.yaml")]) == 0
    assert "valid" in capsys.readouterr().out
