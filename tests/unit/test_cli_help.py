"""``rebalance --help`` imports no sub-command: none of cvxpy, pandas, scipy (seconds of start-up)."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
from cli.main import app
try:
    app(["--help"])
except SystemExit:
    pass
heavy = ("cvxpy", "pandas", "scipy", "numpy", "sklearn", "faststream", "services")
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in heavy)))
"""


def test_help_imports_no_heavy_module() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True)
    assert "runs" in done.stdout and "plan" in done.stdout  # every command is listed with its help
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_a_command_still_loads_its_module() -> None:
    probe = PROBE.replace('["--help"]', '["tax", "--help"]')
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert "realized" in done.stdout
