"""samples/hosting runs as its README says: the same server.xml embedded
(``springpython run``), under gunicorn (``springpython run --workers 2``) and under
uvicorn (``uvicorn app:app``), and the sample client gets the same answers from each."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support import ROOT, free_port, python_env

from helpers_hosting import start, stop

SAMPLE = ROOT / "samples" / "hosting"


@pytest.fixture
def sample(tmp_path) -> tuple[Path, int]:
    """A copy of the sample with port 8000 replaced by a free port."""
    port = free_port()
    for name in ("server.xml", "service.py", "app.py", "client.py"):
        text = (SAMPLE / name).read_text()
        if name in ("server.xml", "client.py"):
            assert "8000" in text
            text = text.replace("8000", str(port))
        (tmp_path / name).write_text(text)
    return tmp_path, port


def run_client(directory: Path) -> list[str]:
    result = subprocess.run([sys.executable, "client.py"], cwd=directory, env=python_env(directory),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


HOSTS = {
    "embedded": ["-m", "springpython", "run", "server.xml"],
    "gunicorn": ["-m", "springpython", "run", "--workers", "2", "server.xml"],
    "uvicorn": ["-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", "{port}"],
}


@pytest.mark.parametrize("host", sorted(HOSTS))
def test_the_sample_serves_the_same_on_every_host(sample, host):
    """The client's answers are the same on every host; only the answering process
    differs (a gunicorn worker, never the command's own process); the server stops
    cleanly on SIGTERM."""
    directory, port = sample
    proc = start([arg.format(port=port) for arg in HOSTS[host]], directory, port)
    try:
        lines = run_client(directory)
    finally:
        code, out, err = stop(proc)
    assert lines[:3] == [
        "CLIENT: Hessian add(20, 22) = 42",
        "CLIENT: XML-RPC add(1.5, 2) = 3.5",
        "CLIENT: div(1, 0) raised ZeroDivisionError: division by zero",
    ]
    pid = int(lines[3].removeprefix("CLIENT: answered by process "))
    assert code in (0, -15), err  # uvicorn re-raises SIGTERM once shut down
    if host == "gunicorn":
        assert pid != proc.pid
        assert f"serving under gunicorn with 2 worker(s) at http://127.0.0.1:{port}" in out
        assert out.rstrip().endswith("stopped")
    else:
        assert pid == proc.pid


def test_sample_readme_names_the_commands():
    """The README shows the three commands the test runs."""
    readme = (SAMPLE / "README.md").read_text()
    for command in ("springpython run server.xml", "springpython run --workers 2 server.xml", "uvicorn app:app"):
        assert command in readme
