"""The same server.xml (samples/hosting) served by gunicorn with 2 worker processes
(``springpython run --workers 2``) against the embedded threaded server
(``springpython run``): 8 client processes make short XML-RPC calls on keep-alive
connections for a fixed time. On a 2-core machine the clients share the cores with
the server, so the ratio is printed, with no target."""

from __future__ import annotations

import os
import shutil
import signal
import socket
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
    server = subprocess.Popen([sys.executable, "-m", "springpython", "-q", *command], cwd=directory,
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
    directory = Path(tempfile.mkdtemp(prefix="bench-hosting-"))
    try:
        port = _free_port()
        for name in ("server.xml", "service.py"):
            (directory / name).write_text((SAMPLE / name).read_text().replace("8000", str(port)))
        embedded = _calls_per_second(directory, ["run", "server.xml"], port, seconds)
        gunicorn = _calls_per_second(directory, ["run", "--workers", "2", "server.xml"], port, seconds)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return [Result(GROUP, f"XML-RPC add, {CLIENTS} client processes: gunicorn 2 workers vs embedded",
                   gunicorn, embedded, "calls/s", None, baseline_name="embedded")]
