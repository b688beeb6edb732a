"""samples/hessian runs as the reference chapter shows it: an XML-configured exporter
in one process, an XML-configured client (section 8.3's HessianProxyFactory) in another."""

from __future__ import annotations

import signal
import socket
from pathlib import Path

import pytest

from springpython.config import XMLConfig
from springpython.context import ApplicationContext

SAMPLE = Path(__file__).resolve().parents[3] / "samples" / "hessian"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def sample_dir(tmp_path):
    """A copy of the sample with port 8080 replaced by a free port."""
    port = _free_port()
    for name in ("server.py", "client.py", "server.xml", "client.xml"):
        text = (SAMPLE / name).read_text()
        if name.endswith(".xml"):
            assert "8080" in text
            text = text.replace("8080", str(port))
        (tmp_path / name).write_text(text)
    return tmp_path


def test_sample_runs_as_two_processes(spawn, sample_dir):
    """The sample server serves until interrupted; the sample client prints the replies and the fault."""
    server = spawn(["server.py"], cwd=sample_dir)
    line = server.stdout.readline()
    assert line.startswith("SERVER: serving personService at http://localhost:"), line + server.stderr.read()
    client = spawn(["client.py"], cwd=sample_dir)
    out, err = client.communicate(timeout=60)
    assert client.returncode == 0, err
    assert out.splitlines() == [
        "CLIENT: Hello, Hessian \U0001F600",
        "CLIENT: {'name': 'Ann', 'age': 42, 'languages': ['Python', 'Java']}",
        "CLIENT: ['ann', 'bob']",
        "CLIENT: fault builtins.LookupError: no person 'nobody'",
    ]
    server.send_signal(signal.SIGINT)
    rest, err = server.communicate(timeout=30)
    assert server.returncode == 0, err
    assert "SERVER: stopped" in rest
    assert "exported" in err and "stopped" in err


def test_sample_xml_in_one_process(sample_dir, monkeypatch):
    """Both XML files load in one context pair; the proxy calls the exporter; shutdown frees the port."""
    monkeypatch.syspath_prepend(str(sample_dir))
    server = ApplicationContext(XMLConfig(str(sample_dir / "server.xml")))
    try:
        client = ApplicationContext(XMLConfig(str(sample_dir / "client.xml")))
        try:
            service = client.get_object("personService")
            assert service.greet("XML") == "Hello, XML \U0001F600"
        finally:
            client.shutdown()
    finally:
        server.shutdown()
    port = int((sample_dir / "server.xml").read_text().split("<value>")[2].split("<")[0])
    with socket.socket() as s:
        s.bind(("localhost", port))  # free again
