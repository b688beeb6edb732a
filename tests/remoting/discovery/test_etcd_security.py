"""A registry talks to an etcd that wants TLS with client certificates, and to one
with authentication on: registrations and look-ups work with the right settings and
fail clearly without them."""

from __future__ import annotations

import base64
import logging
import time

import pytest
import requests
from helpers_etcd import Etcd

from springpython.errors import ConfigurationError, ConnectFailedError
from springpython.remoting.discovery import EtcdRegistry, lookup_endpoints


@pytest.fixture
def tls_etcd(tmp_path, pki):
    """etcd on https requiring client certificates of the sample PKI. Its own certificate
    is for client and server use: etcd's JSON gateway dials etcd with it."""
    from springpython.pki import issue_certificate, load_cert, load_key, write_certs, write_key

    key, cert = issue_certificate(load_key(pki.ca_signing_key), load_cert(pki.ca_signing_cert), subject="etcd",
                                  hosts=["127.0.0.1", "localhost"], client=True, server=True)
    write_key(tmp_path / "etcd-key.pem", key)
    write_certs(tmp_path / "etcd-cert.pem", cert)
    server = Etcd(tmp_path / "data", {
        "cert-file": str(tmp_path / "etcd-cert.pem"), "key-file": str(tmp_path / "etcd-key.pem"),
        "trusted-ca-file": str(pki.ca_chain), "client-cert-auth": "true",
    }).start()
    yield server
    server.stop()


def test_tls_with_a_client_certificate(tls_etcd, pki):
    """With ca_certs and a client certificate the registry registers over TLS; without
    ca_certs the server's certificate is not trusted (verification is never turned
    off), and without a client certificate etcd refuses."""
    with EtcdRegistry(endpoints=tls_etcd.url, ttl=2, ca_certs=str(pki.ca_chain), certfile=str(pki.client_cert),
                      keyfile=str(pki.client_key)) as registry:
        watch = registry.watch("Secure")
        assert watch.snapshot() == {}
        registry.register("Secure", "https://127.0.0.1:1/RPC2", "xmlrpc")
        assert [r.url for r in registry.lookup("Secure")] == ["https://127.0.0.1:1/RPC2"]
        deadline = time.monotonic() + 5
        while not watch.snapshot():  # the change comes through the watch's TLS stream
            assert time.monotonic() < deadline, "the watch over TLS saw no change"
            time.sleep(0.02)
        watch.close()
        assert not watch.following
        found = lookup_endpoints(f"etcds://127.0.0.1:{tls_etcd.client_port}/Secure", ca_certs=str(pki.ca_chain),
                                 certfile=str(pki.client_cert), keyfile=str(pki.client_key))
        assert [r.transport for r in found] == ["xmlrpc"]
        with pytest.raises(ConnectFailedError, match="CERTIFICATE_VERIFY_FAILED"):
            lookup_endpoints(f"etcds://127.0.0.1:{tls_etcd.client_port}/Secure", timeout=2)
        with pytest.raises(ConnectFailedError, match="etcd cannot be reached"):
            lookup_endpoints(f"etcds://127.0.0.1:{tls_etcd.client_port}/Secure", timeout=2,
                             ca_certs=str(pki.ca_chain))


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_user_and_password_when_etcd_has_authentication_on(tmp_path, caplog):
    """A user allowed on the prefix registers and looks up (over http:// only when
    allowed by name); a wrong password is a clear error; the password is in no log."""
    server = Etcd(tmp_path / "data").start()
    try:
        api = f"{server.url}/v3/auth"
        for path, body in [
            ("user/add", {"name": "root", "password": "rootpw"}),
            ("role/add", {"name": "root"}),
            ("user/grant", {"user": "root", "role": "root"}),
            ("user/add", {"name": "svc", "password": "svcpw"}),
            ("role/add", {"name": "svc"}),
            ("role/grant", {"name": "svc", "perm": {"permType": "READWRITE", "key": _b64("/auth/"),
                                                     "range_end": _b64("/auth0")}}),
            ("user/grant", {"user": "svc", "role": "svc"}),
            ("enable", {}),
        ]:
            reply = requests.post(f"{api}/{path}", json=body, timeout=5)
            assert reply.status_code == 200, (path, reply.text)
        with caplog.at_level(logging.DEBUG, logger="springpython"), \
                EtcdRegistry(endpoints=server.url, ttl=2, prefix="/auth/", user="svc", password="svcpw",
                             allow_plain_credentials=True) as registry:
            registry.register("Guarded", "PYRO:Guarded@127.0.0.1:1", "pyro5")
            watch = registry.watch("Guarded")
            assert [r.url for r in watch.snapshot().values()] == ["PYRO:Guarded@127.0.0.1:1"]
            found = lookup_endpoints(f"etcd://127.0.0.1:{server.client_port}/Guarded", prefix="/auth/",
                                     user="svc", password="svcpw", allow_plain_credentials=True)
            assert [r.url for r in found] == ["PYRO:Guarded@127.0.0.1:1"]
            assert "svcpw" not in repr(registry._connection.settings) + repr(registry)
        assert caplog.records and not [r for r in caplog.records if "svcpw" in r.getMessage()]
        with pytest.raises(ConnectFailedError, match="refused the request: .*authentication failed"):
            lookup_endpoints(f"etcd://127.0.0.1:{server.client_port}/Guarded", prefix="/auth/",
                             user="svc", password="wrong", allow_plain_credentials=True)
        with pytest.raises(ConnectFailedError, match="refused the request"):
            lookup_endpoints(f"etcd://127.0.0.1:{server.client_port}/Guarded", prefix="/auth/")
    finally:
        server.stop()


def test_credentials_are_refused_over_plain_http_unless_allowed_by_name(tmp_path):
    """user/password with an http:// endpoint fail the context (file, line and id), and
    lookup_endpoints with an etcd:// URL, before anything is sent; https:// endpoints
    take them."""
    from springpython.config import XMLConfig
    from springpython.context import ApplicationContext

    path = tmp_path / "app.xml"
    path.write_text('''<?xml version="1.0" encoding="UTF-8"?>
<objects xmlns="http://www.springframework.org/springpython/schema/objects/1.1">
    <object id="registry" class="springpython.remoting.discovery.EtcdRegistry">
        <property name="endpoints" value="https://127.0.0.1:2379, http://10.0.0.2:2379"/>
        <property name="user" value="svc"/><property name="password" value="secret"/>
    </object>
</objects>
''')
    with pytest.raises(ConfigurationError) as info:
        ApplicationContext(XMLConfig(str(path)))
    error = info.value
    assert "would travel unencrypted to http://10.0.0.2:2379" in str(error)
    assert "allow_plain_credentials" in str(error) and "secret" not in str(error)
    assert error.object_id == "registry" and error.line == 3 and str(error.file).endswith("app.xml")
    with pytest.raises(ConfigurationError, match="allow_plain_credentials"):
        lookup_endpoints("etcd://127.0.0.1:1/Guarded", user="svc", password="secret")
    with EtcdRegistry(endpoints="https://127.0.0.1:1", user="svc", password="secret") as registry:
        assert "secret" not in repr(registry._connection.settings)
