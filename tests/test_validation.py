"""A corpus of malformed and hostile inputs, each rejected before any work with one line naming
its file (or the command line), line, row and column or key.

Every case runs through the library function (:func:`nettime.validate.check_project`, what the
workflow's ``_load()`` calls) and through ``nettime validate`` (exit status 2, one line per
problem, no traceback), in a working directory holding a copy of the tiny configuration; nothing
may be written anywhere while it does. Values of ``snakemake --config`` are parsed by
Snakemake's own parser and merged by its own function, then checked. A few cases also go through
``snakemake -n`` itself (slow).

An expected first line may name lines of the configuration as ``@{text}`` (the line where
``text`` first appears in the configuration as the case left it; ``@{text#2}`` the second line
where it appears, ``@{text|2}`` two lines below the first), and
end with ``...`` where the rest lists things (allowed keys, known names) that other changes add
to.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from snakemake.cli import parse_config
from snakemake.utils import update_config

from nettime import layout
from nettime.cli import main
from nettime.config import NAME_LIMIT, ConfigError, schema_defaults
from nettime.inputs import MAX_INPUT_BYTES
from nettime.validate import check_project

REPO = Path(__file__).resolve().parent.parent
CONFIG = "config/tiny/config.yaml"
COND = "config/tiny/conditions.tsv"
FEAT = "config/tiny/cell_features.tsv"
COND_HEADER = "tf\tcell_type\texperiment\tpanel\n"
NAME_HINT = ("letters, digits, '_' and '-' only, starting with a letter or digit (names become "
             "file names)")


# ---- setting a case up (in the working directory) -----------------------------------------------


def replace(path: str, old: str, new: str, count: int = 1) -> None:
    text = Path(path).read_text()
    assert old in text, (path, old)
    Path(path).write_text(text.replace(old, new, count))


def append(path: str, text: str) -> None:
    with open(path, "a") as handle:
        handle.write(text)


def write(path: str, data: str | bytes) -> None:
    Path(path).write_bytes(data.encode() if isinstance(data, str) else data)


def edit(change: Callable[[dict], object]) -> None:
    """Change the configuration as a mapping (written back as YAML)."""
    config = yaml.safe_load(Path(CONFIG).read_text())
    change(config)
    Path(CONFIG).write_text(yaml.safe_dump(config, sort_keys=False))


def at(keys: str, value: object) -> Callable[[], None]:
    """A setup that sets the dotted key ``keys`` of the configuration to ``value``."""
    def setup() -> None:
        def change(config: dict) -> None:
            *parents, last = keys.split(".")
            node = config
            for key in parents:
                node = node.setdefault(key, {})
            node[last] = value
        edit(change)
    return setup


def feature_set(name: str, spec: dict) -> Callable[[], None]:
    """A setup that adds a feature set to those of the schema's defaults."""
    def change(config: dict) -> None:
        config["feature_sets"] = {**schema_defaults()["feature_sets"], name: spec}
    return lambda: edit(change)


def rows(*lines: str, header: str = COND_HEADER, path: str = COND) -> Callable[[], None]:
    """A setup that writes the conditions sheet (or ``path``) with ``lines``."""
    return lambda: write(path, header + "".join(line + "\n" for line in lines))


def both(*setups: Callable[[], None]) -> Callable[[], None]:
    def setup() -> None:
        for step in setups:
            step()
    return setup


def alias_bomb() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 8)]
    append(CONFIG, "\n".join(lines) + "\n")


def mkfifo(path: str) -> Callable[[], None]:
    def setup() -> None:
        os.mkfifo(path)
    return setup


def sparse(path: str, size: int) -> Callable[[], None]:
    def setup() -> None:
        with open(path, "wb") as handle:
            handle.truncate(size)
    return setup


@dataclass
class Case:
    kind: str
    setup: Callable[[], None]
    first: str
    overrides: tuple[str, ...] = ()  # snakemake --config entries: the library only


HUGE = "J" * 100_000
LONG_TF = "JUND" + "X" * (NAME_LIMIT - 3)  # one character too many
SHELL_TF = "JUND;touch pwned"

CORPUS: dict[str, Case] = {
    # ---- text a TSV reader would reinterpret: read literally, UTF-8 only ----------------------
    "quote opening a field": Case(
        "literal text", rows('"JUND\tK562\t\ttrain'),
        f"{COND}:2, row 1, column 'tf': '\"JUND' is malformed; allowed: {NAME_HINT}"),
    "quoted field with a tab inside": Case(
        "literal text", rows('JUND\t"K562\tx"\ttrain'),
        f"{COND}:2, row 1, column 'cell_type': '\"K562' is malformed; allowed: {NAME_HINT}"),
    "quoted header": Case(
        "literal text", rows("JUND\tK562\t\ttrain", header='"tf"\tcell_type\texperiment\tpanel\n'),
        f"{COND}:1, column '\"tf\"': unknown column '\"tf\"' (quotes are read as part of a name: "
        "remove them); allowed columns: ..."),
    "form feed inside a name": Case(
        "literal text", rows("JU\x0cND\tK562\t\ttrain"),
        f"{COND}:2, row 1, column 'tf': 'JU\\x0cND' is malformed; allowed: {NAME_HINT}"),
    "latin-1 sheet": Case(
        "literal text", lambda: write(COND, COND_HEADER.encode() + "JUND\tK562\t\ttrain\n"
                                      "JUN\tK562\t\ttrain\tcaf\xe9\n".encode("latin-1")),
        f"{COND}:3: not UTF-8 text (byte 0xe9 at character 20 of the line); save the file as "
        "UTF-8"),
    "UTF-16 sheet": Case(
        "literal text", lambda: write(COND, (COND_HEADER + "JUND\tK562\t\ttrain\n")
                                      .encode("utf-16")),
        f"{COND}:1: the file is UTF-16 text; save it as UTF-8"),
    "latin-1 configuration": Case(
        "literal text", lambda: write(CONFIG, (Path(CONFIG).read_text() + "# caf\xe9 au lait\n")
                                      .encode("latin-1")),
        f"{CONFIG}:@{{au lait}}: not UTF-8 text (byte 0xe9 at character 6 of the line); save the "
        "file as UTF-8"),
    "NUL byte in a name": Case(
        "literal text", rows("JU\x00ND\tK562\t\ttrain"),
        f"{COND}:2, row 1, column 'tf': 'JU\\x00ND' is malformed; allowed: {NAME_HINT}"),
    "comma-separated sheet": Case(
        "literal text", rows("JUND,K562,,train", header="tf,cell_type,experiment,panel\n"),
        f"{COND}:1, column 'tf,cell_type,experiment,panel': unknown column "
        "'tf,cell_type,experiment,panel' (is the file tab-separated?); allowed columns: ..."),
    # ---- empty and near-empty inputs ----------------------------------------------------------
    "empty sheet": Case(
        "empty", lambda: write(COND, ""),
        f"{COND}: the sheet is empty; expected a header line with columns tf, cell_type"),
    "sheet of comments": Case(
        "empty", lambda: write(COND, "# nothing yet\n\n"),
        f"{COND}: the sheet is empty; expected a header line with columns tf, cell_type"),
    "header-only conditions": Case(
        "empty", rows(), f"{COND}:1: the sheet has a header but no rows; add one row per "
        "condition"),
    "header and blank lines only": Case(
        "empty", lambda: write(COND, COND_HEADER + "\n  \n\t\n"),
        f"{COND}:1: the sheet has a header but no rows; add one row per condition"),
    "header-only cell features": Case(
        "empty", rows(header="cell_type\tassay\n", path=FEAT),
        f"{FEAT}:1: the sheet has a header but no rows; add one row per cell feature"),
    "empty configuration": Case(
        "empty", lambda: write(CONFIG, ""),
        f"{CONFIG}:1: the file is empty (or only comments); expected a mapping with keys such "
        "as source, conditions, cell_features, genome and splits"),
    "configuration of comments": Case(
        "empty", lambda: write(CONFIG, "# source: simulated\n"),
        f"{CONFIG}:1: the file is empty (or only comments); expected a mapping with keys such "
        "as source, conditions, cell_features, genome and splits"),
    "configuration that is a list": Case(
        "empty", lambda: write(CONFIG, "- source\n- simulated\n"),
        f"{CONFIG}:1: expected a mapping of keys to values, found a list"),
    "configuration that is a word": Case(
        "empty", lambda: write(CONFIG, "simulated\n"),
        f"{CONFIG}:1: expected a mapping of keys to values, found the value 'simulated'"),
    "unclosed bracket": Case(
        "empty", lambda: replace(CONFIG, "chr20, chr21, chr22]", "chr20, chr21, chr22"),
        f"{CONFIG}:@{{splits:}}: not valid YAML: expected ',' or ']', but got ':' (while parsing "
        "a flow sequence that starts on line @{chromosomes:})"),
    "tab indentation": Case(
        "empty", lambda: replace(CONFIG, "  scale: tiny", "\tscale: tiny"),
        f"{CONFIG}:@{{scale: tiny}}: not valid YAML: found character '\\t' that cannot start "
        "any token; YAML indents with spaces, not tabs"),
    "missing configuration": Case(
        "empty", lambda: os.remove(CONFIG),
        f"{CONFIG}: cannot read the file: No such file or directory"),
    "missing sheet": Case(
        "empty", lambda: os.remove(FEAT),
        f"{FEAT}: cannot read the file: No such file or directory"),
    # ---- keys given twice ------------------------------------------------------------------
    "second source": Case(
        "duplicate key", lambda: append(CONFIG, "source: encode\n"),
        f"{CONFIG}:@{{source: encode}}: the key 'source' is given twice in one mapping (lines "
        "@{source: simulated} and @{source: encode}); remove one"),
    "second seed": Case(
        "duplicate key", lambda: replace(CONFIG, "  seed: 7\n", "  seed: 7\n  seed: 8\n"),
        f"{CONFIG}:@{{seed: 8}}: the key 'seed' is given twice in one mapping (lines "
        "@{seed: 7} and @{seed: 8}); remove one"),
    "second motif of a TF": Case(
        "duplicate key", lambda: replace(CONFIG, "  JUN: MA0488.2\n",
                                         "  JUN: MA0488.2\n  JUND: MA0491.1\n"),
        f"{CONFIG}:@{{JUND: MA0491.1}}: the key 'JUND' is given twice in one mapping (lines "
        "@{JUND: MA0492.2} and @{JUND: MA0491.1}); remove one"),
    "second model of one name": Case(
        "duplicate key", lambda: replace(CONFIG, "models:\n", "models:\n  multitask: {}\n"),
        f"{CONFIG}:@{{multitask: #2}}: the key 'multitask' is given twice in one mapping "
        "(lines @{multitask: {} and @{multitask: #2}); remove one"),
    "key twice in a flow mapping": Case(
        "duplicate key", lambda: replace(CONFIG, "crf: {lr: 0.05,", "crf: {lr: 0.05, lr: 0.1,"),
        f"{CONFIG}:@{{crf: }}: the key 'lr' is given twice in one mapping (lines "
        "@{crf: } and @{crf: }); remove one"),
    "key twice in a JSON configuration": Case(
        "duplicate key", lambda: write(CONFIG, '{"source": "simulated", "source": "encode"}'),
        f"{CONFIG}: the key 'source' is given twice in one object; remove one"),
    "column twice": Case(
        "duplicate key", rows("JUND\tK562\tK562", header="tf\tcell_type\tcell_type\n"),
        f"{COND}:1, column 'cell_type': the column appears more than once"),
    "condition twice": Case(
        "duplicate key", rows("JUND\tK562\t\ttrain", "JUND\tK562\t\theldout"),
        f"{COND}:3, row 2, column 'tf': duplicate condition 'JUND' in 'K562' (first given in "
        "row 1); each (tf, cell_type) pair may appear once"),
    # ---- names that become file names --------------------------------------------------------
    "TF name one too long": Case(
        "names", rows(f"{LONG_TF}\tK562\t\ttrain"),
        f"{COND}:2, row 1, column 'tf': the name has {NAME_LIMIT + 1} characters; at most "
        f"{NAME_LIMIT} are allowed (names become file names, which may have at most 255 bytes)"),
    "cell type of 300 characters": Case(
        "names", rows("JUND\t" + "C" * 300 + "\t\ttrain"),
        f"{COND}:2, row 1, column 'cell_type': the name has 300 characters; at most "
        f"{NAME_LIMIT} are allowed (names become file names, which may have at most 255 bytes)"),
    "model name of 150 characters": Case(
        "names", at("models." + "m" * 150, {"conditions": "all"}),
        f"{CONFIG}:@{{mmmm}}, key 'models.{'m' * 20}...': the model name '{'m' * 20}...' has 150 "
        f"characters; at most {NAME_LIMIT} are allowed (names become file names, which may have "
        "at most 255 bytes)"),
    "feature set name of 120 characters": Case(
        "names", feature_set("F" * 120, {"assays": []}),
        f"{CONFIG}:@{{FFFF}}, key 'feature_sets.{'F' * 20}...': the feature set name "
        f"'{'F' * 20}...' has 120 characters; at most {NAME_LIMIT} are allowed (names become file "
        "names, which may have at most 255 bytes)"),
    "panel name of 101 characters": Case(
        "names", at("experiments.multitask.panels." + "p" * 101, {"tfs": ["JUND"]}),
        f"{CONFIG}:@{{pppp}}, key 'experiments.multitask.panels.{'p' * 20}...': the panel name "
        f"'{'p' * 20}...' has 101 characters; at most {NAME_LIMIT} are allowed (names become "
        "file names, which may have at most 255 bytes)"),
    "TF name with a slash": Case(
        "names", rows("JUN/D\tK562\t\ttrain"),
        f"{COND}:2, row 1, column 'tf': 'JUN/D' is malformed; allowed: {NAME_HINT}"),
    "TF name like an option": Case(
        "names", rows("-JUND\tK562\t\ttrain"),
        f"{COND}:2, row 1, column 'tf': '-JUND' is malformed; allowed: {NAME_HINT}"),
    "TF name with a dot": Case(
        "names", rows("JUN.D\tK562\t\ttrain"),
        f"{COND}:2, row 1, column 'tf': 'JUN.D' is malformed; allowed: {NAME_HINT}"),
    "non-ASCII TF name": Case(
        "names", rows("JÜND\tK562\t\ttrain"),
        f"{COND}:2, row 1, column 'tf': 'JÜND' is malformed; allowed: {NAME_HINT}"),
    "model name with a space": Case(
        "names", at("models.my model", {"conditions": "all"}),
        f"{CONFIG}:@{{models:}}, key 'models': the key 'my model' is malformed; allowed: "
        "letters, digits, '_' and '-', starting with a letter or digit (names become file "
        "names)"),
    "feature set name with a slash": Case(
        "names", feature_set("Seq/CT", {"assays": []}),
        f"{CONFIG}:@{{feature_sets:}}, key 'feature_sets': the key 'Seq/CT' is malformed; "
        "allowed: letters, digits, '_', '+' and '-', starting with a letter or digit"),
    # ---- values given on the command line (snakemake --config) ------------------------------
    "seed that is not a number": Case(
        "command line", lambda: None,
        "command line (--config), key 'simulation.seed': 'x' is not valid; expected an "
        "integer >= 0", ("simulation={seed: x}",)),
    "misspelt key": Case(
        "command line", lambda: None,
        "command line (--config): unknown key(s) 'sourse' (did you mean 'source'?); allowed "
        "keys: ...", ("sourse=simulated",)),
    "zero bin width in a list": Case(
        "command line", lambda: None,
        "command line (--config), key 'classify.bin_widths[1]': 0 is not valid; expected an "
        "integer >= 1", ("classify={bin_widths: [20, 0]}",)),
    "unknown source": Case(
        "command line", lambda: None,
        "command line (--config), key 'source': 'ucsc' is not allowed; allowed values: "
        "simulated, encode", ("source=ucsc",)),
    "no threads": Case(
        "command line", lambda: None,
        "command line (--config), key 'training.threads': 0 is not valid; expected an integer "
        ">= 1", ("training={threads: 0}",)),
    "a mapping given a number": Case(
        "command line", lambda: None,
        "command line (--config), key 'simulation': 3 is not valid; expected a mapping with keys "
        "among scale, seed", ("simulation=3",)),
    "missing sheet named on the command line": Case(
        "command line", lambda: None,
        "missing.tsv: cannot read the file: No such file or directory",
        ("conditions=missing.tsv",)),
    "file value next to a bad command-line value": Case(
        "command line", at("simulation.scale", "huge"),
        f"{CONFIG}:@{{scale: huge}}, key 'simulation.scale': 'huge' is not allowed; allowed "
        "values: tiny, demo, large", ("simulation={seed: 3}",)),
    # ---- schema messages that say what is allowed -----------------------------------------
    "zero samples per condition": Case(
        "schema", at("experiments.multitask.samples_per_condition", 0),
        f"{CONFIG}:@{{samples_per_condition}}, key 'experiments.multitask."
        "samples_per_condition': 0 is not valid; expected an integer >= 1, or null (an empty "
        "value)"),
    "steps in words": Case(
        "schema", at("training.defaults.budget.steps", "many"),
        f"{CONFIG}:@{{steps: many}}, key 'training.defaults.budget.steps': 'many' is not valid; "
        "expected an integer >= 1, or null (an empty value)"),
    "window too small": Case(
        "schema", at("peaks.window", 4),
        f"{CONFIG}:@{{window: 4}}, key 'peaks.window': 4 is not valid; expected an integer >= 8"),
    "fraction above one": Case(
        "schema", at("classify.crf.select_fraction", 1.5),
        f"{CONFIG}:@{{select_fraction}}, key 'classify.crf.select_fraction': 1.5 is not valid; "
        "expected a number > 0 and < 1"),
    "empty test split": Case(
        "schema", at("splits.test", []),
        f"{CONFIG}:@{{test: []}}, key 'splits.test': [] is not valid; expected a list (not "
        "empty), each a string, without repeats"),
    "chromosome twice": Case(
        "schema", at("genome.chromosomes", ["chr1", "chr2", "chr1"]),
        f"{CONFIG}:@{{chromosomes:}}, key 'genome.chromosomes': 'chr1' appears more than once; "
        "each item may appear once"),
    "sample count in words": Case(
        "schema", at("models.multitask.sample_count", "lots"),
        f"{CONFIG}:@{{sample_count: lots}}, key 'models.multitask.sample_count': 'lots' is not "
        "valid; expected an integer >= 1, or one of single_task, or null (an empty value)"),
    "yes-or-no in words": Case(
        "schema", at("training.amp", "maybe"),
        f"{CONFIG}:@{{amp: maybe}}, key 'training.amp': 'maybe' is not valid; expected true or "
        "false"),
    "portal that is not a URL": Case(
        "schema", at("encode.portal", "ftp://mirror"),
        f"{CONFIG}:@{{portal: ftp}}, key 'encode.portal': 'ftp://mirror' is malformed; allowed: "
        "an http:// or https:// URL such as https://www.encodeproject.org"),
    "init in words": Case(
        "schema", at("models.multitask.init", "pretrained"),
        f"{CONFIG}:@{{init: pretrained}}, key 'models.multitask.init': 'pretrained' is not valid;"
        " expected one of scratch, or a mapping with keys among from"),
    "required keys missing": Case(
        "schema", lambda: write(CONFIG, "source: simulated\n"),
        f"{CONFIG}:1: missing required key(s): conditions, cell_features, genome, splits"),
    "section left empty": Case(
        "schema", at("peaks", None),
        f"{CONFIG}:@{{peaks:}}, key 'peaks': null (an empty value) is not valid; expected a "
        "mapping with keys among min_overlap, max_union, max_peak_length, window"),
    "unknown key in a section": Case(
        "schema", at("simulation.sead", 3),
        f"{CONFIG}:@{{sead: 3}}, key 'simulation': unknown key(s) 'sead' (did you mean 'seed'?);"
        " allowed keys: scale, seed"),
    # ---- checks across the configuration, its sheets, models, figures and motifs -----------
    "unknown JASPAR matrix": Case(
        "across", lambda: replace(CONFIG, "JUND: MA0492.2", "JUND: MA9999.1"),
        f"{CONFIG}:@{{MA9999.1}}, key 'motifs.JUND': ..."),
    "missing MEME file": Case(
        "across", lambda: replace(CONFIG, "JUND: MA0492.2", "JUND: motifs/jund.meme"),
        f"{CONFIG}:@{{jund.meme}}, key 'motifs.JUND': ..."),
    "MEME file without a motif": Case(
        "across", both(lambda: write("config/tiny/jund.meme", "MEME version 4\n\nALPHABET= ACGT\n"),
                       lambda: replace(CONFIG, "JUND: MA0492.2", "JUND: jund.meme")),
        f"{CONFIG}:@{{jund.meme}}, key 'motifs.JUND': ..."),
    "unknown feature setting": Case(
        "across", at("experiments.feature_settings", ["Seq", "Seq+ATAC"]),
        f"{CONFIG}:@{{Seq+ATAC}}, key 'experiments.feature_settings[1]': unknown feature set "
        "'Seq+ATAC'; feature sets: ..."),
    "feature set of an assay no cell type has": Case(
        "across", both(feature_set("Seq+ATAC", {"assays": ["ATAC"]}),
                       at("models.multitask.feature_set", "Seq+ATAC")),
        f"{CONFIG}:@{{feature_set: Seq+ATAC}}, key 'models.multitask.feature_set': feature set "
        f"'Seq+ATAC' needs assay(s) ATAC, which cell type(s) of {FEAT} lack: K562 (ATAC), "
        "HepG2 (ATAC), A549 (ATAC); add those rows or use another feature set"),
    "selector of a cell type without features": Case(
        "across", at("models.multitask.conditions", {"cell_type": ["K562", "Liver"]}),
        f"{CONFIG}:@{{cell_type:}}, key 'models.multitask.conditions.cell_type': cell type "
        f"'Liver' has no rows in {FEAT} (known: K562, HepG2, A549)"),
    "selector of an unknown TF": Case(
        "across", at("models.multitask.conditions", {"tf": ["JUND", "JUNX"]}),
        f"{CONFIG}:@{{tf:}}, key 'models.multitask.conditions.tf': TF 'JUNX' has no condition "
        f"in {COND} (known: ..."),
    "selector of an unknown panel": Case(
        "across", at("models.multitask.conditions", {"panel": ["train", "training"]}),
        f"{CONFIG}:@{{panel:}}, key 'models.multitask.conditions.panel': panel 'training' is not "
        "a panel (known: train, heldout, new)"),
    "family TF not in the panel": Case(
        "across", at("experiments.families.JUN", ["JUN", "JUNB", "JUND", "ATF3"]),
        f"{CONFIG}:@{{ATF3}}, key 'experiments.families.JUN[3]': TF 'ATF3' is not a TF of the "
        "base model 'multitask' (its TFs: ..."),
    "TF in two families": Case(
        "across", at("experiments.families.FOXA", ["FOXA1", "FOXA2", "JUN"]),
        f"{CONFIG}:@{{FOXA:|3}}, key 'experiments.families.FOXA[2]': TF 'JUN' is in two families "
        "(JUN and FOXA); give it one"),
    "experiment panel of an unknown TF": Case(
        "across", at("experiments.multitask.panels.jund", {"tfs": ["JUND", "NOPE"]}),
        f"{CONFIG}:@{{- NOPE}}, key 'experiments.multitask.panels.jund.tfs[1]': TF 'NOPE' has no"
        f" train or heldout condition in {COND} (TFs there: ..."),
    "base model that is no model": Case(
        "across", at("experiments.base_model", "multitsak"),
        f"{CONFIG}:@{{base_model:}}, key 'experiments.base_model': base_model 'multitsak' is not "
        "a model (models: multitask)"),
    "list selector of an unknown condition": Case(
        "across", at("models.multitask.conditions", ["JUND.K562", "JUND.Liver"]),
        f"{CONFIG}:@{{conditions:#2}}, key 'models.multitask.conditions': unknown condition(s) "
        f"JUND.Liver (not in {COND})"),
    "fine-tuning from no model": Case(
        "across", at("models.tuned", {"conditions": "all", "init": {"from": "nothing"}}),
        f"{CONFIG}:@{{init:}}, key 'models.tuned.init': init.from names 'nothing', "
        "which is not another model (models: ..."),
    "motif discovery of an unknown condition": Case(
        "across", at("motif_discovery.conditions", ["CTCF.K562", "CTCF.Liver"]),
        f"{CONFIG}:@{{motif_discovery:|2}}, key 'motif_discovery.conditions': unknown condition(s) "
        f"CTCF.Liver (not in {COND})"),
    "new TF whose motif has no family": Case(
        "across", both(lambda: append(COND, "REST\tK562\t\tnew\nREST\tHepG2\t\tnew\n"),
                       lambda: replace(CONFIG, "  CEBPB: MA0466.4\n",
                                       "  CEBPB: MA0466.4\n  REST: MA0138.2\n")),
        f"{COND}:16, row 15, column 'tf': TF 'REST' (motif MA0138.2) is in no supervised panel "
        "..."),
    "TF without a motif": Case(
        "across", lambda: replace(CONFIG, "  CEBPB: MA0466.4\n", ""),
        f"{COND}:14, row 13, column 'tf': TF 'CEBPB' has no motif; the simulated data set needs "
        f"one: add 'CEBPB: <JASPAR matrix ID or MEME file>' under 'motifs' in {CONFIG}"),
    "cell type without features": Case(
        "across", rows("JUND\tK562\t\ttrain", "JUND\tLiver\t\ttrain"),
        f"{COND}:3, row 2, column 'cell_type': cell type 'Liver' has no features in {FEAT}; add "
        "its assays there (known cell types: A549, HepG2, K562)"),
    "cell type lacking an assay": Case(
        "across", lambda: replace(FEAT, "A549\tH3K27ac\t\n", ""),
        f"{FEAT}:10, row 9, column 'assay': cell type 'A549' lacks assay(s) H3K27ac that other "
        "cell types have; every cell type needs the same assays"),
    # ---- hostile ----------------------------------------------------------------------------
    "shell command in a TF name": Case(
        "hostile", rows(f"{SHELL_TF}\tK562\t\ttrain"),
        f"{COND}:2, row 1, column 'tf': '{SHELL_TF}' is malformed; allowed: {NAME_HINT}"),
    "command substitution in a cell type": Case(
        "hostile", rows("JUND\t$(touch pwned)\t\ttrain"),
        f"{COND}:2, row 1, column 'cell_type': '$(touch pwned)' is malformed; allowed: "
        f"{NAME_HINT}"),
    "backticks in a model name": Case(
        "hostile", at("models.`touch pwned`", {"conditions": "all"}),
        f"{CONFIG}:@{{models:}}, key 'models': the key '`touch pwned`' is malformed; "
        "allowed: letters, digits, '_' and '-', starting with a letter or digit (names become file "
        "names)"),
    "sheet path outside the working directory": Case(
        "hostile", both(lambda: write("../outside/secret.tsv", "password\t1234\n"),
                        at("conditions", "../outside/secret.tsv")),
        "../outside/secret.tsv:1, column 'password': unknown column 'password'; allowed "
        "columns: ..."),
    "sheet path of a device": Case(
        "hostile", at("conditions", "/dev/zero"),
        "/dev/zero: not a regular file (a directory, device or pipe); give the path of a text "
        "file"),
    "sheet path of a directory": Case(
        "hostile", at("cell_features", "config"),
        "config: not a regular file (a directory, device or pipe); give the path of a text "
        "file"),
    "sheet path of a pipe": Case(
        "hostile", both(mkfifo("config/tiny/pipe.tsv"), at("conditions", "config/tiny/pipe.tsv")),
        "config/tiny/pipe.tsv: not a regular file (a directory, device or pipe); give the path "
        "of a text file"),
    "sheet path with a command": Case(
        "hostile", at("conditions", "$(touch pwned).tsv"),
        "$(touch pwned).tsv: cannot read the file: No such file or directory"),
    "sheet of 64 MiB and a byte": Case(
        "hostile", sparse(COND, MAX_INPUT_BYTES + 1),
        f"{COND}: the file has {MAX_INPUT_BYTES + 1} bytes; an input file may have at most 64 "
        "MiB"),
    "python tag in the configuration": Case(
        "hostile", lambda: append(CONFIG, "run: !!python/object/apply:os.system [touch pwned]\n"),
        f"{CONFIG}:@{{run: !!}}: not valid YAML: could not determine a constructor for the tag "
        "'tag:yaml.org,2002:python/object/apply:os.system'; tags (!!python/..., !name) are not "
        "allowed in a configuration"),
    "alias bomb": Case(
        "hostile", alias_bomb,
        f"{CONFIG}:1: the YAML expands (through its aliases) to more than 200000 values"),
    "nesting 20000 deep": Case(
        "hostile", lambda: append(CONFIG, "deep: " + "[" * 20_000 + "\n"),
        f"{CONFIG}: the YAML is nested too deeply to read"),
    "TF name of 100000 characters": Case(
        "hostile", rows(f"{HUGE}\tK562\t\ttrain"),
        f"{COND}:2, row 1, column 'tf': the name has 100000 characters; at most {NAME_LIMIT} are "
        "allowed (names become file names, which may have at most 255 bytes)"),
    "MEME path of a device": Case(
        "hostile", both(lambda: os.symlink("/dev/zero", "config/tiny/zero.meme"),
                        lambda: replace(CONFIG, "JUND: MA0492.2", "JUND: zero.meme")),
        f"{CONFIG}:@{{zero.meme}}, key 'motifs.JUND': zero.meme is not a regular file (a device, "
        "directory or pipe) or is larger than 64 MiB; give the path of a MEME file"),
    "YAML that asks Snakemake to evaluate it": Case(
        "hostile", lambda: append(CONFIG, "__use_yte__: true\n"),
        f"{CONFIG}:@{{__use_yte__}}: unknown key(s) '__use_yte__'; allowed keys: ..."),
}


def expected_line(case: Case) -> str:
    """The case's first line with ``@{text}`` replaced by the line of ``text`` in the
    configuration (``@{text#2}``: its second line)."""
    try:
        lines = Path(CONFIG).read_bytes().decode("utf-8", "replace").split("\n")
    except OSError:
        lines = []

    def line_of(match: re.Match) -> str:
        needle, nth, offset = match.group(1), match.group(2), match.group(3)
        found = [i + 1 for i, line in enumerate(lines) if needle in line]
        return str(found[int(nth or 1) - 1] + int(offset or 0))
    return re.sub(r"@\{([^}#|]*)(?:#(\d+))?(?:\|(\d+))?\}", line_of, case.first)


def assert_first_line(got: str, expected: str) -> None:
    if expected.endswith("..."):
        assert got.startswith(expected[:-3]), f"\n{got}\n{expected}"
    else:
        assert got == expected, f"\n{got}\n{expected}"


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with a copy of the tiny configuration (config/tiny/), a folder
    beside it (../outside), and nothing else."""
    root = tmp_path / "work"
    (root / "config" / "tiny").mkdir(parents=True)
    for name in ("config.yaml", "conditions.tsv", "cell_features.tsv"):
        shutil.copy(REPO / "config" / "tiny" / name, root / "config" / "tiny" / name)
    (tmp_path / "outside").mkdir()
    monkeypatch.chdir(root)
    return root


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.lstat().st_size, p.lstat().st_mtime_ns) for p in root.rglob("*")}


def test_the_corpus_covers_every_class():
    kinds: dict[str, int] = {}
    for case in CORPUS.values():
        kinds[case.kind] = kinds.get(case.kind, 0) + 1
    assert len(CORPUS) >= 60 and min(kinds.values()) >= 6, kinds


def _check(case: Case) -> None:
    if not case.overrides:
        check_project(CONFIG)
        return
    # As Snakemake does: parse `--config`, merge it into the file's mapping, hand both over.
    overrides = parse_config(list(case.overrides))
    config = yaml.safe_load(Path(CONFIG).read_text())
    update_config(config, overrides)
    check_project(CONFIG, config=config, overrides=overrides)


@pytest.mark.parametrize("name", list(CORPUS))
def test_library_rejects_before_any_work(work: Path, name: str):
    case = CORPUS[name]
    case.setup()
    with pytest.raises(ConfigError) as info:
        _check(case)
    assert_first_line(str(info.value.problems[0]), expected_line(case))


@pytest.mark.parametrize("name", [n for n, c in CORPUS.items() if not c.overrides])
def test_cli_rejects_with_status_2_and_writes_nothing(work: Path, name: str, capsys):
    case = CORPUS[name]
    case.setup()
    before = snapshot(work.parent)
    status = main(["validate", "--config", CONFIG])
    err = capsys.readouterr().err
    assert status == 2
    assert "Traceback" not in err
    lines = err.splitlines()
    assert lines and all(line.startswith("error: ") for line in lines), err
    assert_first_line(lines[0].removeprefix("error: "), expected_line(case))
    assert max(map(len, lines)) < 1000  # a huge value is shortened, not printed whole
    assert snapshot(work.parent) == before
    assert not list(work.parent.rglob("pwned*"))


HOSTILE = ["shell command in a TF name", "sheet path of a pipe", "python tag in the configuration",
           "alias bomb", "backticks in a model name", "sheet path with a command"]


@pytest.mark.parametrize("name", HOSTILE)
def test_console_script_on_hostile_input(work: Path, name: str):
    """The installed entry point in its own process: exit status 2, the expected line, no
    traceback, no file written anywhere, nothing run."""
    case = CORPUS[name]
    case.setup()
    before = snapshot(work.parent)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    result = subprocess.run([sys.executable, "-m", "nettime.cli", "validate", "--config", CONFIG],
                            capture_output=True, text=True, env=env, timeout=120, check=False)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert_first_line(result.stderr.splitlines()[0].removeprefix("error: "),
                      expected_line(case))
    assert snapshot(work.parent) == before
    assert not list(work.parent.rglob("pwned*"))


# ---- what is accepted ---------------------------------------------------------------------------


def test_fields_are_read_literally(work: Path):
    """A byte-order mark, CRLF line ends, quotes and a form feed in notes: accepted, and each
    field keeps its own text (a quote swallows nothing)."""
    lines = Path(COND).read_text().splitlines()
    notes = ['says "hi', "it's\x0cfine", '"']
    lines = [lines[0] + "\tnotes"] + [line + "\t" + (notes[i] if i < 3 else "")
                                      for i, line in enumerate(lines[1:])]
    write(COND, b"\xef\xbb\xbf" + "".join(line + "\r\n" for line in lines).encode())
    project = check_project(CONFIG).project
    frame = project.conditions
    assert list(frame["condition"])[:3] == ["JUND.K562", "JUND.HepG2", "JUND.A549"]
    assert list(frame["notes"])[:4] == [*notes, ""]
    assert list(frame["panel"])[:3] == ["train", "train", "heldout"]


def test_command_line_values_are_coerced_as_snakemake_users_expect(work: Path):
    overrides = parse_config(["simulation={seed: 3}", "training={amp: false, threads: 2}",
                              "classify={bin_widths: [20, 50], crf: {lr: 0.5}}",
                              "experiments={multitask: {samples_per_condition: null}}"])
    assert overrides["simulation"] == {"seed": "3"}  # what Snakemake hands over
    config = yaml.safe_load(Path(CONFIG).read_text())
    update_config(config, overrides)
    checked = check_project(CONFIG, config=config, overrides=overrides)
    assert config["simulation"]["seed"] == 3 and checked.project.config is config
    assert config["training"]["amp"] is False and config["training"]["threads"] == 2
    assert config["classify"]["bin_widths"] == [20, 50] and config["classify"]["crf"]["lr"] == 0.5
    assert config["experiments"]["multitask"]["samples_per_condition"] is None


def test_names_at_the_limit_make_legal_file_names(work: Path):
    """TF and cell-type names of :data:`NAME_LIMIT` characters are accepted, and every file the
    layout names for them (the longest generated model names included) fits in 255 bytes."""
    tf, cell = "CEBPB" + "X" * (NAME_LIMIT - 5), "A549" + "Y" * (NAME_LIMIT - 4)
    for path in (COND, FEAT, CONFIG):
        replace(path, "A549", cell, count=-1)
    replace(COND, "CEBPB", tf)
    replace(CONFIG, "CEBPB:", f"{tf}:")
    replace(CONFIG, "CEBPB]", f"{tf}]")
    checked = check_project(CONFIG)
    project = checked.project
    fields = {"source": "simulated", "split": "valid", "label_set": "conserved",
              "assay": "H3K27ac", "variant": "average_train", "method": "threshold",
              "kind": "probability", "set": "sites", "name": "figs5bd_fine_tuning"}
    longest = 0
    for name in layout.FILES:
        for model in checked.models:
            for condition in project.condition_names():
                path = layout.path(name, **fields, model=model, condition=condition,
                                   tf=condition.split(".")[0], cell=condition.split(".")[1])
                longest = max(longest, *(len(part.encode()) for part in path.split("/")))
    assert longest <= 255
    assert max(map(len, checked.models)) > NAME_LIMIT  # generated names combine two names


# ---- through Snakemake -------------------------------------------------------------------------

SNAKEMAKE_CASES = {
    "second source": ["--configfile", CONFIG],
    "header-only conditions": ["--configfile", CONFIG],
    "family TF not in the panel": ["--configfile", CONFIG],
    "seed that is not a number": ["--configfile", CONFIG, "--config", "simulation={seed: x}"],
}


@pytest.mark.slow
@pytest.mark.workflow
@pytest.mark.parametrize("name", list(SNAKEMAKE_CASES))
def test_snakemake_stops_with_the_same_line(tmp_path: Path, monkeypatch, name: str):
    """`snakemake -n` parses the workflow, whose `_load()` calls the same function: it stops
    before any job with the same first line (after its title line), no traceback."""
    from helpers import copy_checkout

    copy_checkout(tmp_path)
    monkeypatch.chdir(tmp_path)
    case = CORPUS[name]
    case.setup()
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "src")}
    result = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "1",
                             *SNAKEMAKE_CASES[name]], capture_output=True, text=True, env=env,
                            timeout=300, check=False)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    title = next(i for i, line in enumerate(lines) if line.startswith("Invalid configuration"))
    assert_first_line(lines[title + 1].strip(), expected_line(case))
    assert not (tmp_path / "results").exists() and not (tmp_path / "resources").exists()
