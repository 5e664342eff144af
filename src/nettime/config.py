"""Load and validate the pipeline configuration and its two sample sheets.

One module serves the workflow (``common.smk``) and the command line (``nettime validate``),
so a bad sheet gives the same message wherever it is read. Every problem is reported as one line
that names the file, the line (and data row) and the column or key, says what is wrong and what
is allowed. Validation collects every problem it can before it stops, so a user fixes a sheet in
one pass.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import pandas as pd
import yaml

SCHEMA_DIR_ENV = "NETTIME_SCHEMAS"
CONDITION_SEPARATOR = "."


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one place of one input file.

    Parameters
    ----------
    file
        The path as the user gave it.
    message
        What is wrong and what is allowed.
    line
        1-based line of the file, when the problem has one.
    row
        1-based data row of a sheet (the header is not a row).
    column
        Column of a sheet, or dotted key of a YAML file.
    """

    file: str
    message: str
    line: int | None = None
    row: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        parts = [where]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            kind = "key" if self.file.endswith((".yaml", ".yml")) else "column"
            parts.append(f"{kind} '{self.column}'")
        return ", ".join(parts) + f": {self.message}"


class ConfigError(Exception):
    """Raised with every problem found in the configuration; ``str()`` gives one line each."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass
class Project:
    """The validated configuration and its sheets.

    Attributes
    ----------
    config
        The configuration mapping, with schema defaults filled in.
    conditions
        One row per condition; columns ``tf``, ``cell_type``, ``experiment``, ``panel``,
        ``conserved_file``, ``relaxed_file`` and ``condition`` (``TF.cell_type``); empty
        strings where a cell was blank.
    cell_features
        One row per (cell type, assay); columns ``cell_type``, ``assay``, ``experiment``,
        ``peaks_file``, ``signal_file``.
    """

    config: dict[str, Any]
    conditions: pd.DataFrame
    cell_features: pd.DataFrame
    config_path: str = field(default="config/config.yaml")

    @property
    def source(self) -> str:
        return str(self.config["source"])

    @property
    def tfs(self) -> list[str]:
        """TFs in order of first appearance in the conditions sheet."""
        return list(dict.fromkeys(self.conditions["tf"]))

    @property
    def cell_types(self) -> list[str]:
        """Cell types in order of first appearance in the feature sheet."""
        return list(dict.fromkeys(self.cell_features["cell_type"]))

    @property
    def assays(self) -> list[str]:
        return list(dict.fromkeys(self.cell_features["assay"]))

    def condition_names(self, panels: Iterable[str] | None = None) -> list[str]:
        """Names ``TF.cell_type`` of the conditions, optionally of some panels only."""
        frame = self.conditions
        if panels is not None:
            frame = frame[frame["panel"].isin(list(panels))]
        return list(frame["condition"])

    def assays_of(self, cell_type: str) -> list[str]:
        frame = self.cell_features
        return list(frame.loc[frame["cell_type"] == cell_type, "assay"])


def condition_name(tf: str, cell_type: str) -> str:
    """The name of a condition, ``TF.cell_type``, as used in file names."""
    return f"{tf}{CONDITION_SEPARATOR}{cell_type}"


def config_hash(config: Mapping[str, Any]) -> str:
    """SHA-256 of a configuration as canonical JSON (recorded in outputs as provenance)."""
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def split_condition(name: str) -> tuple[str, str]:
    """Inverse of :func:`condition_name`."""
    tf, _, cell_type = name.partition(CONDITION_SEPARATOR)
    return tf, cell_type


# --------------------------------------------------------------------------------------------
# Schemas


def schema_dir() -> Path:
    """Directory of the JSON schemas (``workflow/schemas`` of this checkout)."""
    if SCHEMA_DIR_ENV in os.environ:
        return Path(os.environ[SCHEMA_DIR_ENV])
    here = Path(__file__).resolve().parent
    candidate = here.parent.parent / "workflow" / "schemas"
    if candidate.is_dir():
        return candidate
    local = Path("workflow") / "schemas"
    if local.is_dir():
        return local
    raise FileNotFoundError(
        f"cannot find the schemas (looked in {candidate} and ./workflow/schemas); "
        f"set {SCHEMA_DIR_ENV} to the schema directory"
    )


def load_schema(name: str) -> dict[str, Any]:
    with open(schema_dir() / f"{name}.schema.yaml") as handle:
        return yaml.safe_load(handle)


def _fill_defaults(instance: dict[str, Any], schema: dict[str, Any]) -> None:
    """Fill ``default`` values of object properties, recursively, in place."""
    for key, sub in schema.get("properties", {}).items():
        if key not in instance and "default" in sub:
            instance[key] = _copy(sub["default"])
        if isinstance(instance.get(key), dict) and sub.get("type") == "object":
            _fill_defaults(instance[key], sub)


def schema_defaults() -> dict[str, Any]:
    """The configuration's defaults as the schema gives them (what a key left out becomes);
    the command line takes its option defaults from here, so both agree."""
    defaults: dict[str, Any] = {}
    _fill_defaults(defaults, load_schema("config"))
    return defaults


def _copy(value: Any) -> Any:
    return yaml.safe_load(yaml.safe_dump(value))


def _describe_error(error: jsonschema.ValidationError) -> str:
    """A sentence for a schema error that says what is allowed, not just what failed."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    value = error.instance
    if "x-allowed" in schema and error.validator in ("pattern", "anyOf"):
        return f"{value!r} is malformed; allowed: {schema['x-allowed']}"
    if error.validator == "pattern":
        return f"{value!r} does not match the pattern {error.validator_value!r}"
    if error.validator == "enum":
        allowed = ", ".join(str(v) for v in error.validator_value)
        return f"{value!r} is not allowed; allowed values: {allowed}"
    if error.validator == "required":
        missing = [k for k in error.validator_value if k not in error.instance]
        return f"missing required key(s): {', '.join(missing)}"
    if error.validator == "additionalProperties":
        allowed = ", ".join(schema.get("properties", {}))
        extra = [k for k in error.instance if k not in schema.get("properties", {})]
        return f"unknown key(s) {', '.join(map(repr, extra))}; allowed keys: {allowed}"
    return error.message


def _error_path(error: jsonschema.ValidationError) -> str:
    parts: list[str] = []
    for item in error.absolute_path:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


# --------------------------------------------------------------------------------------------
# config.yaml


def _yaml_lines(text: str) -> dict[tuple[Any, ...], int]:
    """Map each key path of a YAML document to its 1-based line number."""
    lines: dict[tuple[Any, ...], int] = {}

    def walk(node: yaml.Node, path: tuple[Any, ...]) -> None:
        lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = key_node.value
                lines[path + (key,)] = key_node.start_mark.line + 1
                walk(value_node, path + (key,))
                lines[path + (key,)] = key_node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, path + (index,))

    root = yaml.compose(text)
    if root is not None:
        walk(root, ())
    return lines


def validate_config(config: dict[str, Any], path: str = "config/config.yaml",
                    text: str | None = None) -> dict[str, Any]:
    """Validate a configuration mapping against the schema and fill its defaults.

    Parameters
    ----------
    config
        The parsed configuration (modified in place: defaults are filled in).
    path
        Its file name, for messages.
    text
        The YAML text, when available, so messages can give line numbers.

    Raises
    ------
    ConfigError
        With one :class:`Problem` per violation.
    """
    lines = _yaml_lines(text) if text else {}
    schema = load_schema("config")
    _fill_defaults(config, schema)
    validator = jsonschema.Draft202012Validator(schema)
    problems = []
    for error in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.path))):
        key = _error_path(error) or None
        line = lines.get(tuple(error.absolute_path))
        problems.append(Problem(path, _describe_error(error), line=line, column=key))
    if not problems:
        problems.extend(_check_splits(config, path, lines))
    if problems:
        raise ConfigError(problems)
    return config


def _check_splits(config: dict[str, Any], path: str,
                  lines: dict[tuple[Any, ...], int]) -> list[Problem]:
    """Split lists may name only known chromosomes and must not share any."""
    known = list(config["genome"]["chromosomes"])
    problems = []
    seen: dict[str, str] = {}
    for split in ("train", "valid", "test"):
        for index, chrom in enumerate(config["splits"][split]):
            line = lines.get(("splits", split, index))
            key = f"splits.{split}[{index}]"
            if chrom not in known:
                shown = ", ".join(known[:6]) + (", ..." if len(known) > 6 else "")
                problems.append(Problem(
                    path, f"{chrom!r} is not a chromosome of the genome (genome.chromosomes: "
                    f"{shown})", line=line, column=key))
            elif chrom in seen:
                problems.append(Problem(
                    path, f"{chrom!r} is in both the {seen[chrom]!r} and the {split!r} split; "
                    "the splits must not overlap", line=line, column=key))
            else:
                seen[chrom] = split
    return problems


def load_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and validate ``config.yaml``; see :func:`validate_config`."""
    path = str(path)
    try:
        with open(path) as handle:
            text = handle.read()
    except OSError as exc:
        raise ConfigError([Problem(path, f"cannot read the file: {exc.strerror}")]) from None
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([Problem(path, f"not valid YAML: {reason}", line=line)]) from None
    if not isinstance(config, dict):
        raise ConfigError([Problem(path, "expected a mapping of keys to values")])
    return validate_config(config, path, text)


# --------------------------------------------------------------------------------------------
# sheets


def read_sheet(path: str, schema_name: str) -> tuple[pd.DataFrame, list[Problem]]:
    """Read a TSV sheet and check each row against its schema.

    Blank cells are treated as absent (optional fields may be left empty). Lines that start with
    ``#`` are comments.

    Returns
    -------
    frame
        All columns as strings, blanks as ``""``, with a ``_line`` column giving each row's
        1-based line in the file.
    problems
        One per violation; empty when the sheet is valid.
    """
    schema = load_schema(schema_name)
    try:
        with open(path, newline="") as handle:
            raw_lines = handle.read().splitlines()
    except OSError as exc:
        return pd.DataFrame(), [Problem(path, f"cannot read the file: {exc.strerror}")]
    numbered = [(i + 1, line) for i, line in enumerate(raw_lines)
                if line.strip() and not line.lstrip().startswith("#")]
    if not numbered:
        return pd.DataFrame(), [Problem(path, "the sheet is empty; expected a header line "
                                        f"with columns {', '.join(schema['required'])}")]
    header_line, header_text = numbered[0]
    header = [h.strip() for h in next(csv.reader([header_text], delimiter="\t"))]
    allowed = list(schema["properties"])
    problems = []
    for name in header:
        if name not in allowed:
            hint = " (is the file tab-separated?)" if " " in name or "," in name else ""
            problems.append(Problem(path, f"unknown column {name!r}{hint}; allowed columns: "
                                    f"{', '.join(allowed)}", line=header_line, column=name))
    duplicated = {h for h in header if header.count(h) > 1}
    for name in sorted(duplicated):
        problems.append(Problem(path, "the column appears more than once", line=header_line,
                                column=name))
    for name in schema["required"]:
        if name not in header:
            problems.append(Problem(path, f"required column is missing (required columns: "
                                    f"{', '.join(schema['required'])})", line=header_line,
                                    column=name))
    if problems:
        return pd.DataFrame(), problems

    validator = jsonschema.Draft202012Validator(schema)
    records = []
    for row_number, (line_number, text) in enumerate(numbered[1:], start=1):
        cells = [c.strip() for c in next(csv.reader([text], delimiter="\t"))]
        if len(cells) > len(header):
            problems.append(Problem(path, f"{len(cells)} fields but the header has "
                                    f"{len(header)} columns", line=line_number, row=row_number))
            continue
        cells += [""] * (len(header) - len(cells))
        record = {name: value for name, value in zip(header, cells, strict=True) if value != ""}
        for error in validator.iter_errors(record):
            if error.validator == "required":
                for missing in [k for k in error.validator_value if k not in record]:
                    problems.append(Problem(path, "a value is required here", line=line_number,
                                            row=row_number, column=missing))
                continue
            column = str(error.absolute_path[0]) if error.absolute_path else None
            problems.append(Problem(path, _describe_error(error), line=line_number,
                                    row=row_number, column=column))
        _fill_defaults(record, schema)
        record["_line"] = line_number
        record["_row"] = row_number
        records.append(record)
    frame = pd.DataFrame.from_records(records)
    for name in allowed:
        if name not in frame.columns:
            frame[name] = ""
    frame[allowed] = frame[allowed].fillna("").astype(str)
    return frame, problems


def load_project(config_path: str | os.PathLike[str] = "config/config.yaml",
                 config: dict[str, Any] | None = None) -> Project:
    """Load and validate the configuration and both sheets, with the checks across them.

    Parameters
    ----------
    config_path
        The configuration file (read unless ``config`` is given).
    config
        An already parsed configuration (Snakemake's ``config``); validated here.

    Raises
    ------
    ConfigError
        With every problem found.
    """
    config_path = str(config_path)
    if config is None:
        config = load_config(config_path)
    else:
        config = validate_config(config, config_path)
    conditions_path = config["conditions"]
    features_path = config["cell_features"]
    conditions, problems = read_sheet(conditions_path, "conditions")
    features, feature_problems = read_sheet(features_path, "cell_features")
    problems += feature_problems
    if not conditions.empty and not features.empty:
        problems += _cross_check(config, config_path, conditions, conditions_path,
                                 features, features_path)
    if problems:
        raise ConfigError(problems)
    conditions["condition"] = [condition_name(t, c) for t, c in
                               zip(conditions["tf"], conditions["cell_type"], strict=True)]
    return Project(config=config, conditions=conditions.reset_index(drop=True),
                   cell_features=features.reset_index(drop=True), config_path=config_path)


def _repeated_rows(frame: pd.DataFrame, path: str, key: tuple[str, ...], column: str,
                   message: Any) -> list[Problem]:
    """A problem for each row whose ``key`` columns repeat an earlier row's;
    ``message(record, first_row)`` says what is wrong."""
    problems, first = [], {}
    for rec in frame.to_dict("records"):
        value = tuple(rec[c] for c in key)
        if value in first:
            problems.append(Problem(path, message(rec, first[value]), line=rec["_line"],
                                    row=rec["_row"], column=column))
        else:
            first[value] = rec["_row"]
    return problems


def _cross_check(config: dict[str, Any], config_path: str, conditions: pd.DataFrame,
                 conditions_path: str, features: pd.DataFrame,
                 features_path: str) -> list[Problem]:
    problems = _repeated_rows(
        conditions, conditions_path, ("tf", "cell_type"), "tf",
        lambda rec, first: f"duplicate condition {rec['tf']} in {rec['cell_type']} (first "
                           f"given in row {first}); each (tf, cell_type) pair may appear once")
    problems += _repeated_rows(
        features, features_path, ("cell_type", "assay"), "assay",
        lambda rec, first: f"duplicate assay {rec['assay']} for {rec['cell_type']} (first "
                           f"given in row {first})")
    featured = set(features["cell_type"])
    for rec in conditions.to_dict("records"):
        if rec["cell_type"] not in featured:
            problems.append(Problem(conditions_path, f"cell type {rec['cell_type']!r} has no "
                                    f"features in {features_path}; add its assays there "
                                    f"(known cell types: {', '.join(sorted(featured))})",
                                    line=rec["_line"], row=rec["_row"], column="cell_type"))
    # Every cell type must have the same assays, so each feature set is defined everywhere.
    assay_sets = {cell: set(group["assay"]) for cell, group in features.groupby("cell_type")}
    every = set().union(*assay_sets.values())
    for cell, assays in assay_sets.items():
        missing = sorted(every - assays)
        if missing:
            first = features[features["cell_type"] == cell].iloc[0]
            problems.append(Problem(features_path, f"cell type {cell!r} lacks assay(s) "
                                    f"{', '.join(missing)} that other cell types have; every "
                                    "cell type needs the same assays", line=int(first["_line"]),
                                    row=int(first["_row"]), column="assay"))
    motifs = config.get("motifs", {})
    if config["source"] == "simulated":
        name_pattern = load_schema("conditions")["properties"]["tf"]["pattern"]
        # Names already reported as malformed are not reported again here.
        tfs = [tf for tf in dict.fromkeys(conditions["tf"]) if re.match(name_pattern, tf)]
        for tf in tfs:
            if tf not in motifs:
                rec = conditions[conditions["tf"] == tf].iloc[0]
                problems.append(Problem(conditions_path, f"TF {tf!r} has no motif; the "
                                        f"simulated data set needs one: add '{tf}: <JASPAR "
                                        f"matrix ID or MEME file>' under 'motifs' in "
                                        f"{config_path}", line=int(rec["_line"]),
                                        row=int(rec["_row"]), column="tf"))
    return problems
