"""samples/discovery: two ``springpython run`` servers (Pyro5 and XML-RPC) register the
same service in etcd; the sample client, a third process, lists and calls both."""

from __future__ import annotations

import signal
from pathlib import Path

from helpers_etcd import etcd  # noqa: F401 (etcd is a fixture)

from springpython.remoting.discovery import lookup_endpoints

SAMPLES = Path(__file__).resolve().parents[3] / "samples" / "discovery"
SAMPLE_ETCD = "http://127.0.0.1:2379"


def test_two_servers_of_two_transports_and_a_client_as_three_processes(etcd, spawn, tmp_path):
    """The client lists both registrations and its pool gets answers from both servers;
    stopped servers are deregistered at once."""
    text = (SAMPLES / "registry.xml").read_text()
    assert SAMPLE_ETCD in text
    registry_xml = tmp_path / "registry.xml"
    registry_xml.write_text(text.replace(SAMPLE_ETCD, etcd.url))
    servers = [spawn(["-m", "springpython", "run", registry_xml, SAMPLES / name], cwd=SAMPLES)
               for name in ("pyro-server.xml", "xmlrpc-server.xml")]
    for server in servers:
        lines = []
        while not lines or not lines[-1].startswith("serving"):
            line = server.stdout.readline()
            assert line, (lines, server.stderr.read())
            lines.append(line)
        assert any(line.startswith("registered ") and "Quotes" in line for line in lines), lines

    client = spawn([SAMPLES / "client.py", registry_xml, SAMPLES / "client.xml"], cwd=SAMPLES)
    out, err = client.communicate(timeout=60)
    assert client.returncode == 0, err
    lines = out.splitlines()
    assert sorted(line.split()[2] for line in lines if line.startswith("CLIENT: registered")) == ["pyro5", "xmlrpc"]
    assert "{'zone': 'b'}" in out and "{'tags': ['zone-a']}" in out
    assert any(line.startswith("CLIENT: SPRN: 42.00 (from ") for line in lines)
    assert lines[-1] == "CLIENT: answered by pyro5, xmlrpc"

    for server in servers:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
    assert lookup_endpoints(f"etcd://127.0.0.1:{etcd.client_port}/Quotes") == []
