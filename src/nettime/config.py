"""Load and validate the pipeline configuration and its two sample sheets.

Every stage reads the configuration through :func:`load_project`; the workflow (``common.smk``)
and ``nettime validate`` call it through :func:`nettime.validate.check_project`, which adds the
checks of the models, figures and motifs, so a bad sheet gives the same message wherever it is
read. Every problem is reported as one line that names the file, the line (and data row) and the
column or key, says what is wrong and what is allowed. Validation collects every problem it can
before it stops, so a user fixes a sheet in one pass.

Sheets are read literally (:func:`nettime.inputs.read_text`): UTF-8, fields split at tabs only (a
quote is an ordinary character), lines at newlines only. The configuration is YAML read by
:func:`nettime.inputs.parse_yaml`: a key given twice is an error, not a silent override.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from nettime.inputs import (
    COMMAND_LINE,
    ConfigError,
    Problem,
    attribute,
    describe_error,
    error_path,
    overridden,
    parse_yaml,
    read_text,
    shown,
)

# pandas and jsonschema load only where a sheet is read or a configuration checked: the
# model jobs, which import this module for its names, never need them.
if TYPE_CHECKING:
    import pandas as pd

SCHEMA_DIR_ENV = "NETTIME_SCHEMAS"
CONDITION_SEPARATOR = "."
#: The longest TF, cell-type, model, feature-set or panel name: names become file names
#: (``results/models/tune_{TF}_{cell}_thesis_none/``, ``{TF}.{cell}.conserved.narrowPeak.gz``),
#: which may have at most 255 bytes; names are ASCII, one byte a character.
NAME_LIMIT = 100
#: Columns of the sheets whose values are such names.
NAME_COLUMNS = ("tf", "cell_type")


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


#: libyaml's parser where PyYAML was built with it (several times faster than the pure-Python one).
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.cache
def _parsed_schema(path: Path) -> dict[str, Any]:
    with open(path) as handle:
        return yaml.load(handle, Loader=_YAML_LOADER)


def load_schema(name: str) -> dict[str, Any]:
    """The JSON schema ``workflow/schemas/{name}.schema.yaml`` (a copy: callers may change it).

    Parsed once per process: one Snakemake start validates the configuration several times.
    """
    return copy.deepcopy(_parsed_schema(schema_dir() / f"{name}.schema.yaml"))


def _fill_defaults(instance: dict[str, Any], schema: dict[str, Any]) -> None:
    """Fill ``default`` values of object properties, recursively, in place."""
    for key, sub in schema.get("properties", {}).items():
        if key not in instance and "default" in sub:
            instance[key] = copy.deepcopy(sub["default"])
        if isinstance(instance.get(key), dict) and sub.get("type") == "object":
            _fill_defaults(instance[key], sub)


def schema_defaults() -> dict[str, Any]:
    """The configuration's defaults as the schema gives them (what a key left out becomes);
    the command line takes its option defaults from here, so both agree."""
    defaults: dict[str, Any] = {}
    _fill_defaults(defaults, load_schema("config"))
    return defaults


# --------------------------------------------------------------------------------------------
# config.yaml


def validate_config(config: dict[str, Any], path: str = "config/config.yaml",
                    text: str | None = None, lines: Mapping[tuple[Any, ...], int] | None = None,
                    overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Validate a configuration mapping against the schema and fill its defaults.

    Parameters
    ----------
    config
        The parsed configuration (modified in place: defaults are filled in).
    path
        Its file name, for messages.
    text, lines
        The YAML text, or the line of each key path (:func:`parse_yaml`), when available, so
        messages can give line numbers.
    overrides
        The values given as ``snakemake --config key=value`` (already in ``config``): their
        problems are reported as the command line's, not the file's.

    Raises
    ------
    ConfigError
        With one :class:`Problem` per violation.
    """
    import jsonschema

    if lines is None:
        lines = parse_yaml(text, path)[1] if text else {}
    schema = load_schema("config")
    _fill_defaults(config, schema)
    validator = jsonschema.Draft202012Validator(schema)
    problems = []
    for error in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.path))):
        key_path = tuple(error.absolute_path)
        if error.validator == "additionalProperties":
            extra = [k for k in error.instance if k not in error.schema.get("properties", {})]
            key_path += tuple(extra[:1])  # the unknown key's own line
        problem = Problem(path, describe_error(error, schema), line=lines.get(key_path),
                          column=error_path(error) or None)
        if overridden(overrides, key_path):
            problem = Problem(COMMAND_LINE, problem.message, column=problem.column)
        if problem not in problems:  # "required" fails once per missing key, alike
            problems.append(problem)
    if not problems:
        problems.extend(attribute(_check_splits(config, path, lines), path, overrides))
    if problems:
        raise ConfigError(problems)
    return config


def _check_splits(config: dict[str, Any], path: str,
                  lines: Mapping[tuple[Any, ...], int]) -> list[Problem]:
    """Split lists may name only known chromosomes and must not share any."""
    known = list(config["genome"]["chromosomes"])
    problems = []
    seen: dict[str, str] = {}
    for split in ("train", "valid", "test"):
        for index, chrom in enumerate(config["splits"][split]):
            line = lines.get(("splits", split, index))
            key = f"splits.{split}[{index}]"
            if chrom not in known:
                names = ", ".join(known[:6]) + (", ..." if len(known) > 6 else "")
                problems.append(Problem(
                    path, f"{shown(chrom)} is not a chromosome of the genome (genome.chromosomes"
                    f": {names})", line=line, column=key))
            elif chrom in seen:
                problems.append(Problem(
                    path, f"{chrom!r} is in both the {seen[chrom]!r} and the {split!r} split; "
                    "the splits must not overlap", line=line, column=key))
            else:
                seen[chrom] = split
    return problems


def read_config(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[tuple[Any, ...],
                                                                            int]]:
    """Read a configuration file, unvalidated: its mapping and the line of each key path.

    JSON is read as JSON, anything else as YAML (as Snakemake reads a configuration file).

    Raises
    ------
    ConfigError
        The file cannot be read, is not UTF-8 or not valid YAML (see :func:`read_text`,
        :func:`parse_yaml`), has a key twice in one mapping, is empty, or is not a mapping.
    """
    path = str(path)
    text = read_text(path)
    try:
        config, lines = json.loads(text, object_pairs_hook=_json_object(path)), {}
    except ValueError:
        config, lines = parse_yaml(text, path)
    if config is None:
        raise ConfigError([Problem(path, "the file is empty (or only comments); expected a "
                                   "mapping with keys such as source, conditions, "
                                   "cell_features, genome and splits", line=1)])
    if not isinstance(config, dict):
        kind = "a list" if isinstance(config, list) else f"the value {shown(config)}"
        raise ConfigError([Problem(path, f"expected a mapping of keys to values, found {kind}",
                                   line=lines.get((), 1))])
    return config, lines


def _json_object(path: str) -> Any:
    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in pairs]
        for key in keys:
            if keys.count(key) > 1:
                raise ConfigError([Problem(path, f"the key {shown(key)} is given twice in one "
                                           "object; remove one")])
        return dict(pairs)
    return unique


def load_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and validate ``config.yaml``; see :func:`read_config`, :func:`validate_config`."""
    config, lines = read_config(path)
    return validate_config(config, str(path), lines=lines)


# --------------------------------------------------------------------------------------------
# sheets


def read_sheet(path: str, schema_name: str) -> tuple[pd.DataFrame, list[Problem]]:
    """Read a TSV sheet and check each row against its schema.

    Fields are split at tabs and nothing else: a quote is an ordinary character. Blank cells are
    treated as absent (optional fields may be left empty). Lines that start with ``#`` are
    comments. TF and cell-type names may have at most :data:`NAME_LIMIT` characters.

    Returns
    -------
    frame
        All columns as strings, blanks as ``""``, with a ``_line`` column giving each row's
        1-based line in the file.
    problems
        One per violation; empty when the sheet is valid.
    """
    import jsonschema
    import pandas as pd

    schema = load_schema(schema_name)
    try:
        raw_lines = [line.removesuffix("\r") for line in read_text(path).split("\n")]
    except ConfigError as error:
        return pd.DataFrame(), error.problems
    numbered = [(i + 1, line) for i, line in enumerate(raw_lines)
                if line.strip() and not line.lstrip().startswith("#")]
    if not numbered:
        return pd.DataFrame(), [Problem(path, "the sheet is empty; expected a header line "
                                        f"with columns {', '.join(schema['required'])}")]
    header_line, header_text = numbered[0]
    header = [h.strip() for h in header_text.split("\t")]
    allowed = list(schema["properties"])
    problems = []
    for name in header:
        if name not in allowed:
            hint = (" (is the file tab-separated?)" if " " in name or "," in name else
                    " (quotes are read as part of a name: remove them)" if "\"" in name else "")
            problems.append(Problem(path, f"unknown column {shown(name)}{hint}; allowed "
                                    f"columns: {', '.join(allowed)}", line=header_line,
                                    column=shown(name, 40).strip("'")))
    duplicated = {h for h in header if header.count(h) > 1}
    for name in sorted(duplicated):
        problems.append(Problem(path, "the column appears more than once", line=header_line,
                                column=name))
    for name in schema["required"]:
        if name not in header:
            problems.append(Problem(path, f"required column is missing (required columns: "
                                    f"{', '.join(schema['required'])})", line=header_line,
                                    column=name))
    if not problems and len(numbered) == 1:
        problems.append(Problem(path, "the sheet has a header but no rows; add one row per "
                                f"{schema_name.replace('_', ' ').removesuffix('s')}",
                                line=header_line))
    if problems:
        return pd.DataFrame(), problems

    validator = jsonschema.Draft202012Validator(schema)
    records = []
    for row_number, (line_number, text) in enumerate(numbered[1:], start=1):
        cells = [c.strip() for c in text.split("\t")]
        if len(cells) > len(header):
            problems.append(Problem(path, f"{len(cells)} fields but the header has "
                                    f"{len(header)} columns", line=line_number, row=row_number))
            continue
        cells += [""] * (len(header) - len(cells))
        record = {name: value for name, value in zip(header, cells, strict=True) if value != ""}
        long = [c for c in NAME_COLUMNS if len(record.get(c, "")) > NAME_LIMIT]
        for column in long:
            problems.append(Problem(path, f"the name has {len(record[column])} characters; at "
                                    f"most {NAME_LIMIT} are allowed (names become file names, "
                                    "which may have at most 255 bytes)", line=line_number,
                                    row=row_number, column=column))
        for error in validator.iter_errors(record):
            if error.validator == "required":
                for missing in [k for k in error.validator_value if k not in record]:
                    problems.append(Problem(path, "a value is required here", line=line_number,
                                            row=row_number, column=missing))
                continue
            column = str(error.absolute_path[0]) if error.absolute_path else None
            if column not in long:
                problems.append(Problem(path, describe_error(error, schema), line=line_number,
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
                 config: dict[str, Any] | None = None,
                 lines: Mapping[tuple[Any, ...], int] | None = None,
                 overrides: Mapping[str, Any] | None = None) -> Project:
    """Load and validate the configuration and both sheets, with the checks across them.

    The sheets' paths (``conditions``, ``cell_features``) are relative to the working
    directory. :func:`nettime.validate.check_project` adds the checks of the models, figures
    and motifs.

    Parameters
    ----------
    config_path
        The configuration file (read unless ``config`` is given).
    config
        An already parsed configuration (Snakemake's ``config``); validated here.
    lines, overrides
        For a given ``config``: the line of each key path in ``config_path``, and the values
        given on the command line (see :func:`validate_config`).

    Raises
    ------
    ConfigError
        With every problem found.
    """
    config_path = str(config_path)
    if config is None:
        config = load_config(config_path)
    else:
        config = validate_config(config, config_path, lines=lines, overrides=overrides)
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
        lambda rec, first: f"duplicate condition {shown(rec['tf'])} in "
                           f"{shown(rec['cell_type'])} (first given in row {first}); each "
                           "(tf, cell_type) pair may appear once")
    problems += _repeated_rows(
        features, features_path, ("cell_type", "assay"), "assay",
        lambda rec, first: f"duplicate assay {rec['assay']} for {rec['cell_type']} (first "
                           f"given in row {first})")
    featured = set(features["cell_type"])
    for rec in conditions.to_dict("records"):
        if rec["cell_type"] not in featured:
            problems.append(Problem(conditions_path, f"cell type {shown(rec['cell_type'])} has "
                                    f"no features in {features_path}; add its assays there "
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
        tfs = [tf for tf in dict.fromkeys(conditions["tf"])
               if re.match(name_pattern, tf) and len(tf) <= NAME_LIMIT]
        for tf in tfs:
            if tf not in motifs:
                rec = conditions[conditions["tf"] == tf].iloc[0]
                problems.append(Problem(conditions_path, f"TF {tf!r} has no motif; the "
                                        f"simulated data set needs one: add '{tf}: <JASPAR "
                                        f"matrix ID or MEME file>' under 'motifs' in "
                                        f"{config_path}", line=int(rec["_line"]),
                                        row=int(rec["_row"]), column="tf"))
    return problems
