"""Reading the user's input files literally and safely, and reporting what is wrong with them.

The foundation of :mod:`nettime.config` and :mod:`nettime.validate`: a :class:`Problem` names one
place of one file (line, data row, column or key) and says what is wrong and what is allowed;
:class:`ConfigError` carries every problem found. Text is UTF-8 (a byte-order mark is accepted);
only regular files of a bounded size are read, so a device or a pipe given as a path is refused
instead of read forever. YAML is parsed safely (no tags), a key given twice in one mapping is an
error naming both lines, and aliases may not expand into an unbounded document. Schema errors are
described by what the schema allows ("an integer >= 1, or null"), with ``x-allowed`` hints of
the schema taking precedence.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:  # only annotations here: the model jobs that import this never load it
    import jsonschema

#: Where a value given as ``snakemake --config key=value`` comes from, in messages.
COMMAND_LINE = "command line (--config)"
#: Input text files larger than this are refused (a sample sheet or configuration is small).
MAX_INPUT_BYTES = 64 << 20
#: The most values a configuration may hold once YAML aliases are expanded.
MAX_YAML_VALUES = 200_000


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
            keyed = self.file == COMMAND_LINE or self.file.endswith((".yaml", ".yml", ".json"))
            kind = "key" if keyed else "column"
            parts.append(f"{kind} '{self.column}'")
        return ", ".join(parts) + f": {self.message}"


class ConfigError(Exception):
    """Raised with every problem found in the configuration; ``str()`` gives one line each."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def shown(value: Any, limit: int = 60) -> str:
    """``repr`` of a value for a message, shortened when long (a hostile value may be huge)."""
    if value is None:
        return "null (an empty value)"
    text = repr(value)
    if len(text) <= limit:
        return text
    size = f"{len(value)} characters" if isinstance(value, str) else f"{len(text)} characters"
    return f"{text[:limit - 20]}... ({size})"


def resolve_ref(root: Mapping[str, Any], schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """``schema`` with a local ``$ref`` (``#/$defs/...``) followed, repeatedly."""
    while isinstance(schema, Mapping) and "$ref" in schema:
        node: Any = root
        for part in str(schema["$ref"]).removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def describe_schema(schema: Mapping[str, Any], root: Mapping[str, Any]) -> str:
    """What a schema allows, in words: "an integer >= 1, or null"; ``x-allowed`` wins."""
    schema = resolve_ref(root, schema)
    if not isinstance(schema, Mapping):
        return "a value"
    if "x-allowed" in schema:
        return str(schema["x-allowed"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return ", or ".join(describe_schema(s, root) for s in schema[key])
    if "enum" in schema:
        return "one of " + ", ".join(str(v) for v in schema["enum"])
    kind = schema.get("type")
    if kind in ("integer", "number"):
        bounds = [f"{sign} {schema[key]}" for key, sign in (
            ("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="),
            ("exclusiveMaximum", "<")) if key in schema]
        return " ".join(["an integer" if kind == "integer" else "a number",
                         " and ".join(bounds)]).strip()
    if kind == "array":
        least = int(schema.get("minItems", 0))
        text = "a list" + {0: "", 1: " (not empty)"}.get(least, f" of at least {least} items")
        if "items" in schema:
            text += f", each {describe_schema(schema['items'], root)}"
        return text + (", without repeats" if schema.get("uniqueItems") else "")
    if kind == "object":
        keys = list(schema.get("properties", {}))
        if keys:
            return f"a mapping with keys among {', '.join(keys)}"
        extra = schema.get("additionalProperties")
        if isinstance(extra, Mapping):
            return f"a mapping of names to values, each {describe_schema(extra, root)}"
        return "a mapping"
    words = {"string": "a string" + (f" matching {schema['pattern']!r}"
                                     if "pattern" in schema else ""),
             "boolean": "true or false", "null": "null (an empty value)"}
    return words.get(str(kind), "a value")


def describe_error(error: jsonschema.ValidationError, root: Mapping[str, Any]) -> str:
    """A sentence for a schema error that says what is allowed, not just what failed."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    value = error.instance
    if "propertyNames" in error.relative_schema_path:
        return f"the key {shown(value)} is malformed; allowed: {describe_schema(schema, root)}"
    if "x-allowed" in schema and error.validator in ("pattern", "anyOf", "oneOf"):
        return f"{shown(value)} is malformed; allowed: {schema['x-allowed']}"
    if error.validator == "enum":
        allowed = ", ".join(str(v) for v in error.validator_value)
        return f"{shown(value)} is not allowed; allowed values: {allowed}"
    if error.validator == "required":
        missing = [k for k in error.validator_value if k not in error.instance]
        return f"missing required key(s): {', '.join(missing)}"
    if error.validator == "additionalProperties":
        allowed = list(schema.get("properties", {}))
        extra = [k for k in error.instance if k not in allowed]
        guesses = [g for k in extra for g in difflib.get_close_matches(str(k), allowed, 1)]
        hint = f" (did you mean {', '.join(map(repr, guesses))}?)" if guesses else ""
        return (f"unknown key(s) {', '.join(shown(k) for k in extra)}{hint}; allowed keys: "
                f"{', '.join(allowed)}")
    if error.validator == "uniqueItems":
        repeated = next((v for i, v in enumerate(value) if v in value[:i]), None)
        return f"{shown(repeated)} appears more than once; each item may appear once"
    if error.validator in ("type", "anyOf", "oneOf", "minimum", "maximum", "exclusiveMinimum",
                           "exclusiveMaximum", "minItems", "pattern"):
        return f"{shown(value)} is not valid; expected {describe_schema(schema, root)}"
    return error.message


def error_path(error: jsonschema.ValidationError) -> str:
    """The dotted key of a schema error (``splits.test[0]``); empty at the top level."""
    parts: list[str] = []
    for item in error.absolute_path:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


def read_text(path: str) -> str:
    """The UTF-8 text of an input file (a byte-order mark is dropped).

    Raises
    ------
    ConfigError
        Naming the file when it cannot be read, is not a regular file (a directory, device or
        pipe), is larger than :data:`MAX_INPUT_BYTES`, or is not UTF-8 (naming the line).
    """
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError([Problem(path, "not a regular file (a directory, device or pipe); "
                                       "give the path of a text file")])
        if info.st_size > MAX_INPUT_BYTES:
            raise ConfigError([Problem(path, f"the file has {info.st_size} bytes; an input file "
                                       f"may have at most {MAX_INPUT_BYTES >> 20} MiB")])
        with open(path, "rb") as handle:
            data = handle.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise ConfigError([Problem(path, f"cannot read the file: {exc.strerror}")]) from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError([Problem(path, "the file is UTF-16 text; save it as UTF-8", line=1)])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        at = exc.start - data.rfind(b"\n", 0, exc.start)
        raise ConfigError([Problem(path, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at "
                                   f"character {at} of the line); save the file as UTF-8",
                                   line=line)]) from None


def parse_yaml(text: str, path: str) -> tuple[Any, dict[tuple[Any, ...], int]]:
    """Parse one YAML document safely: its value and the 1-based line of each key path.

    Raises
    ------
    ConfigError
        A syntax error or a tag (naming the line), a key given twice in one mapping (naming
        both lines), or aliases that expand to more than :data:`MAX_YAML_VALUES` values.
    """
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        problems = _node_problems(root, path) if root is not None else []
        if problems:
            raise ConfigError(problems)
        value = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        raise ConfigError([_yaml_problem(exc, path)]) from None
    except RecursionError:
        raise ConfigError([Problem(path, "the YAML is nested too deeply to read")]) from None
    finally:
        loader.dispose()
    lines: dict[tuple[Any, ...], int] = {}

    def walk(node: yaml.Node, key_path: tuple[Any, ...]) -> None:
        lines.setdefault(key_path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                lines[key_path + (key_node.value,)] = key_node.start_mark.line + 1
                walk(value_node, key_path + (key_node.value,))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, key_path + (index,))

    if root is not None:
        walk(root, ())
    return value, lines


def _node_problems(root: yaml.Node, path: str) -> list[Problem]:
    """Keys given twice in one mapping; an alias bomb (sizes are counted once per node)."""
    problems, sizes = [], {}

    def size(node: yaml.Node) -> int:
        if id(node) not in sizes:
            sizes[id(node)] = 0  # a recursive alias counts once
            children = ([n for pair in node.value for n in pair]
                        if isinstance(node, yaml.MappingNode) else
                        node.value if isinstance(node, yaml.SequenceNode) else [])
            sizes[id(node)] = 1 + sum(size(child) for child in children)
            if isinstance(node, yaml.MappingNode):
                first: dict[tuple[str, str], int] = {}
                for key, _ in node.value:
                    if not isinstance(key, yaml.ScalarNode) or key.value == "<<":
                        continue
                    line = key.start_mark.line + 1
                    if (key.tag, key.value) in first:
                        problems.append(Problem(path, f"the key {shown(key.value)} is given "
                                                f"twice in one mapping (lines "
                                                f"{first[key.tag, key.value]} and {line}); "
                                                "remove one", line=line))
                    first.setdefault((key.tag, key.value), line)
        return min(sizes[id(node)], MAX_YAML_VALUES + 1)

    if size(root) > MAX_YAML_VALUES:
        problems.append(Problem(path, f"the YAML expands (through its aliases) to more than "
                                f"{MAX_YAML_VALUES} values", line=1))
    return problems


def _yaml_problem(exc: yaml.YAMLError, path: str) -> Problem:
    mark = getattr(exc, "problem_mark", None)
    reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context, since = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and since is not None and mark is not None and since.line != mark.line:
        reason += f" ({context} that starts on line {since.line + 1})"
    if "'\\t'" in reason:
        reason += "; YAML indents with spaces, not tabs"
    if "constructor for the tag" in reason:
        reason += "; tags (!!python/..., !name) are not allowed in a configuration"
    return Problem(path, f"not valid YAML: {reason}",
                   line=mark.line + 1 if mark is not None else None)


def overridden(overrides: Mapping[str, Any] | None, key_path: Sequence[Any]) -> bool:
    """Whether the value at ``key_path`` was set by ``snakemake --config`` (``overrides``)."""
    node: Any = overrides or {}
    for key in key_path:
        if not isinstance(node, Mapping):
            return True
        if key not in node:
            return False
        node = node[key]
    return bool(key_path) and not isinstance(node, Mapping)


def attribute(problems: Iterable[Problem], path: str,
              overrides: Mapping[str, Any] | None) -> list[Problem]:
    """Problems of ``path`` whose key came from ``snakemake --config``, blamed on it."""
    out = []
    for problem in problems:
        keys = re.findall(r"[^.\[\]]+", problem.column or "")
        keys = [int(k) if k.isdigit() else k for k in keys]
        if problem.file == path and keys and overridden(overrides, keys):
            problem = Problem(COMMAND_LINE, problem.message, column=problem.column)
        out.append(problem)
    return out
