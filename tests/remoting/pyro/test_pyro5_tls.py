"""Pyro5 over TLS with mutual authentication, using the sample PKI."""

from __future__ import annotations

import ssl

import Pyro5.api
import pytest
from helpers_pyro import Service, pyro_threads, read_line, wait_until

from springpython.errors import ConfigurationError, ConnectFailedError
from springpython.remoting.pyro import PyroProxyFactory, PyroServiceExporter
from springpython.remoting.pyro._pyro5 import SERVERS

HOST = "127.0.0.1"


@pytest.fixture
def tls_exporter(pki):
    """A service exported over TLS that requires a client certificate from the sample CA."""
    exporter = PyroServiceExporter(
        service=Service(), service_name="Secure", service_host=HOST, service_port=0,
        certfile=str(pki.server_cert), keyfile=str(pki.server_key), ca_certs=str(pki.ca_chain),
    )
    exporter.after_properties_set()
    yield exporter
    exporter.destroy()


@pytest.fixture
def tls_proxies(pki):
    """Proxy factories with the sample client certificate (overridable); destroyed after the test."""
    made = []

    def make(url, **props):
        values = {"ca_certs": str(pki.ca_chain), "certfile": str(pki.client_cert), "keyfile": str(pki.client_key)}
        values.update(props)
        proxy = PyroProxyFactory(service_url=url, **values)
        made.append(proxy)
        return proxy

    yield make
    for proxy in made:
        proxy.destroy()


def test_mutual_tls_call(tls_exporter, tls_proxies):
    """A proxy with the client certificate calls the TLS exporter over TLS 1.2 or newer."""
    service = tls_proxies(tls_exporter.service_url)
    assert service.get_data("secure") == "You got remote data => secure"
    wait_until(lambda: tls_exporter.connections == 1, what="daemon saw the connection")
    (conn,) = list(tls_exporter._server.daemon.sp_open)
    assert isinstance(conn.sock, ssl.SSLSocket)
    assert conn.sock.version() in ("TLSv1.2", "TLSv1.3")
    subject = dict(item[0] for item in conn.sock.getpeercert()["subject"])
    assert subject  # the client presented its certificate


def test_host_name_is_checked(tls_exporter, tls_proxies, pki):
    """The server certificate must name the host the client dialled."""
    port = tls_exporter.service_url.rsplit(":", 1)[1]
    assert tls_proxies(f"PYRO:Secure@localhost:{port}").echo(1) == 1
    elsewhere = PyroServiceExporter(  # 127.0.0.2 is loopback too, but not in the certificate
        service=Service(), service_name="Secure", service_host="127.0.0.2", service_port=0,
        certfile=str(pki.server_cert), keyfile=str(pki.server_key), ca_certs=str(pki.ca_chain),
    )
    with elsewhere:
        with pytest.raises(ConnectFailedError, match="(?i)certificate verify failed.*(IP address|hostname) mismatch"):
            tls_proxies(elsewhere.service_url).echo(1)


def test_client_without_certificate_is_refused(tls_exporter, tls_proxies):
    """A TLS client without a certificate cannot connect; the daemon serves the others."""
    with pytest.raises(ConnectFailedError):
        tls_proxies(tls_exporter.service_url, certfile=None, keyfile=None).echo(1)
    assert tls_proxies(tls_exporter.service_url).echo(2) == 2


def test_client_not_trusting_the_server_is_refused(tls_exporter, tls_proxies, pki):
    """A client that does not trust the server's CA refuses the connection."""
    with pytest.raises(ConnectFailedError, match="(?i)certificate verify failed"):
        tls_proxies(tls_exporter.service_url, ca_certs=str(pki.client_cert)).echo(1)


def test_plain_client_to_tls_daemon_fails_cleanly(tls_exporter, tls_proxies):
    """A plain (non-TLS) Pyro5 client gets an error; the daemon keeps serving TLS clients."""
    with Pyro5.api.Proxy(tls_exporter.service_url) as raw:
        raw._pyroTimeout = 10
        with pytest.raises(Pyro5.errors.CommunicationError):
            raw.echo(1)
    assert tls_proxies(tls_exporter.service_url).echo(2) == 2


def test_daemon_requires_tls_1_2_and_a_client_certificate(tls_exporter, tls_proxies):
    """The daemon's TLS context refuses TLS older than 1.2 and requires a client certificate."""
    context = tls_exporter._server.daemon.sp_tls
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
    assert context.verify_mode == ssl.CERT_REQUIRED
    proxy = tls_proxies(tls_exporter.service_url)
    assert proxy._tls_context().minimum_version >= ssl.TLSVersion.TLSv1_2


def test_plain_proxy_factory_to_tls_daemon(tls_exporter):
    """A proxy factory without TLS settings fails to connect to a TLS daemon, with ConnectFailedError."""
    proxy = PyroProxyFactory(service_url=tls_exporter.service_url, timeout=10)
    try:
        with pytest.raises(ConnectFailedError):
            proxy.echo(1)
    finally:
        proxy.destroy()


def test_tls_and_plain_exporters_cannot_share_a_port(tls_exporter):
    """A plain exporter on the TLS daemon's port is refused: the settings differ."""
    port = int(tls_exporter.service_url.rsplit(":", 1)[1])
    plain = PyroServiceExporter(service=Service(), service_name="Plain", service_host=HOST, service_port=port)
    with pytest.raises(Exception, match="other settings"):
        plain.after_properties_set()
    assert SERVERS.users(tls_exporter._server) == 1


def test_bad_tls_files(pki):
    """Missing or wrong certificate files fail export with ConfigurationError; nothing runs."""
    exporter = PyroServiceExporter(
        service=Service(), service_name="S", service_host=HOST, service_port=0,
        certfile=str(pki.server_cert), keyfile=str(pki.client_key),
    )
    with pytest.raises(ConfigurationError, match="cannot load certificate"):
        exporter.after_properties_set()
    assert pyro_threads() == [] and SERVERS.addresses() == []
    proxy = PyroProxyFactory(service_url="PYRO:x@127.0.0.1:1", ca_certs="/nonexistent/ca.pem")
    with pytest.raises(ConfigurationError, match="cannot load CA certificates"):
        proxy.echo(1)


def test_cert_reqs_values(pki, tls_proxies):
    """cert_reqs accepts CERT_NONE by name; then a client without a certificate may connect."""
    exporter = PyroServiceExporter(
        service=Service(), service_name="S", service_host=HOST, service_port=0,
        certfile=str(pki.server_cert), keyfile=str(pki.server_key), cert_reqs="CERT_NONE",
    )
    with exporter:
        assert tls_proxies(exporter.service_url, certfile=None, keyfile=None).echo(1) == 1
    bad = PyroServiceExporter(service=Service(), service_name="S", service_host=HOST, service_port=0,
                              certfile=str(pki.server_cert), cert_reqs="sometimes")
    with pytest.raises(ConfigurationError, match="cert_reqs"):
        bad.after_properties_set()


PLAIN_PYRO5_TLS_CLIENT = """
import sys
import Pyro5.api
from Pyro5 import config
config.SSL = True
config.SSL_CACERTS = sys.argv[2]
config.SSL_CLIENTCERT = sys.argv[3]
config.SSL_CLIENTKEY = sys.argv[4]
with Pyro5.api.Proxy(sys.argv[1]) as proxy:
    print(proxy.get_data("plain Pyro5 over TLS"))
"""


def test_plain_pyro5_tls_client_interop(tls_exporter, pki, spawn):
    """A plain Pyro5 client using Pyro's own TLS settings (in its own process) calls the TLS exporter."""
    proc = spawn(["-c", PLAIN_PYRO5_TLS_CLIENT, tls_exporter.service_url, pki.ca_chain, pki.client_cert, pki.client_key])
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.strip() == "You got remote data => plain Pyro5 over TLS"


PLAIN_PYRO5_TLS_DAEMON = """
import sys
import Pyro5.api
from Pyro5 import config
config.SSL = True
config.SSL_REQUIRECLIENTCERT = True
config.SSL_SERVERCERT = sys.argv[1]
config.SSL_SERVERKEY = sys.argv[2]
config.SSL_CACERTS = sys.argv[3]

@Pyro5.api.expose
class Plain:
    def hello(self, who):
        return "plain Pyro5 TLS daemon => %s" % who

daemon = Pyro5.api.Daemon(host="127.0.0.1", port=0)
print(daemon.register(Plain(), "Plain"), flush=True)
daemon.requestLoop()
"""


def test_proxy_factory_calls_plain_pyro5_tls_daemon(pki, spawn, tls_proxies):
    """A TLS proxy factory calls a plain Pyro5 daemon that uses Pyro's own TLS settings."""
    proc = spawn(["-c", PLAIN_PYRO5_TLS_DAEMON, pki.server_cert, pki.server_key, pki.ca_chain])
    uri = read_line(proc)
    assert uri.startswith("PYRO:Plain@127.0.0.1:")
    assert tls_proxies(uri).hello("x") == "plain Pyro5 TLS daemon => x"
    with pytest.raises(ConnectFailedError):
        tls_proxies(uri, certfile=None, keyfile=None).hello("no client certificate")


class Counting(Service):
    """The chapter's service, counting the calls that reached it."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def count(self):
        self.calls += 1
        return self.calls


@pytest.fixture(scope="module")
def other_pki(tmp_path_factory):
    """A second sample PKI: its client certificate comes from a CA the server does not know."""
    from springpython.pki import write_sample_pki

    return write_sample_pki(tmp_path_factory.mktemp("other-pki"))


@pytest.mark.parametrize(
    ("client", "reason"),
    [("none", "no client certificate"), ("unknown CA", "certificate verify failed|unable to get local issuer")],
)
def test_refused_client_certificate_says_so(pki, other_pki, tls_proxies, caplog, client, reason):
    """A client whose certificate the server refuses gets ConnectFailedError saying so; the call did not run; the server logs why at WARNING."""
    import logging
    import re

    from springpython.remoting import tls

    service = Counting()
    exporter = PyroServiceExporter(
        service=service, service_name="Counted", service_host=HOST, service_port=0,
        certfile=str(pki.server_cert), keyfile=str(pki.server_key), ca_certs=str(pki.ca_chain),
    )
    with exporter:
        assert tls_proxies(exporter.service_url).count() == 1
        if client == "none":
            props = {"certfile": None, "keyfile": None}
        else:
            props = {"certfile": str(other_pki.client_cert), "keyfile": str(other_pki.client_key)}
        caplog.set_level(logging.WARNING, logger="springpython.remoting.pyro")
        with pytest.raises(ConnectFailedError) as info:
            tls_proxies(exporter.service_url, **props).count()
        assert tls.CLIENT_CERTIFICATE_REFUSED in str(info.value)
        assert service.calls == 1
        wait_until(lambda: any(r.levelno == logging.WARNING for r in caplog.records), what="refusal logged")
        (record,) = [r for r in caplog.records if r.levelno == logging.WARNING]
        message = record.getMessage()
        assert re.search(r"127\.0\.0\.1:\d+", message) and re.search(reason, message), message
        assert tls_proxies(exporter.service_url).count() == 2


def test_verify_fields_mismatch_is_refused(pki, tls_proxies, caplog):
    """A client certificate whose subject does not match verify_fields is refused before the call runs; the client learns no expected value; the server logs the field at WARNING."""
    import logging

    from springpython.remoting import tls

    service = Counting()
    exporter = PyroServiceExporter(
        service=service, service_name="Picky", service_host=HOST, service_port=0,
        certfile=str(pki.server_cert), keyfile=str(pki.server_key), ca_certs=str(pki.ca_chain),
        verify_fields={"commonName": "Someone Else"},
    )
    caplog.set_level(logging.WARNING, logger="springpython.remoting.pyro")
    with exporter:
        with pytest.raises(ConnectFailedError) as info:
            tls_proxies(exporter.service_url).count()
        assert tls.CLIENT_CERTIFICATE_REFUSED in str(info.value)
        assert "Someone Else" not in str(info.value)
        assert service.calls == 0
        (record,) = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert "127.0.0.1:" in record.getMessage() and "commonName" in record.getMessage()


def test_verify_fields_match_is_served(pki, tls_proxies):
    """A client certificate whose subject matches verify_fields is served."""
    exporter = PyroServiceExporter(
        service=Counting(), service_name="Picky", service_host=HOST, service_port=0,
        certfile=str(pki.server_cert), keyfile=str(pki.server_key), ca_certs=str(pki.ca_chain),
        verify_fields={"commonName": "My Client", "organizationName": "My Company"},
    )
    with exporter:
        assert tls_proxies(exporter.service_url).count() == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [({"CN": "My Client"}, "unknown certificate subject field 'CN'"), ({"commonName": 5}, "maps to 5")],
)
def test_bad_verify_fields_fail_at_start(pki, fields, message):
    """verify_fields with a short name (CN) or a non-text value is a ConfigurationError at start; nothing runs."""
    exporter = PyroServiceExporter(
        service=Counting(), service_name="Picky", service_host=HOST, service_port=0,
        certfile=str(pki.server_cert), keyfile=str(pki.server_key), ca_certs=str(pki.ca_chain),
        verify_fields=fields,
    )
    with pytest.raises(ConfigurationError, match=message):
        exporter.after_properties_set()
    assert pyro_threads() == [] and SERVERS.addresses() == []


class CountingService:
    """Counts the calls that ran."""

    def __init__(self) -> None:
        self.calls = 0

    def echo(self, value):
        self.calls += 1
        return value


def test_proxy_verify_fields_checks_the_server_certificate(pki, tls_proxies):
    """A proxy's verify_fields refuses a server whose certificate subject differs
    (ConnectFailedError, nothing sent, nothing run) and accepts one that matches."""
    service = CountingService()
    with PyroServiceExporter(service=service, service_name="Checked", service_host=HOST, service_port=0,
                             certfile=str(pki.server_cert), keyfile=str(pki.server_key),
                             ca_certs=str(pki.ca_chain)) as exporter:
        wrong = tls_proxies(exporter.service_url, verify_fields={"organizationName": "Someone Else"})
        with pytest.raises(ConnectFailedError, match="server's certificate was refused.*organizationName"):
            wrong.echo(1)
        assert service.calls == 0 and wrong.connections == 0
        right = tls_proxies(exporter.service_url, verify_fields={"commonName": "localhost", "organizationName": "SAMPLE"})
        assert right.echo(2) == 2 and service.calls == 1


def test_proxy_cert_reqs(pki, tls_proxies):
    """A proxy's cert_reqs: CERT_REQUIRED (the default) refuses a server its CAs do not
    vouch for, CERT_NONE accepts it; CERT_NONE with verify_fields fails at start."""
    with PyroServiceExporter(service=Service(), service_name="S", service_host=HOST, service_port=0,
                             certfile=str(pki.server_cert), keyfile=str(pki.server_key),
                             cert_reqs="CERT_NONE") as exporter:
        untrusted = str(pki.client_cert)  # not a CA of the server's certificate
        with pytest.raises(ConnectFailedError, match="(?i)certificate verify failed"):
            tls_proxies(exporter.service_url, ca_certs=untrusted, certfile=None, keyfile=None,
                        cert_reqs="CERT_REQUIRED").echo(1)
        relaxed = tls_proxies(exporter.service_url, ca_certs=untrusted, certfile=None, keyfile=None,
                              cert_reqs=ssl.CERT_NONE)
        assert relaxed.echo(2) == 2
        assert relaxed._tls_context().verify_mode == ssl.CERT_NONE
    contradictory = tls_proxies(f"PYRO:S@{HOST}:7766", cert_reqs="CERT_NONE", verify_fields={"commonName": "localhost"})
    with pytest.raises(ConfigurationError, match="verify_fields .* cert_reqs is CERT_NONE"):
        contradictory.after_properties_set()
