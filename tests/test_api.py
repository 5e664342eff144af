"""The documented Python API (docs/api.md): its example runs as written and learns the planted
signal; a finished training run is reported, not repeated."""

import re
import subprocess
import sys

from helpers import ROOT


def test_the_documented_example_runs_and_learns(tmp_path):
    text = (ROOT / "docs/api.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, flags=re.S).group(1)
    (tmp_path / "example.py").write_text(code)
    run = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "trained 60 steps" in run.stdout
    auprc = float(run.stdout.split()[-1])
    # About 16% of the bases are bound; a model that reads the track scores far above that.
    assert auprc > 0.5, run.stdout
    again = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, capture_output=True,
                           text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "nothing to do" in again.stderr
