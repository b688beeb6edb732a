"""TLS exporters under gunicorn: ``springpython run --workers 2`` and gunicorn's
command with springpython's worker (``-k springpython.hosting.worker.EmbeddedWorker``)
serve HTTPS with the exporters' own certificate, CAs and TLS policy; gunicorn's
command with its own workers does with its ``--certfile`` options and springpython's
hooks. Each requires a client certificate and checks ``verify_fields`` (a refused
client gets 403 with ``tls.REFUSED_HEADER`` and its call never runs), as the embedded
server does. gunicorn's ``--certfile`` with springpython's worker is refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers_hosting import EMBEDDED_WORKER, gunicorn_args, start, stop
from support import free_port, python_env

from springpython.errors import CommunicationError, ConnectFailedError
from springpython.pki import issue_certificate, load_cert, load_key, write_certs, write_key
from springpython.remoting.hessian import HessianProxyFactory
from springpython.remoting.xmlrpc import XMLRPCProxyFactory

SERVER_XML = '''\
<?xml version="1.0" encoding="UTF-8"?>
<objects xmlns="http://www.springframework.org/springpython/schema/objects/1.1">
    <object id="calculator" class="service.Calculator"/>
    <object id="tls" abstract="true">
        <property name="service" ref="calculator"/>
        <property name="service_host"><value>127.0.0.1</value></property>
        <property name="service_port"><value>{port}</value></property>
        <property name="certfile"><value>{pki.server_cert}</value></property>
        <property name="keyfile"><value>{pki.server_key}</value></property>
        <property name="ca_certs"><value>{pki.ca_chain}</value></property>
        <property name="verify_fields"><dict><entry key="commonName" value="My Client"/></dict></property>
    </object>
    <object id="hessian" parent="tls" class="springpython.remoting.hessian.HessianServiceExporter">
        <property name="path"><value>/hessian</value></property>
    </object>
    <object id="xmlrpc" parent="tls" class="springpython.remoting.xmlrpc.XMLRPCServiceExporter">
        <property name="path"><value>/RPC2</value></property>
    </object>
</objects>
'''


@pytest.fixture(scope="module", params=["springpython run", "gunicorn", "gunicorn -k springpython"])
def server(request, pki, tmp_path_factory):
    """The TLS exporters served by ``springpython run --workers 2``, by gunicorn's
    command with its TLS options and springpython's hooks, or by gunicorn's command
    with springpython's worker; the base URL."""
    directory = tmp_path_factory.mktemp("tls-hosted")
    root = Path(__file__).resolve().parents[2]
    (directory / "service.py").write_text((root / "samples" / "hosting" / "service.py").read_text())
    port = free_port()
    (directory / "server.xml").write_text(SERVER_XML.format(port=port, pki=pki))
    if request.param == "gunicorn":
        args = gunicorn_args(port, "--certfile", str(pki.server_cert), "--keyfile", str(pki.server_key),
                             "--ca-certs", str(pki.ca_chain), "--cert-reqs", "2")
    elif request.param == "gunicorn -k springpython":
        args = gunicorn_args(port, "-k", EMBEDDED_WORKER)
    else:
        args = ["-m", "springpython", "run", "--workers", "2", "server.xml"]
    proc = start(args, directory, port)
    yield f"https://127.0.0.1:{port}", proc
    stop(proc)


@pytest.fixture(scope="module")
def stranger(pki, tmp_path_factory) -> tuple[Path, Path]:
    """A client certificate from the same CA with another commonName."""
    directory = tmp_path_factory.mktemp("stranger")
    key, cert = issue_certificate(load_key(pki.ca_signing_key), load_cert(pki.ca_signing_cert),
                                  subject={"commonName": "Someone Else", "organizationName": "My Company"},
                                  client=True)
    return write_key(directory / "key.pem", key), write_certs(directory / "cert.pem", cert)


def proxy(factory, url: str, pki, certfile, keyfile):
    made = factory(service_url=url, ca_certs=str(pki.ca_chain), certfile=str(certfile), keyfile=str(keyfile))
    made.after_properties_set()
    return made


def test_the_right_client_calls_both_exporters(server, pki):
    """A client with the certificate verify_fields names calls over HTTPS, both protocols."""
    url, _ = server
    for factory, path in ((HessianProxyFactory, "/hessian"), (XMLRPCProxyFactory, "/RPC2")):
        client = proxy(factory, url + path, pki, pki.client_cert, pki.client_key)
        try:
            assert client.add(20, 22) == 42
            with pytest.raises(ZeroDivisionError):
                client.div(1, 0)
        finally:
            client.destroy()


def test_another_subject_is_refused_with_403(server, pki, stranger):
    """A certificate from the right CA with another commonName is refused: the proxy
    says the certificate was refused (the call did not run)."""
    url, proc = server
    key, cert = stranger
    for factory, path in ((HessianProxyFactory, "/hessian"), (XMLRPCProxyFactory, "/RPC2")):
        client = proxy(factory, url + path, pki, cert, key)
        try:
            with pytest.raises(ConnectFailedError, match="refused"):
                client.add(1, 2)
        finally:
            client.destroy()


def test_no_client_certificate_fails_the_handshake(server, pki):
    """Without a client certificate the TLS handshake itself fails."""
    url, _ = server
    client = XMLRPCProxyFactory(service_url=url + "/RPC2", ca_certs=str(pki.ca_chain))
    try:
        with pytest.raises(CommunicationError):
            client.add(1, 2)
    finally:
        client.destroy()


def test_gunicorn_tls_options_are_refused_by_the_springpython_worker(pki, tmp_path):
    """springpython's worker serves the exporters' own TLS: gunicorn's --certfile with
    it is a boot error that says so, and gunicorn stops rather than serve without it."""
    root = Path(__file__).resolve().parents[2]
    (tmp_path / "service.py").write_text((root / "samples" / "hosting" / "service.py").read_text())
    port = free_port()
    (tmp_path / "server.xml").write_text(SERVER_XML.format(port=port, pki=pki))
    args = gunicorn_args(port, "-k", EMBEDDED_WORKER, "--certfile", str(pki.server_cert),
                         "--keyfile", str(pki.server_key))
    result = subprocess.run([sys.executable, *args], cwd=tmp_path, env=python_env(tmp_path), capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0
    assert "serves the exporters' own TLS" in result.stderr and "drop gunicorn's --certfile" in result.stderr
