"""Discovery through etcd: what following a registry costs a pool, and how fast the
pool sees servers come and go.

A real etcd (a child process on 127.0.0.1, data in a temporary folder) and three
``springpython run`` servers (Pyro5) that register in it.

- Throughput while nothing changes, target >= 0.95: a pool built from the registry
  (``registry`` + ``service_name``) against a pool built from a fixed list of the same
  three URLs, from one thread and from four, in alternating slices as in
  ``bench_ha``.
- New registration -> first call: a fourth server starts while a pool is called in a
  loop; the time from its registration (its ``registered`` line) to the first answer
  from it, against a fresh proxy's first call (connect and call) to it: printed, no
  target (the watch adds milliseconds; the figure is mostly process scheduling).
- SIGKILL -> last call sent to the dead server: the last attempt the pool made on it
  (every attempt after the kill is a refused connection) against the lease's TTL,
  target <= 1.0: the pool stops trying a dead server once its lease ends."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from benchmarks._harness import Result
from benchmarks.bench_ha import ROOT, THREADS, _alternating, _alternating_threads
from springpython.remoting.discovery import EtcdRegistry
from springpython.remoting.ha import HighAvailabilityProxyFactory
from springpython.remoting.pyro import PyroProxyFactory

TTL = 2
PREFIX = "/bench/"

_SERVER_XML = """<?xml version="1.0" encoding="UTF-8"?>
<objects xmlns="http://www.springframework.org/springpython/schema/objects/1.1">
    <object id="registry" class="springpython.remoting.discovery.EtcdRegistry">
        <property name="endpoints" value="{etcd}"/>
        <property name="ttl" value="{ttl}"/>
        <property name="prefix" value="{prefix}"/>
    </object>
    <object id="service" class="benchmarks.bench_ha.Host"><constructor-arg value="{name}"/></object>
    <object id="exporter" class="springpython.remoting.pyro.PyroServiceExporter">
        <property name="service_name" value="Bench"/>
        <property name="service" ref="service"/>
        <property name="service_host" value="127.0.0.1"/>
        <property name="service_port" value="0"/>
        <property name="registry" ref="registry"/>
    </object>
</objects>
"""


def _free_ports(count: int) -> list[int]:
    socks = [socket.socket() for _ in range(count)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _start_etcd(directory: Path) -> tuple[subprocess.Popen, str]:
    binary = shutil.which("etcd")
    if binary is None:
        raise RuntimeError("etcd is not installed (apt-get install etcd-server)")
    client, peer = _free_ports(2)
    url, peer_url = f"http://127.0.0.1:{client}", f"http://127.0.0.1:{peer}"
    proc = subprocess.Popen(
        [binary, "--data-dir", str(directory / "etcd"), "--listen-client-urls", url, "--advertise-client-urls", url,
         "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
         "--initial-cluster", f"default={peer_url}", "--log-level", "error", "--logger", "zap"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1):
                return proc, url
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("etcd did not start")


class _Server:
    """One ``springpython run`` child that registers Host(name) in etcd."""

    def __init__(self, directory: Path, etcd: str, name: str) -> None:
        self.xml = directory / f"{name}.xml"
        self.xml.write_text(_SERVER_XML.format(etcd=etcd, ttl=TTL, prefix=PREFIX, name=name))
        self.name = name
        self.url = ""
        self.registered = 0.0
        import os

        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "springpython", "run", str(self.xml)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )

    def wait(self) -> "_Server":
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("exported exporter: "):
                self.url = line.split(": ", 1)[1].strip()
            if line.startswith("registered exporter: "):
                self.registered = time.monotonic()
            if line.startswith("serving"):
                return self
        raise RuntimeError(f"server {self.name} exited with {self.proc.wait()} before serving")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def _throughput(servers: list[_Server], registry: EtcdRegistry, quick: bool) -> list[Result]:
    seconds = 1.0 if quick else 8.0
    fixed = HighAvailabilityProxyFactory(service_pool=[PyroProxyFactory(service_url=s.url) for s in servers])
    found = HighAvailabilityProxyFactory(registry=registry, service_name="Bench")
    try:
        assert {found.whoami() for _ in range(6)} == {s.name for s in servers}
        b1, p1 = _alternating(fixed.whoami, found.whoami, seconds)
        bt, pt = _alternating_threads(fixed.whoami, found.whoami, THREADS, seconds, rounds=4 if quick else 16)
    finally:
        fixed.destroy()
        found.destroy()
    base = "the same pool from a fixed list of the 3 URLs"
    return [
        Result("discovery", "pool from etcd, 3 servers, 1 thread", p1, b1, "calls/s", 0.95, baseline_name=base),
        Result("discovery", f"pool from etcd, 3 servers, {THREADS} threads", pt, bt, "calls/s", 0.95,
               baseline_name=base),
    ]


def _changes(directory: Path, etcd: str, servers: list[_Server], registry: EtcdRegistry) -> list[Result]:
    pool = HighAvailabilityProxyFactory(registry=registry, service_name="Bench", idempotent=True,
                                        retry_interval=0.05, max_retry_interval=0.2)
    answers: list[tuple[float, str]] = []
    stop = threading.Event()

    def caller() -> None:
        while not stop.is_set():
            answers.append((time.monotonic(), pool.whoami()))

    thread = threading.Thread(target=caller)
    late = _Server(directory, etcd, "late")
    try:
        thread.start()
        late.wait()
        deadline = time.monotonic() + 10
        first = None
        while first is None and time.monotonic() < deadline:
            first = next((at for at, who in list(answers) if who == "late"), None)
            time.sleep(0.001)
        if first is None:
            raise RuntimeError("the new server got no call within 10 s")
        joined = first - late.registered
        fresh = PyroProxyFactory(service_url=late.url)
        start = time.perf_counter()
        fresh.whoami()
        connect = time.perf_counter() - start
        fresh.destroy()

        victim = servers[0]
        victim.kill()
        killed = time.monotonic()
        deadline = killed + TTL + 10
        last = None  # the dead server's state as last seen in the pool, before it was dropped
        while True:
            state = {s.name: s for s in pool.endpoint_states()}.get(victim.url)
            if state is None:
                break
            last = state
            if time.monotonic() > deadline:
                raise RuntimeError("the pool kept the dead server after its lease")
            time.sleep(0.002)
    finally:
        stop.set()
        if thread.ident is not None:
            thread.join()
        pool.destroy()
        late.stop()
    last_attempt = (last.last_failure or killed) - killed if last is not None else 0.0
    ms = 1000.0
    print(f"discovery: registration -> first call {joined * ms:.1f} ms; "
          f"SIGKILL -> last call to the dead server {last_attempt * ms:.0f} ms (TTL {TTL} s)", file=sys.stderr)
    return [
        Result("discovery", "new registration -> first call to it", joined * ms, connect * ms, "ms", None,
               higher_is_better=False, baseline_name="a fresh proxy's connect + first call"),
        Result("discovery", "SIGKILL -> last call sent to the dead server", last_attempt * ms, TTL * ms, "ms", 1.0,
               higher_is_better=False, baseline_name="the lease's TTL"),
    ]


def run(quick: bool = False) -> list[Result]:
    """Throughput of a pool from etcd against one from a fixed list; join and leave times."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        etcd, url = _start_etcd(directory)
        registry = EtcdRegistry(endpoints=url, ttl=TTL, prefix=PREFIX)
        servers: list[_Server] = []
        try:
            servers = [_Server(directory, url, f"s{i}") for i in range(3)]
            for server in servers:
                server.wait()
            results = _throughput(servers, registry, quick)
            results += _changes(directory, url, servers, registry)
        finally:
            for server in servers:
                server.stop()
            registry.destroy()
            etcd.terminate()
            etcd.wait(10)
    return results
