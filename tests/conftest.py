"""Fixtures shared by the whole suite: leak checks, a fresh sample PKI, helpers for
servers and child processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from springpython.remoting.registry import live_servers

ROOT = Path(__file__).resolve().parent.parent
LEAK_GRACE_SECONDS = 5.0


@pytest.fixture(autouse=True)
def no_leaks(request):
    """Fail a test that leaves a thread running or a shared server listening."""
    before = set(threading.enumerate())
    servers_before = set(live_servers())
    yield
    deadline = time.monotonic() + LEAK_GRACE_SECONDS
    while True:
        threads = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        servers = [s for s in live_servers() if s not in servers_before]
        if not threads and not servers:
            return
        if time.monotonic() > deadline:
            break
        time.sleep(0.02)
    pytest.fail(
        f"{request.node.nodeid} leaked threads {[t.name for t in threads]} "
        f"and servers {servers}",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    """A freshly generated sample PKI (root CA, signing CA, server and client certificates)."""
    from springpython.pki import write_sample_pki

    return write_sample_pki(tmp_path_factory.mktemp("pki"))


def wait_for_port(host: str, port: int, timeout: float = 20.0, proc: subprocess.Popen | None = None) -> None:
    """Return once host:port accepts a TCP connection; fail if ``proc`` dies first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"process exited {proc.returncode} before listening:\n{out}\n{err}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listened on {host}:{port} within {timeout}s")


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (for child processes that cannot report theirs)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def python_env(extra_path: Path | None = None) -> dict[str, str]:
    """The environment for a child Python: this checkout first on the path."""
    env = dict(os.environ)
    parts = [str(ROOT)] + ([str(extra_path)] if extra_path else [])
    if env.get("PYTHONPATH"):
        parts.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(parts)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture
def spawn():
    """Start child Python processes; every one still running is killed after the test."""
    procs: list[subprocess.Popen] = []

    def start(args, cwd=None, **kwargs) -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, *map(str, args)],
            cwd=cwd,
            env=kwargs.pop("env", None) or python_env(Path(cwd) if cwd else None),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            **kwargs,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
