"""Fixtures shared by the whole suite: leak checks, a fresh sample PKI, helpers for
servers and child processes."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from support import python_env

from springpython.remoting.registry import live_servers

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
