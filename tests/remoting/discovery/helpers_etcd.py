"""Helpers for the discovery tests: a real etcd server on 127.0.0.1 (ports picked by the
system, data in a temporary folder), the service the child exporters serve, and the
``springpython run`` children themselves. A plain module so that tests and the
children (run with this folder on their path) import it by name."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
#: The high-availability tests' folder: their HostService and LineReader serve here too.
HA = HERE.parent / "ha"
sys.path.insert(0, str(HA))
from helpers_ha import LineReader  # noqa: E402 (the children import helpers_ha.HostService)

HOST = "127.0.0.1"
SERVICE = "Echo"

EXPORTERS = {
    "pyro5": "springpython.remoting.pyro.Pyro5ServiceExporter",
    "pyro4": "springpython.remoting.pyro.Pyro4ServiceExporter",
    "hessian": "springpython.remoting.hessian.HessianServiceExporter",
    "xmlrpc": "springpython.remoting.xmlrpc.XMLRPCServiceExporter",
}


def free_ports(count: int) -> list[int]:
    """Ports that were free a moment ago, picked by the system (etcd cannot report its own)."""
    socks = [socket.socket() for _ in range(count)]
    try:
        for s in socks:
            s.bind((HOST, 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class Etcd:
    """A single-member etcd on 127.0.0.1; stop() and start() again keep its ports and data."""

    def __init__(self, data_dir: Path, tls: dict[str, str] | None = None, *extra: str) -> None:
        binary = shutil.which("etcd")
        if binary is None:
            raise AssertionError("etcd is not installed: apt-get install etcd-server (.ci/run does)")
        self.binary = binary
        self.data_dir = data_dir
        self.client_port, self.peer_port = free_ports(2)
        self.url = f"{'https' if tls else 'http'}://{HOST}:{self.client_port}"
        self.tls = tls
        self.extra = extra
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 20.0) -> "Etcd":
        peer = f"http://{HOST}:{self.peer_port}"
        self.log = open(self.data_dir.parent / f"etcd-{self.client_port}.log", "ab")
        self.proc = subprocess.Popen(
            [self.binary, "--name", "default", "--data-dir", str(self.data_dir),
             "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
             "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
             "--initial-cluster", f"default={peer}", "--logger", "zap", "--log-level", "warn",
             *(f"--{k}={v}" for k, v in (self.tls or {}).items()), *self.extra],
            stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"etcd exited {self.proc.returncode}; see {self.log.name}")
            try:
                if self.tls or self.extra:
                    with socket.create_connection((HOST, self.client_port), timeout=1):
                        return self
                with urllib.request.urlopen(f"{self.url}/health", timeout=1) as reply:
                    if b"true" in reply.read():
                        return self
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"etcd did not become healthy at {self.url} within {timeout}s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self.log.close()


SERVER_XML = """<?xml version="1.0" encoding="UTF-8"?>
<objects xmlns="http://www.springframework.org/springpython/schema/objects/1.1">
    <object id="registry" class="springpython.remoting.discovery.EtcdRegistry">
        <property name="endpoints" value="{etcd}"/>
        <property name="ttl" value="{ttl}"/>
        <property name="prefix" value="{prefix}"/>
    </object>
    <object id="service" class="helpers_ha.HostService">
        <constructor-arg value="{host_id}"/>
        <constructor-arg value="{delay}"/>
    </object>
    <object id="exporter" class="{exporter}">
        <property name="service_name" value="{service}"/>
        <property name="service" ref="service"/>
        <property name="service_host" value="{host}"/>
        <property name="service_port" value="0"/>
        <property name="registry" ref="registry"/>
        <property name="metadata" value="{host_id}"/>
    </object>
</objects>
"""


class Server:
    """One ``python -m springpython run server.xml`` child with its registration."""

    def __init__(self, proc: subprocess.Popen, host_id: str, transport: str, err_path: Path) -> None:
        self.proc = proc
        self.err_path = err_path
        self.host_id = host_id
        self.transport = transport
        self.lines = LineReader(proc)
        self.url = ""
        self.key = ""
        self.registered_at = 0.0

    def wait_registered(self, timeout: float = 30.0) -> "Server":
        """Wait until it serves; its URL and registration key are read from its output."""
        try:
            line = self.lines.wait_for(lambda text: text.startswith("exported exporter: "), timeout)
            self.url = line.split(": ", 1)[1]
            line = self.lines.wait_for(lambda text: text.startswith("registered exporter: "), timeout)
            self.registered_at = time.monotonic()
            self.key = line.rsplit(" as ", 1)[1]
            self.lines.wait_for(lambda text: text.startswith("serving"), timeout)
        except AssertionError as exc:
            raise AssertionError(f"{self.host_id} did not start: {exc}\n{self.err_path.read_text()}") from None
        return self

    def stderr_text(self) -> str:
        return self.err_path.read_text()

    def stop(self) -> None:
        """SIGTERM (a graceful stop) and wait for the exit."""
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(20)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(20)


def start_server(tmp_path: Path, etcd_url: str, prefix: str, host_id: str, transport: str,
                 ttl: int = 2, delay: float = 0.0, service: str = SERVICE) -> Server:
    """Start a child exporter of ``transport`` that registers ``service`` in etcd (not waited for)."""
    from support import python_env

    xml = tmp_path / f"server-{host_id}.xml"
    xml.write_text(SERVER_XML.format(etcd=etcd_url, ttl=ttl, prefix=prefix, host_id=host_id, delay=delay,
                                     exporter=EXPORTERS[transport], service=service, host=HOST))
    err_path = tmp_path / f"server-{host_id}.err"
    with open(err_path, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "springpython", "run", str(xml)], cwd=HERE, env=python_env(HA),
            stdout=subprocess.PIPE, stderr=err,
        )
    return Server(proc, host_id, transport, err_path)


@pytest.fixture(scope="module")
def etcd(tmp_path_factory):
    """One etcd for a module's tests (each test uses its own key prefix)."""
    server = Etcd(tmp_path_factory.mktemp("etcd") / "data").start()
    yield server
    server.stop()
