"""HTTPS with the real peer, both ways: our client against Caucho's server behind the
JDK's HttpsServer, and Caucho's client against our exporter, using the sample PKI."""

from __future__ import annotations

import pytest
from fixtures_hessian import java_peers  # noqa: F401 - pytest fixtures
from helpers_hessian import (
    STORE_PASSWORD,
    JavaClient,
    JavaServer,
    PythonInteropService,
    java_command,
    trusting,
    write_keystore,
    write_truststore,
)

from springpython.errors import ConnectFailedError, RemoteFault
from springpython.remoting.hessian import HessianProxyFactory, HessianServiceExporter


@pytest.fixture(scope="module")
def java_tls_server(java_peers, pki, tmp_path_factory):
    """Caucho's HessianSkeleton over HTTPS with the sample PKI's server certificate."""
    jar, classes = java_peers
    keystore = write_keystore(pki, tmp_path_factory.mktemp("java-tls") / "server.p12")
    command = java_command(classes, jar, "HessianJavaServer", str(keystore), STORE_PASSWORD)
    server = JavaServer(command, scheme="https")
    yield server
    server.close()


@pytest.fixture(scope="module")
def java_tls_client(java_peers, pki, tmp_path_factory):
    """Caucho's HessianProxyFactory trusting the sample PKI's root CA."""
    jar, classes = java_peers
    truststore = write_truststore(pki, tmp_path_factory.mktemp("java-trust") / "trust.p12")
    client = JavaClient(trusting(java_command(classes, jar, "HessianJavaClient"), truststore))
    yield client
    client.close()


@pytest.fixture
def tls_proxy(java_tls_server, pki):
    """Our client for Caucho's HTTPS server, trusting the sample CA chain."""
    factory = HessianProxyFactory(service_url=java_tls_server.url(), ca_certs=str(pki.ca_chain))
    yield factory
    factory.destroy()


def test_python_calls_java_over_https(tls_proxy):
    """Our client calls Caucho's server over HTTPS on one kept-alive connection."""
    assert tls_proxy.add(20, 22) == 42
    assert tls_proxy.echoString("é😀" * 3000) == "é😀" * 3000
    assert tls_proxy.echoBytes(bytes(range(256)) * 100) == bytes(range(256)) * 100
    with pytest.raises(RemoteFault) as caught:
        tls_proxy.fail("over tls")
    assert caught.value.code == "ServiceException"
    assert tls_proxy.connections == 1


def test_python_refuses_java_server_without_the_ca(java_tls_server):
    """Without the sample CA our client refuses Caucho's HTTPS server certificate."""
    factory = HessianProxyFactory(service_url=java_tls_server.url())
    with pytest.raises(ConnectFailedError, match="certificate"):
        factory.add(1, 2)
    factory.destroy()


@pytest.fixture
def tls_exporter(pki, tmp_path):
    """The Python interop service over HTTPS, sending the server certificate with its signing CA.

    (Caucho's client trusts only the root, so the server must present the intermediate.)"""
    chain = tmp_path / "server-chain.pem"
    chain.write_bytes(pki.server_cert.read_bytes() + pki.ca_signing_cert.read_bytes())
    with HessianServiceExporter(
        service=PythonInteropService(), service_host="127.0.0.1", service_port=0, path="/interop",
        certfile=str(chain), keyfile=str(pki.server_key),
    ) as exp:
        yield exp


@pytest.mark.parametrize("check", ["add", "string:emoji", "string:long-mixed", "bytes:large", "person:echo",
                                   "map:mixed", "date:millis"])
def test_java_calls_python_over_https(java_tls_client, tls_exporter, check):
    """Caucho's client, trusting the sample root CA, calls our HTTPS exporter."""
    assert tls_exporter.service_url.startswith("https://")
    status, text = java_tls_client.run(tls_exporter.service_url, check)
    assert status == "OK", text
    assert text == "5" if check == "add" else text.startswith("same "), text


def test_java_fault_over_https(java_tls_client, tls_exporter):
    """A Python exception reaches Caucho's client over HTTPS as HessianServiceException."""
    status, text = java_tls_client.run(tls_exporter.service_url, "fail")
    assert (status, text) == ("ERR", "com.caucho.hessian.io.HessianServiceException: boom \\u00e9")
