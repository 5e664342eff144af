"""``nettime <verb>``: the pipeline's steps by hand, outside Snakemake.

Bad input ends with one line per problem on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from nettime import __version__
from nettime.config import ConfigError, load_project


class UsageError(Exception):
    """A problem with the user's input that deserves one clear line, not a traceback."""


def _validate(args: argparse.Namespace) -> int:
    project = load_project(args.config)
    print(f"{args.config}: valid ({len(project.conditions)} conditions, "
          f"{len(project.tfs)} TFs, {len(project.cell_types)} cell types, "
          f"{len(project.cell_features)} cell-type feature tracks)")
    return 0


# ---- encode (issue 3) ----------------------------------------------------------------------
def _encode_resolve(args: argparse.Namespace) -> int:
    from nettime import encode

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    project = load_project(args.config)
    entries = encode.resolve_project(project, args.resources, refresh=args.refresh or None,
                                     out=args.out)
    for entry in entries:
        print(f"{entry.key}\t{entry.role}\t{entry.experiment}\t{entry.accession}\t"
              f"{entry.output_type}\t{entry.note}")
    return 0


def _encode_download(args: argparse.Namespace) -> int:
    from nettime import encode

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    project = load_project(args.config)
    if args.key:
        if not args.role:
            raise UsageError("--key needs --role (conserved, relaxed, peaks, signal, genome or "
                             "blacklist)")
        pairs = [(args.key, args.role)]
    else:
        pairs = [(w.key, role) for w in encode.wanted_from_project(project) for role in w.roles]
    for key, role in pairs:
        for path in encode.acquire(project, key, role, args.resources, table=args.table):
            print(path)
    return 0


def _add_encode(verbs: argparse._SubParsersAction) -> None:
    encode = verbs.add_parser("encode", help="resolve and download ENCODE files (source: encode)")
    actions = encode.add_subparsers(dest="action", required=True, metavar="ACTION")
    resolve = actions.add_parser("resolve", help="resolve accessions and update the lock table")
    download = actions.add_parser("download", help="download and verify locked files")
    for sub in (resolve, download):
        sub.add_argument("--config", default="config/config.yaml",
                         help="configuration file (default: %(default)s)")
        sub.add_argument("--resources", default="resources/encode",
                         help="acquisition directory (default: %(default)s)")
    resolve.add_argument("--refresh", action="store_true",
                         help="resolve every file afresh instead of reusing lock.tsv")
    resolve.add_argument("--out", help="also write this project's entries to this TSV")
    resolve.set_defaults(func=_encode_resolve)
    download.add_argument("--key", help="one condition (TF.cell), feature (cell.assay), "
                          "'genome' or 'blacklist'; default: every file of the project")
    download.add_argument("--role", help="the role of --key's file")
    download.add_argument("--table", help="lock table to read (default: RESOURCES/lock.tsv)")
    download.set_defaults(func=_encode_download)
# ---- end encode ------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nettime", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"nettime {__version__}")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    validate = verbs.add_parser("validate", help="check config.yaml and both sample sheets")
    validate.add_argument("--config", default="config/config.yaml",
                          help="configuration file (default: %(default)s)")
    validate.set_defaults(func=_validate)
    _add_encode(verbs)
    return parser


def _encode_error() -> type[Exception]:
    from nettime.encode import EncodeError

    return EncodeError


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigError as error:
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    except (UsageError, FileNotFoundError, _encode_error()) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
