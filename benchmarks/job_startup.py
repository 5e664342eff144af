"""What a model job spends before its work: the CPU seconds of importing the module a
`train_model` or `predict` job runs, in fresh interpreters, as the job's script does.

Side by side in one run, for each job module: the import as it is, and the same import with
``pandas`` and ``jsonschema`` loaded first (what each model job would pay if the configuration,
genome and data-set modules, which it shares with the evaluation jobs, imported them at module
level). Prints the median over
``--repeats`` interlaced runs and the ratio, with the CPU model.

Then the parts of a model job's start-up, each in fresh interpreters: the interpreter alone,
``import torch``, the training module, and the training module with a first optimiser step
(``torch.optim`` imports ``torch._dynamo`` on an optimiser's first use, so every training job
pays for it once, before its first batch).

    python benchmarks/job_startup.py --repeats 7
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys

from default_run import cpu_model

#: The modules the model rules' scripts load (through nettime.baselines.kinds) per kind.
JOB_MODULES = {
    "train_model (NetTIME)": "nettime.models.fit",
    "predict (NetTIME)": "nettime.models.prediction",
    "train/predict (Leopard-style)": "nettime.baselines.leopard",
    "train/predict (DeepBind-style)": "nettime.baselines.deepbind",
}
#: The parts of a training job's start-up, each measured on its own.
STARTUP_PARTS = {
    "interpreter alone": "pass",
    "import torch": "import torch",
    "import nettime.models.fit": "import nettime.models.fit",
    "  + first Adam step": ("import nettime.models.fit, torch; "
                            "p = torch.zeros(1, requires_grad=True); p.sum().backward(); "
                            "torch.optim.Adam([p]).step()"),
}
#: Loaded first in the comparison arm: what the model jobs' modules leave to the functions that
#: read sheets, check configurations and make data frames.
FORMERLY_EAGER = ("pandas", "jsonschema")


def import_cpu_seconds(statement: str) -> float:
    """CPU seconds (user + system) of a fresh interpreter that runs ``statement``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", statement], check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    print(f"CPU: {cpu_model()}; median of {args.repeats} fresh interpreters per cell")
    print(f"{'job module':34} {'as is (s)':>10} {'+ ' + ', '.join(FORMERLY_EAGER) + ' (s)':>26}"
          f" {'ratio':>6}")
    eager = "; ".join(f"import {name}" for name in FORMERLY_EAGER)
    for label, module in JOB_MODULES.items():
        plain, loaded = [], []
        for _ in range(args.repeats):  # interlaced, so that drift in load hits both arms
            plain.append(import_cpu_seconds(f"import {module}"))
            loaded.append(import_cpu_seconds(f"{eager}; import {module}"))
        a, b = statistics.median(plain), statistics.median(loaded)
        print(f"{label:34} {a:10.2f} {b:26.2f} {a / b:6.2f}")
    print(f"\n{'start-up of a training job':34} {'CPU s':>10}")
    seconds: dict[str, list[float]] = {label: [] for label in STARTUP_PARTS}
    for _ in range(args.repeats):
        for label, statement in STARTUP_PARTS.items():
            seconds[label].append(import_cpu_seconds(statement))
    for label, values in seconds.items():
        print(f"{label:34} {statistics.median(values):10.2f}")


if __name__ == "__main__":
    main()
