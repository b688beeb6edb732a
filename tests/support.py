"""Helpers for tests: paths, free ports, waiting for a listener, child-process
environments. A plain module (not conftest) so test modules can import it by name."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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


def peak_kib(pid: int) -> int:
    """A process's peak resident memory (VmHWM) in KiB."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmHWM in /proc/{pid}/status")
