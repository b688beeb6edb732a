"""The same server.xml (samples/hosting) served by gunicorn with 2 worker processes
against the embedded threaded server (``springpython run``): 8 client processes make
short XML-RPC calls on keep-alive connections for a fixed time. Two gunicorn rows:
``springpython run --workers 2`` (springpython's worker: the embedded server in each
worker process; expected above 1) and gunicorn's own ``gthread`` worker running
``wsgi_app`` (printed for comparison, no target). On a 2-core machine the clients
share the cores with the servers. Each server is measured in alternating rounds and
the median taken, so a noisy moment does not fall on one of them alone."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._harness import Result

GROUP = "hosting"
ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "hosting"
CLIENTS = 8

# Each client connects and calls once, says "ready", waits for "go" on stdin, then
# calls for the given seconds and prints how many calls it made.
CLIENT = """\
import sys, time
from springpython.remoting.xmlrpc import XMLRPCProxyFactory
url, seconds = sys.argv[1], float(sys.argv[2])
proxy = XMLRPCProxyFactory(service_url=url)
proxy.add(1, 2)
print("ready", flush=True)
sys.stdin.readline()
calls, end = 0, time.monotonic() + seconds
while time.monotonic() < end:
    proxy.add(1, 2)
    calls += 1
print(calls, flush=True)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(directory: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(directory), *filter(None, [env.get("PYTHONPATH")])])
    return env


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listened on 127.0.0.1:{port} within {timeout}s")


def _calls_per_second(directory: Path, command: list[str], port: int, seconds: float) -> float:
    server = subprocess.Popen([sys.executable, "-m", *command], cwd=directory,
                              env=_env(directory), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_port(port, server)
        url = f"http://127.0.0.1:{port}/RPC2"
        clients = [subprocess.Popen([sys.executable, "-c", CLIENT, url, str(seconds)], env=_env(directory),
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                   for _ in range(CLIENTS)]
        for client in clients:  # every client imported, connected and served once
            assert client.stdout is not None and client.stdout.readline().strip() == "ready"
        for client in clients:
            assert client.stdin is not None
            client.stdin.write("go\n")
            client.stdin.flush()
        total = sum(int(client.communicate()[0]) for client in clients)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    return total / seconds


def run(quick: bool = False) -> list[Result]:
    seconds = 1.0 if quick else 3.0
    rounds = 1 if quick else 3
    directory = Path(tempfile.mkdtemp(prefix="bench-hosting-"))
    try:
        port = _free_port()
        for name in ("server.xml", "service.py"):
            (directory / name).write_text((SAMPLE / name).read_text().replace("8000", str(port)))
        servers = {
            "embedded": ["springpython", "-q", "run", "server.xml"],
            "worker": ["springpython", "-q", "run", "--workers", "2", "server.xml"],
            "gthread": ["gunicorn", "-w", "2", "-k", "gthread", "--threads", "8", "-b", f"127.0.0.1:{port}",
                        "--no-control-socket", "-c", "python:springpython.hosting.gunicorn_config",
                        'springpython.hosting:wsgi_app("server.xml")'],
        }
        rates: dict[str, list[float]] = {name: [] for name in servers}
        for _ in range(rounds):
            for name, command in servers.items():
                rates[name].append(_calls_per_second(directory, command, port, seconds))
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    embedded, worker, gthread = (statistics.median(rates[name]) for name in ("embedded", "worker", "gthread"))
    return [
        Result(GROUP, f"XML-RPC add, {CLIENTS} client processes: springpython run --workers 2 vs embedded",
               worker, embedded, "calls/s", 1.0, baseline_name="embedded"),
        Result(GROUP, f"XML-RPC add, {CLIENTS} client processes: gunicorn gthread 2 workers x 8 threads vs embedded",
               gthread, embedded, "calls/s", None, baseline_name="embedded"),
    ]
