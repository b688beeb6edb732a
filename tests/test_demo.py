"""`springpython demo`: every transport answers through its configured proxy."""

from __future__ import annotations

import subprocess
import sys

from support import python_env

from springpython.demo import LABELS


def test_demo_answers_over_every_transport():
    """The demo prints a result from every transport, stops every exporter and exits 0."""
    result = subprocess.run([sys.executable, "-m", "springpython", "demo"], env=python_env(),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for label in [*LABELS.values(), "Pyro4"]:
        line = next(line for line in lines if line.startswith(label + " "))
        assert "'Hello, World!'" in line, line
    assert sum(line.startswith("exported ") for line in lines) == 5
    assert lines[-1] == "all exporters stopped"
