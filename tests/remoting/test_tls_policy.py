"""The one TLS policy (springpython.remoting.tls) on every HTTP exporter and on
SSLServer: the same defaults, the same ConfigurationError for every mistake, and
``verify_fields`` checked exactly, against real TLS servers on 127.0.0.1."""

from __future__ import annotations

import contextlib
import datetime
import http.client
import ssl
import threading
import xmlrpc.client
from pathlib import Path
from typing import Any, Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from springpython.config import XMLConfig
from springpython.context import ApplicationContext
from springpython.errors import ConfigurationError, ObjectCreationError, VerificationException
from springpython.pki import load_cert, load_key, new_key, write_certs, write_key
from springpython.remoting import tls
from springpython.remoting.hessian import HessianServiceExporter
from springpython.remoting.tls import SUBJECT_FIELDS, ClientTLS, ServerTLS
from springpython.remoting.xmlrpc import SSLServer, XMLRPCServiceExporter

HOST = "127.0.0.1"
KINDS = ["hessian", "xmlrpc", "sslserver"]
EXPORTERS = {"hessian": HessianServiceExporter, "xmlrpc": XMLRPCServiceExporter}

# add(1, 2) as a Hessian 1.0 call, and as an XML-RPC call: what each server runs.
CALLS = {
    "hessian": b"c\x01\x00m\x00\x03addI\x00\x00\x00\x01I\x00\x00\x00\x02z",
    "xmlrpc": xmlrpc.client.dumps((1, 2), "add").encode(),
    "sslserver": xmlrpc.client.dumps((1, 2), "add").encode(),
}


class Adder:
    """A service that counts the calls it ran."""

    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def add(self, a: int, b: int) -> int:
        with self._lock:
            self.calls += 1
        return a + b


class AdderServer(SSLServer):
    """The chapter's way: a subclass registers its functions."""

    adder: Adder

    def register_functions(self) -> None:
        self.register_function(self.adder.add, "add")


def server_files(pki) -> dict[str, str]:
    return {"certfile": str(pki.server_cert), "keyfile": str(pki.server_key)}


@contextlib.contextmanager
def serving(kind: str, **props: Any) -> Iterator[tuple[int, str, Adder]]:
    """A real TLS server of ``kind`` with ``props``: yields its port, path and service."""
    adder = Adder()
    if kind == "sslserver":
        server = type("Server", (AdderServer,), {"adder": adder})(HOST, 0, log_requests=False, **props)
        with server:
            server.start()
            yield server.port, "/RPC2", adder
    else:
        exporter = EXPORTERS[kind](service=adder, service_host=HOST, service_port=0, path="/adder", **props)
        with exporter:
            yield exporter.port, "/adder", adder


def create(kind: str, **props: Any) -> None:
    """Configure and start a server of ``kind``; stop it again if it started."""
    with serving(kind, **props):
        pass


def client_context(pki, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
    """A stdlib client context trusting the sample CA, with an optional client certificate."""
    ctx = ssl.create_default_context(cafile=str(pki.ca_chain))
    ctx.check_hostname = False
    if cert is not None:
        ctx.load_cert_chain(str(cert), str(key))
    return ctx


def post(kind: str, port: int, path: str, context: ssl.SSLContext) -> int | BaseException:
    """POST ``add(1, 2)`` with the stdlib HTTP client: the HTTP status, or what the client raised."""
    conn = http.client.HTTPSConnection(HOST, port, context=context, timeout=10)
    try:
        conn.request("POST", path, CALLS[kind], {"Content-Type": "text/xml"})
        response = conn.getresponse()
        response.read()
        return response.status
    except (ssl.SSLError, ConnectionError, OSError) as exc:
        return exc
    finally:
        conn.close()


def issue_client(pki, directory: Path, attributes: list[tuple[x509.ObjectIdentifier, str]]) -> tuple[Path, Path]:
    """A client certificate with exactly this subject (repeated fields allowed), signed by the sample signing CA."""
    ca_key, ca_cert = load_key(pki.ca_signing_key), load_cert(pki.ca_signing_cert)
    key = new_key()
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(oid, value) for oid, value in attributes]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    return write_certs(directory / "cert.pem", cert), write_key(directory / "key.pem", key)


# -- defaults ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["hessian", "xmlrpc"])
def test_exporter_with_ca_certs_requires_a_client_certificate(pki, kind):
    """An exporter given ca_certs and no cert_reqs refuses a client without a certificate; the call does not run."""
    with serving(kind, ca_certs=str(pki.ca_chain), **server_files(pki)) as (port, path, adder):
        assert not isinstance(post(kind, port, path, client_context(pki)), int)
        assert adder.calls == 0
        assert post(kind, port, path, client_context(pki, pki.client_cert, pki.client_key)) == 200
        assert adder.calls == 1


def test_sslserver_keeps_the_chapter_default_cert_none(pki):
    """SSLServer with ca_certs and the chapter's default cert_reqs=CERT_NONE serves a client without a certificate."""
    with serving("sslserver", ca_certs=str(pki.ca_chain), **server_files(pki)) as (port, path, adder):
        assert post("sslserver", port, path, client_context(pki)) == 200
        assert adder.calls == 1


@pytest.mark.parametrize("kind", KINDS)
def test_cert_reqs_by_name_overrides_the_default(pki, kind):
    """cert_reqs given by name (as XML does) decides: 'required' refuses, 'CERT_NONE' admits a client without a certificate."""
    with serving(kind, ca_certs=str(pki.ca_chain), cert_reqs="required", **server_files(pki)) as (port, path, adder):
        assert not isinstance(post(kind, port, path, client_context(pki)), int)
        assert adder.calls == 0
    with serving(kind, ca_certs=str(pki.ca_chain), cert_reqs="CERT_NONE", **server_files(pki)) as (port, path, adder):
        assert post(kind, port, path, client_context(pki)) == 200
        assert adder.calls == 1


def test_the_defaults_of_each_end():
    """Server: cert_reqs REQUIRED with ca_certs, else NONE; client: REQUIRED with the host name checked; no property, no TLS."""
    assert ServerTLS.from_properties() is None
    assert ClientTLS.from_properties() is None
    client = ClientTLS.defaults()
    assert client.cert_reqs == ssl.CERT_REQUIRED and client.check_hostname
    assert client.context().minimum_version == ssl.TLSVersion.TLSv1_2
    assert client.context().check_hostname


def test_server_settings_load_once_and_compare_by_value(pki):
    """ServerTLS loads its context at construction; equal properties give equal settings (so exporters may share a port)."""
    first = ServerTLS.from_properties(ca_certs=pki.ca_chain, **server_files(pki))
    second = ServerTLS.from_properties(ca_certs=str(pki.ca_chain), cert_reqs="CERT_REQUIRED", **server_files(pki))
    assert first is not None and second is not None
    assert first == second and first.context() is not second.context()
    assert first.cert_reqs == ssl.CERT_REQUIRED
    assert first.context().verify_mode == ssl.CERT_REQUIRED
    assert first.context().minimum_version == ssl.TLSVersion.TLSv1_2


# -- misconfigurations --------------------------------------------------------------------

NEEDS_CERTFILE = "need certfile"
CERTFILE_REQUIRED = r"certfile \(the server's certificate\) is required"

MISCONFIGURATIONS = [
    # id, properties (PKI names in angle brackets), message on exporters, message on SSLServer
    ("keyfile alone", {"keyfile": "<server_key>"}, NEEDS_CERTFILE, CERTFILE_REQUIRED),
    ("cert_reqs without certfile", {"cert_reqs": "CERT_REQUIRED"}, NEEDS_CERTFILE, CERTFILE_REQUIRED),
    ("ca_certs without certfile", {"ca_certs": "<ca_chain>"}, NEEDS_CERTFILE, CERTFILE_REQUIRED),
    ("required without ca_certs", {"certfile": "<server_cert>", "keyfile": "<server_key>", "cert_reqs": "required"},
     "cert_reqs CERT_REQUIRED .* needs ca_certs", None),
    ("verify_fields without client certificates",
     {"certfile": "<server_cert>", "keyfile": "<server_key>", "verify_fields": {"commonName": "My Client"}},
     "verify_fields .* needs client certificates, but cert_reqs is CERT_NONE", None),
    ("unknown cert_reqs", {"certfile": "<server_cert>", "keyfile": "<server_key>", "cert_reqs": "sometimes"},
     "cert_reqs must be CERT_NONE, CERT_OPTIONAL or CERT_REQUIRED, got 'sometimes'", None),
    ("missing certfile", {"certfile": "/nonexistent/cert.pem"},
     "cannot load certificate from certfile '/nonexistent/cert.pem': No such file", None),
    ("missing keyfile", {"certfile": "<server_cert>", "keyfile": "/nonexistent/key.pem"},
     "cannot load private key from keyfile '/nonexistent/key.pem': No such file", None),
    ("missing ca_certs", {"certfile": "<server_cert>", "keyfile": "<server_key>", "ca_certs": "/nonexistent/ca.pem"},
     "cannot load CA certificates from ca_certs '/nonexistent/ca.pem': No such file", None),
    ("key not matching the certificate", {"certfile": "<server_cert>", "keyfile": "<client_key>"},
     "cannot load certificate from certfile '.*server-cert.pem' with keyfile '.*client-key.pem': "
     "the private key does not match the certificate", None),
    ("certfile without its key", {"certfile": "<server_cert>"},
     "expected a PEM certificate followed by its PEM private key", None),
    ("ca_certs not PEM", {"certfile": "<server_cert>", "keyfile": "<server_key>", "ca_certs": "<server_key>"},
     "cannot load CA certificates from ca_certs '.*server-key.pem'", None),
    ("verify_fields not a mapping", {"certfile": "<server_cert>", "keyfile": "<server_key>",
                                     "ca_certs": "<ca_chain>", "verify_fields": "commonName=x"},
     "verify_fields must map certificate subject field names", None),
    ("verify_fields value not text", {"certfile": "<server_cert>", "keyfile": "<server_key>",
                                      "ca_certs": "<ca_chain>", "verify_fields": {"commonName": 1}},
     "verify_fields must map .* 'commonName' maps to 1", None),
]


def resolve(pki, props: dict[str, Any]) -> dict[str, Any]:
    """Replace ``<name>`` by the path of that sample PKI file."""
    return {k: str(getattr(pki, v[1:-1])) if isinstance(v, str) and v.startswith("<") else v
            for k, v in props.items()}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("props, message, sslserver_message",
                         [case[1:] for case in MISCONFIGURATIONS], ids=[case[0] for case in MISCONFIGURATIONS])
def test_misconfiguration_is_a_configuration_error(pki, kind, props, message, sslserver_message):
    """Every TLS mistake is a ConfigurationError naming the property and value, raised at start; nothing listens."""
    expected = sslserver_message if kind == "sslserver" and sslserver_message else message
    with pytest.raises(ConfigurationError, match=expected):
        create(kind, **resolve(pki, props))


@pytest.mark.parametrize("kind", KINDS)
def test_short_field_names_are_refused_with_the_valid_names(pki, kind):
    """verify_fields={'CN': ...} fails at start with a ConfigurationError listing every RFC 3280 long name."""
    with pytest.raises(ConfigurationError, match="unknown certificate subject field 'CN'") as info:
        create(kind, ca_certs=str(pki.ca_chain), cert_reqs=ssl.CERT_REQUIRED,
               verify_fields={"CN": "My Client"}, **server_files(pki))
    assert all(name in str(info.value) for name in SUBJECT_FIELDS)
    assert "commonName" in str(info.value)


def test_client_misconfigurations(pki):
    """A proxy factory's TLS mistakes are ConfigurationErrors too: keyfile alone, a missing CA file, short names."""
    with pytest.raises(ConfigurationError, match="Proxy: keyfile .* needs certfile"):
        ClientTLS.from_properties(keyfile=str(pki.client_key), owner="Proxy")
    with pytest.raises(ConfigurationError, match="cannot load CA certificates from ca_certs '/nonexistent/ca.pem'"):
        ClientTLS.from_properties(ca_certs="/nonexistent/ca.pem")
    with pytest.raises(ConfigurationError, match="unknown certificate subject field 'O'"):
        ClientTLS.from_properties(ca_certs=str(pki.ca_chain), verify_fields={"O": "SAMPLE"})
    with pytest.raises(ConfigurationError, match="check_hostname must be true or false"):
        ClientTLS.from_properties(check_hostname="perhaps")


def test_sslserver_bad_server_option_is_a_configuration_error(pki):
    """An HTTP server option SSLServer passes on (max_workers=0) or bad ciphers are ConfigurationErrors."""
    with pytest.raises(ConfigurationError, match="max_workers must be at least 1"):
        create("sslserver", max_workers=0, **server_files(pki))
    with pytest.raises(ConfigurationError, match="ciphers 'NO-SUCH-CIPHER' selects no cipher"):
        create("sslserver", ciphers="NO-SUCH-CIPHER", **server_files(pki))


@pytest.mark.parametrize("kind", ["hessian", "xmlrpc"])
def test_client_settings_connect_and_check_the_server(pki, kind):
    """ClientTLS's context reaches an exporter with a client certificate; verify() checks the server's subject."""
    client = ClientTLS.from_properties(ca_certs=str(pki.ca_chain), certfile=str(pki.client_cert),
                                       keyfile=str(pki.client_key), verify_fields={"organizationName": "SAMPLE"})
    other = ClientTLS.from_properties(ca_certs=str(pki.ca_chain), verify_fields={"organizationName": "Other"})
    assert client is not None and other is not None
    with serving(kind, ca_certs=str(pki.ca_chain), **server_files(pki)) as (port, path, adder):
        conn = http.client.HTTPSConnection(HOST, port, context=client.context(), timeout=10)
        try:
            conn.connect()
            cert = conn.sock.getpeercert()
            client.verify(cert)
            with pytest.raises(VerificationException, match="'organizationName' is 'SAMPLE', expected 'Other'"):
                other.verify(cert)
            conn.request("POST", path, CALLS[kind], {"Content-Type": "text/xml"})
            assert conn.getresponse().status == 200
        finally:
            conn.close()
    assert adder.calls == 1


SERVER_XML = """\
<?xml version="1.0" encoding="UTF-8"?>
<objects xmlns="http://www.springframework.org/springpython/schema/objects/1.1">
  <object id="service" class="test_tls_policy.Adder"/>
  <object id="secure_exporter" class="{cls}">
    <property name="service" ref="service"/>
    <property name="service_host" value="127.0.0.1"/>
    <property name="service_port" value="0"/>
    <property name="certfile" value="{pki.server_cert}"/>
    <property name="keyfile" value="{keyfile}"/>
  </object>
</objects>
"""


@pytest.mark.parametrize("cls", ["springpython.remoting.hessian.HessianServiceExporter",
                                 "springpython.remoting.xmlrpc.XMLRPCServiceExporter"])
def test_xml_configuration_error_names_file_line_and_object(pki, tmp_path, monkeypatch, cls):
    """A missing keyfile in XML fails the context start with the file, the object's line and its id."""
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    path = tmp_path / "server.xml"
    path.write_text(SERVER_XML.format(cls=cls, pki=pki, keyfile="/nonexistent/key.pem"))
    with pytest.raises(ObjectCreationError) as info:
        ApplicationContext(XMLConfig(str(path)))
    error = info.value
    assert (error.file, error.line, error.object_id) == (str(path), 4, "secure_exporter")
    assert str(error).startswith(f"{path}:4: object 'secure_exporter': ")
    assert "cannot load private key from keyfile '/nonexistent/key.pem'" in str(error)
    assert isinstance(error.__cause__, ConfigurationError)


# -- verify_fields is exact -------------------------------------------------------------------

EVIL = [(NameOID.COMMON_NAME, "Evil"), (NameOID.ORGANIZATION_NAME, "My Company"), (NameOID.COMMON_NAME, "My Client")]
TWICE = [(NameOID.COMMON_NAME, "My Client"), (NameOID.ORGANIZATION_NAME, "My Company"),
         (NameOID.COMMON_NAME, "My Client")]


@pytest.mark.parametrize("kind", KINDS)
def test_a_repeated_field_must_match_every_time(pki, tmp_path, kind):
    """A client whose subject is CN=Evil, O=My Company, CN=My Client is refused by verify_fields commonName 'My Client';
    one naming 'My Client' twice is served."""
    evil = issue_client(pki, tmp_path / "evil", EVIL)
    twice = issue_client(pki, tmp_path / "twice", TWICE)
    props = {"ca_certs": str(pki.ca_chain), "cert_reqs": ssl.CERT_REQUIRED,
             "verify_fields": {"commonName": "My Client", "organizationName": "My Company"}, **server_files(pki)}
    with serving(kind, **props) as (port, path, adder):
        outcome = post(kind, port, path, client_context(pki, *evil))
        assert outcome != 200 and adder.calls == 0
        assert post(kind, port, path, client_context(pki, *twice)) == 200
        assert post(kind, port, path, client_context(pki, pki.client_cert, pki.client_key)) == 200
        assert adder.calls == 2


def peer(*rdns: tuple[str, str]) -> dict:
    """A decoded certificate as ssl.getpeercert() gives it, one attribute per RDN."""
    return {"subject": tuple(((name, value),) for name, value in rdns)}


def test_verify_fields_rules():
    """Every expected field must be present, and every occurrence of it equal; the message names the field."""
    tls.verify_fields(peer(("commonName", "A"), ("organizationName", "O")), {"commonName": "A"})
    tls.verify_fields(peer(("commonName", "A"), ("commonName", "A")), {"commonName": "A"})
    with pytest.raises(VerificationException, match=r"'commonName' occurs 2 times with values \['Evil', 'A'\]"):
        tls.verify_fields(peer(("commonName", "Evil"), ("commonName", "A")), {"commonName": "A"})
    with pytest.raises(VerificationException, match=r"'commonName' occurs 2 times"):
        tls.verify_fields(peer(("commonName", "A"), ("commonName", "Evil")), {"commonName": "A"})
    with pytest.raises(VerificationException, match="'commonName' is 'B', expected 'A'"):
        tls.verify_fields(peer(("commonName", "B")), {"commonName": "A"})
    with pytest.raises(VerificationException, match="no 'localityName' field"):
        tls.verify_fields(peer(("commonName", "A")), {"localityName": "Town"})
    with pytest.raises(VerificationException, match="sent no certificate"):
        tls.verify_fields(None, {"commonName": "A"})
    multi = {"subject": ((("commonName", "Evil"), ("commonName", "A")),)}  # one multi-valued RDN
    with pytest.raises(VerificationException, match="occurs 2 times"):
        tls.verify_fields(multi, {"commonName": "A"})


def test_subject_field_names_are_what_openssl_reports():
    """Every accepted name is an OpenSSL long name, the form ssl.getpeercert() uses; short names are not."""
    for name in SUBJECT_FIELDS:
        assert ssl._txt2obj(name, name=True)[2] == name  # (nid, shortname, longname, oid)
    assert "CN" not in SUBJECT_FIELDS and "O" not in SUBJECT_FIELDS
    assert tls.parse_verify_fields([("organizationName", "O"), ("commonName", "A")]) == (
        ("commonName", "A"), ("organizationName", "O"))
