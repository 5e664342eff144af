"""Measurements in processes of their own, so that each peak RSS is its own: a benchmark script
parses its arguments with :func:`parse_or_measure`, which measures and prints the job of a
``--child`` run, and starts each measurement with :func:`measure_in_child`."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable, Mapping


def parse_or_measure(parser: argparse.ArgumentParser,
                     measure: Callable[..., dict]) -> argparse.Namespace | None:
    """The script's arguments; None in a child process, which has printed the JSON line of
    ``measure(**job)`` for the job it was given."""
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(**json.loads(args.child))))
        return None
    return args


def measure_in_child(script: str, job: Mapping[str, object],
                     env: Mapping[str, str] | None = None) -> dict:
    """Run ``script --child JOB`` (``env``: its environment, default this one), print the
    last line it printed, its measurement, and return that measurement."""
    done = subprocess.run([sys.executable, script, "--child", json.dumps(job)],
                          capture_output=True, text=True, check=True, env=env)
    line = done.stdout.strip().splitlines()[-1]
    print(line, flush=True)
    return json.loads(line)
