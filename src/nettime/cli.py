"""``nettime <verb>``: the pipeline's steps by hand, outside Snakemake.

Bad input ends with one line per problem on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from nettime import __version__
from nettime.config import ConfigError, load_project
from nettime.genome import DataError


class UsageError(Exception):
    """A problem with the user's input that deserves one clear line, not a traceback."""


def _validate(args: argparse.Namespace) -> int:
    project = load_project(args.config)
    print(f"{args.config}: valid ({len(project.conditions)} conditions, "
          f"{len(project.tfs)} TFs, {len(project.cell_types)} cell types, "
          f"{len(project.cell_features)} cell-type feature tracks)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nettime", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"nettime {__version__}")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    validate = verbs.add_parser("validate", help="check config.yaml and both sample sheets")
    validate.add_argument("--config", default="config/config.yaml",
                          help="configuration file (default: %(default)s)")
    validate.set_defaults(func=_validate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigError as error:
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    except (UsageError, DataError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
