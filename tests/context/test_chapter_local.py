"""The reference chapter's 8.2.1 example: a bare class name from the running script."""

from __future__ import annotations

import subprocess
import sys

from support import ROOT, python_env


def test_local_sample_runs():
    """samples/local/client.py prints the service's answer, created directly and by the container."""
    sample = ROOT / "samples" / "local"
    result = subprocess.run([sys.executable, "client.py"], cwd=sample, env=python_env(),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["You got remote data => Hello"] * 2
