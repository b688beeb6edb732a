"""Start and stop hosting servers as child processes (a plain module, imported by name)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from support import python_env, wait_for_port


def start(args: list[str], cwd: Path, port: int, env: dict[str, str] | None = None) -> subprocess.Popen:
    """A child process serving on 127.0.0.1:port, returned once it accepts connections."""
    proc = subprocess.Popen([sys.executable, *args], cwd=cwd, env=env or python_env(cwd),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_port("127.0.0.1", port, proc=proc)
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    return proc


def stop(proc: subprocess.Popen) -> tuple[int, str, str]:
    """SIGTERM the process and wait for it; its exit status and output."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    return proc.returncode, out, err


def gunicorn_args(port: int, *extra: str) -> list[str]:
    return ["-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "--no-control-socket",
            "-c", "python:springpython.hosting.gunicorn_config", *extra,
            'springpython.hosting:wsgi_app("server.xml")']


def uvicorn_args(port: int) -> list[str]:
    return ["-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", str(port), "--lifespan", "on",
            "--log-level", "warning"]
