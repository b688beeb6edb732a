"""The reference chapter's Pyro examples (8.2.2 to 8.2.5 and 8.4) on Python 3.

Ports: no test uses a fixed port. Every example that names one (or, like 8.2.2,
relies on the default 7766) runs from a copy whose only change is that port,
replaced by a free one chosen by the test; in-process tests use ports the test
picks at run time."""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

import pytest
from support import ROOT, free_port, wait_for_port
from helpers_pyro import Inspector, Service, read_line

from springpython.config import XMLConfig
from springpython.context import ApplicationContext
from springpython.remoting.pyro import PyroProxyFactory, PyroServiceExporter

SAMPLES = ROOT / "samples"
HOST = "127.0.0.1"


def copy_with_port(src: Path, dst: Path, port: int, rewrite: tuple[str, ...], sample_port: str = "7000") -> None:
    """Copy a sample directory, replacing its port by ``port`` in the ``rewrite`` files only
    (and the relative path of the sample certificates by their absolute path)."""
    dst.mkdir(parents=True, exist_ok=True)
    for path in src.iterdir():
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            if path.name in rewrite:
                assert sample_port in text
                text = text.replace(sample_port, str(port))
                text = text.replace("../../certs/", f"{SAMPLES / 'certs'}/")
            (dst / path.name).write_text(text, encoding="utf-8")


def interrupt(proc, timeout: float = 30.0) -> tuple[str, str]:
    """Press Ctrl-C in the child and collect what it printed."""
    proc.send_signal(signal.SIGINT)
    return proc.communicate(timeout=timeout)


# -- the sample files are the chapter's ------------------------------------------


def test_pyro4_sample_differs_by_the_chapters_three_changes():
    """samples/pyro4 is samples/pyro with 8.2.5's three replacements and nothing else."""
    for name in ("server.xml", "server.py", "client.xml", "client.py"):
        original = (SAMPLES / "pyro" / name).read_text()
        changed = (
            original.replace("pyro.PyroProxyFactory", "pyro.Pyro4ProxyFactory")
            .replace("pyro.PyroServiceExporter", "pyro.Pyro4ServiceExporter")
            .replace("PYROLOC://127.0.0.1:7000/ServiceName", "PYRO:ServiceName@127.0.0.1:7000")
        )
        assert (SAMPLES / "pyro4" / name).read_text() == changed


# -- running them ------------------------------------------------------------------


def test_8_2_2_exporter_and_proxy_in_one_context(spawn, tmp_path):
    """The 8.2.2 context (PYROLOC://localhost:7766, on a free port instead) calls the service through Pyro."""
    port = free_port()
    xml = (SAMPLES / "pyro" / "applicationContext.xml").read_text()
    assert xml.count("localhost:7766") == 1 and "service_port" not in xml
    xml = xml.replace("localhost:7766", f"localhost:{port}").replace(
        '<property name="service" ref="remoteService"/>',
        f'<property name="service" ref="remoteService"/><property name="service_port" value="{port}"/>',
    )
    (tmp_path / "applicationContext.xml").write_text(xml)
    shutil.copy(SAMPLES / "pyro" / "one_process.py", tmp_path)
    proc = spawn(["one_process.py"], cwd=tmp_path)
    assert read_line(proc) == "You got remote data => Hello"
    interrupt(proc)
    assert proc.returncode is not None


def test_8_2_2_1_host_and_port_overrides(spawn, tmp_path):
    """8.2.2.1's overrides (service_host/service_port and the matching URL) work."""
    port = free_port()
    xml = (SAMPLES / "pyro" / "overrides" / "applicationContext.xml").read_text()
    (tmp_path / "applicationContext.xml").write_text(xml.replace("7000", str(port)))
    shutil.copy(SAMPLES / "pyro" / "one_process.py", tmp_path)
    proc = spawn(["one_process.py"], cwd=tmp_path)
    assert read_line(proc) == "You got remote data => Hello"
    interrupt(proc)


def test_8_2_4_server_and_client_in_two_processes(spawn, tmp_path):
    """server.py serves in one process, client.py calls it from another, Ctrl-C stops the server."""
    port = free_port()
    copy_with_port(SAMPLES / "pyro", tmp_path, port, ("server.xml", "client.xml"))
    server = spawn(["server.py"], cwd=tmp_path)
    wait_for_port(HOST, port, proc=server)
    client = spawn(["client.py"], cwd=tmp_path)
    out, err = client.communicate(timeout=60)
    assert client.returncode == 0, err
    assert out.splitlines() == ["CLIENT: You got remote data => Hello"]
    assert "springpython.config.xml - DEBUG - * Parsing client.xml" in err
    _, server_log = interrupt(server)
    assert server.returncode == 0, server_log
    assert f"exported ServiceName at PYRO:ServiceName@{HOST}:{port}" in server_log
    assert f"stopped PYRO:ServiceName@{HOST}:{port}" in server_log


def test_server_whose_main_code_fails_does_not_keep_serving(spawn, tmp_path):
    """A program whose main code ends with an exception exits at once, taking its exporters down."""
    port = free_port()
    copy_with_port(SAMPLES / "pyro", tmp_path, port, ("server.xml",))
    (tmp_path / "failing.py").write_text(
        "from springpython.config import XMLConfig\n"
        "from springpython.context import ApplicationContext\n"
        "appContext = ApplicationContext(XMLConfig('server.xml'))\n"
        "raise RuntimeError('main code failed')\n"
    )
    proc = spawn(["failing.py"], cwd=tmp_path)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "RuntimeError: main code failed" in err


def test_8_2_5_pyro4_two_processes(spawn, tmp_path):
    """The Pyro4 variant of the two-process sample works the same way."""
    port = free_port()
    copy_with_port(SAMPLES / "pyro4", tmp_path, port, ("server.xml", "client.xml"))
    server = spawn(["server.py"], cwd=tmp_path)
    wait_for_port(HOST, port, proc=server)
    client = spawn(["client.py"], cwd=tmp_path)
    out, err = client.communicate(timeout=60)
    assert client.returncode == 0, err
    assert out.splitlines() == ["CLIENT: You got remote data => Hello"]
    _, server_log = interrupt(server)
    assert server.returncode == 0, server_log
    assert f"exported ServiceName at PYRO:ServiceName@{HOST}:{port}" in server_log
    assert "Traceback" not in server_log


def test_tls_sample_in_two_processes(spawn, tmp_path):
    """samples/pyro/tls: the two processes over mutually authenticated TLS with the sample PKI."""
    port = free_port()
    copy_with_port(SAMPLES / "pyro" / "tls", tmp_path, port, ("server.xml", "client.xml"), "7001")
    server = spawn(["server.py"], cwd=tmp_path)
    wait_for_port(HOST, port, proc=server)
    client = spawn(["client.py"], cwd=tmp_path)
    out, err = client.communicate(timeout=60)
    assert client.returncode == 0, err
    assert out.splitlines() == ["CLIENT: You got remote data => Hello"]
    _, server_log = interrupt(server)
    assert server.returncode == 0, server_log
    assert "Traceback" not in server_log


def test_8_2_3_programmatic_sample(spawn, tmp_path):
    """samples/programmatic/programmatic.py exports, calls and exits on its own."""
    port = free_port()
    copy_with_port(SAMPLES / "programmatic", tmp_path, port, ("programmatic.py",))
    proc = spawn(["programmatic.py"], cwd=tmp_path)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.splitlines() == ["You got remote data => Hello"]


def test_8_2_3_programmatic_in_process():
    """The 8.2.3 steps: setter injection, after_properties_set, a proxy by service_url."""
    port = free_port()
    remoteService = Service()
    service_exporter = PyroServiceExporter()
    service_exporter.service_name = "ServiceName"
    service_exporter.service = remoteService
    service_exporter.service_host = "127.0.0.1"
    service_exporter.service_port = port
    service_exporter.after_properties_set()
    service = PyroProxyFactory()
    service.service_url = "PYROLOC://127.0.0.1:%d/ServiceName" % port
    try:
        assert service.get_data("Hello") == "You got remote data => Hello"
    finally:
        service.destroy()
        service_exporter.destroy()


class HighAvailabilityService(object):
    """The chapter's round-robin sketch, as printed."""

    def __init__(self, service_pool):
        self.service_pool = service_pool
        self.index = 0

    def get_data(self, param):
        self.index = (self.index + 1) % len(self.service_pool)
        try:
            return self.service_pool[self.index].get_data(param)
        except:  # noqa: E722 - the chapter's code
            del (self.service_pool[i])  # noqa: F821 - the chapter's code (never reached here)
            return self.get_data(param)


def test_8_4_pool_of_ten_exporters_on_one_port():
    """Ten exporters share one daemon; ten proxies reach them round-robin."""
    port = free_port()
    pool = []
    for i in range(10):
        service_exporter = PyroServiceExporter(service_name="ServiceName%s" % i, service=Service(),
                                               service_host=HOST, service_port=port)
        pool.append(service_exporter)
    services = []
    try:
        for exporter in pool:  # 8.2.3's note: after_properties_set puts each one on the network
            exporter.after_properties_set()
        assert len({id(e._server) for e in pool}) == 1
        for i in range(10):
            services.append(PyroProxyFactory(service_url="PYROLOC://%s:%d/ServiceName%s" % (HOST, port, i)))
        service = HighAvailabilityService(service_pool=services)
        assert service.get_data("Hello") == "You got remote data => Hello"
        assert service.get_data("World") == "You got remote data => World"
        assert [s.connections for s in services[:3]] == [0, 1, 1]
    finally:
        for proxy in services:
            proxy.destroy()
        for exporter in pool:
            exporter.destroy()


CONTEXT = """<?xml version="1.0" encoding="UTF-8"?>
<objects xmlns="http://www.springframework.org/springpython/schema/objects/1.1">
    <object id="inspector" class="helpers_pyro.Inspector"/>
    <object id="remoteService" class="helpers_pyro.Service"/>
    <object id="service_exporter" class="springpython.remoting.pyro.PyroServiceExporter">
        <property name="service_name" value="ServiceName"/>
        <property name="service" ref="remoteService"/>
        <property name="service_host" value="127.0.0.1"/>
        <property name="service_port" value="PORT"/>
    </object>
    <object id="service" class="springpython.remoting.pyro.PyroProxyFactory">
        <property name="service_url" value="PYROLOC://127.0.0.1:PORT/ServiceName"/>
        <property name="timeout" value="30"/>
        <property name="reconnect" value="true"/>
    </object>
</objects>
"""


def test_container_lifecycle_never_connects_and_shutdown_cleans_up(tmp_path):
    """Post-processors and lifecycle checks leave the proxy unconnected; shutdown closes everything."""
    port = free_port()
    path = tmp_path / "applicationContext.xml"
    path.write_text(CONTEXT.replace("PORT", str(port)))
    context = ApplicationContext(XMLConfig(str(path)))
    with context:
        inspector = context.get_object("inspector")
        exporter = context.get_object("service_exporter")
        service = context.get_object("service")
        assert isinstance(inspector, Inspector) and "service" in inspector.seen
        assert service.connections == 0 and exporter.connections == 0
        assert service.get_data("Hello") == "You got remote data => Hello"
        assert service.connections == 1
    assert service.connections == 0
    assert not exporter.exported


CONSTRUCTOR_CONTEXT = """<?xml version="1.0" encoding="UTF-8"?>
<objects xmlns="http://www.springframework.org/springpython/schema/objects/1.1">
    <object id="remoteService" class="helpers_pyro.Service"/>
    <object id="service_exporter" class="springpython.remoting.pyro.PyroServiceExporter">
        <constructor-arg name="service_name" value="ServiceName"/>
        <constructor-arg name="service" ref="remoteService"/>
        <constructor-arg name="service_host" value="127.0.0.1"/>
        <constructor-arg name="service_port" value="PORT"/>
    </object>
    <object id="service" class="springpython.remoting.pyro.PyroProxyFactory">
        <constructor-arg name="service_url" value="PYROLOC://127.0.0.1:PORT/ServiceName"/>
    </object>
</objects>
"""


def test_8_2_2_1_constructor_injection_from_xml(tmp_path):
    """8.2.2.1: the exporter's and the proxy factory's properties can be constructor arguments."""
    port = free_port()
    path = tmp_path / "constructor.xml"
    path.write_text(CONSTRUCTOR_CONTEXT.replace("PORT", str(port)))
    with ApplicationContext(XMLConfig(str(path))) as context:
        exporter = context.get_object("service_exporter")
        assert exporter.service_url == f"PYRO:ServiceName@127.0.0.1:{port}"
        assert context.get_object("service").get_data("ctor") == "You got remote data => ctor"
    assert not exporter.exported


def test_bad_exporter_in_xml_names_file_line_and_object(tmp_path):
    """A bad exporter property in XML fails the context with file, line and object id; nothing keeps running."""
    import socket

    from helpers_pyro import pyro_threads

    from springpython.errors import ConfigurationError

    with socket.socket() as other:
        other.bind((HOST, 0))
        other.listen(1)
        taken = other.getsockname()[1]
        for bad, why in ((f'value="{taken}"', f"cannot listen on 127.0.0.1:{taken}"),
                         ('value="seventy"', "service_port must be an integer")):
            path = tmp_path / "bad.xml"
            path.write_text(CONTEXT.replace('value="PORT"/>', bad + "/>", 1).replace("PORT", "1"))
            with pytest.raises(ConfigurationError) as info:
                ApplicationContext(XMLConfig(str(path)))
            message = str(info.value)
            assert "bad.xml:" in message and "service_exporter" in message, message
            assert why in message or why in str(info.value.__cause__), message
            assert pyro_threads() == []
