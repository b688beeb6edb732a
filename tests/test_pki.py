"""The sample PKI generator: file names, chain of trust, extensions, refusal to overwrite."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import subprocess

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from springpython import pki as pki_module
from springpython.pki import FILE_NAMES, issue_certificate, load_cert, load_key, make_ca, write_sample_pki


def _cn(cert: x509.Certificate) -> str:
    return cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


def test_writes_the_chapter_file_names(tmp_path):
    """Every file the chapter names is written, and the dataclass points at each."""
    result = write_sample_pki(tmp_path / "certs")
    assert sorted(p.name for p in (tmp_path / "certs").iterdir()) == sorted(FILE_NAMES.values())
    for attr, name in FILE_NAMES.items():
        assert getattr(result, attr) == tmp_path / "certs" / name
    assert result.directory == tmp_path / "certs"


def test_chain_of_trust_and_names(pki):
    """Root is self-signed, the signing CA is signed by it, both leaves by the signing CA."""
    root, signing = load_cert(pki.ca_root_cert), load_cert(pki.ca_signing_cert)
    server, client = load_cert(pki.server_cert), load_cert(pki.client_cert)
    assert _cn(root) == "SAMPLE Root CA" and root.issuer == root.subject
    assert _cn(signing) == "SAMPLE Signing CA" and signing.issuer == root.subject
    signing.verify_directly_issued_by(root)
    server.verify_directly_issued_by(signing)
    client.verify_directly_issued_by(signing)
    assert signing.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 0
    chain = x509.load_pem_x509_certificates(pki.ca_chain.read_bytes())
    assert {c.subject for c in chain} == {root.subject, signing.subject}


def test_openssl_verifies_both_leaves(pki):
    """The openssl command accepts both end-entity certificates against ca-chain.pem."""
    out = subprocess.run(
        ["openssl", "verify", "-CAfile", str(pki.ca_chain), str(pki.server_cert), str(pki.client_cert)],
        capture_output=True, text=True, check=True,
    ).stdout
    assert out.count(": OK") == 2


def test_leaf_extensions(pki):
    """Server cert: SAN localhost + 127.0.0.1, serverAuth; client cert: the chapter's subject, clientAuth."""
    server, client = load_cert(pki.server_cert), load_cert(pki.client_cert)
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert list(server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.SERVER_AUTH
    ]
    assert list(client.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.CLIENT_AUTH
    ]
    subject = {a.oid: a.value for a in client.subject}
    assert subject == {NameOID.COMMON_NAME: "My Client", NameOID.ORGANIZATION_NAME: "My Company",
                       NameOID.STATE_OR_PROVINCE_NAME: "My State"}
    for cert in (server, client):
        assert cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        assert cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
        assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert server.not_valid_after_utc - server.not_valid_before_utc > datetime.timedelta(days=365 * 19)


def test_keys_are_unencrypted_and_load_into_ssl(pki):
    """Keys load without a password, into both cryptography and the ssl module."""
    load_key(pki.server_key)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(pki.server_cert), str(pki.server_key))
    ctx.load_cert_chain(str(pki.client_cert), str(pki.client_key))
    assert b"ENCRYPTED" not in pki.client_key.read_bytes()


def test_refuses_to_overwrite_unless_asked(tmp_path):
    """Existing files raise FileExistsError naming them; overwrite=True replaces them."""
    first = write_sample_pki(tmp_path)
    before = first.server_cert.read_bytes()
    with pytest.raises(FileExistsError, match="server-cert.pem"):
        write_sample_pki(tmp_path)
    assert first.server_cert.read_bytes() == before
    write_sample_pki(tmp_path, overwrite=True)
    assert first.server_cert.read_bytes() != before


def test_custom_hosts_subject_and_days(tmp_path):
    """hosts, client_subject and days reach the certificates."""
    result = write_sample_pki(tmp_path, hosts=["example.test", "::1"], days=3,
                              client_subject={"commonName": "Other", "localityName": "Town"})
    server = load_cert(result.server_cert)
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["example.test"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("::1")]
    assert server.not_valid_after_utc - server.not_valid_before_utc == datetime.timedelta(days=3)
    client = load_cert(result.client_cert)
    assert {a.oid._name: a.value for a in client.subject} == {"commonName": "Other", "localityName": "Town"}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"hosts": []}, "at least one host"),
        ({"days": 0}, "days must be at least 1"),
        ({"client_subject": {"CN": "x"}}, "unknown subject field 'CN'"),
    ],
)
def test_bad_arguments_write_nothing(tmp_path, kwargs, message):
    """Bad arguments raise ValueError naming the problem before any file is written."""
    with pytest.raises(ValueError, match=message):
        write_sample_pki(tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


def test_issue_certificate_for_negative_cases(pki):
    """Helpers make expired and untrusted certificates that the ssl module then rejects."""
    signing = pki_module.CertificateAuthority(load_key(pki.ca_signing_key), load_cert(pki.ca_signing_cert))
    past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=30)
    _, expired = signing.issue(subject="old", client=True, not_before=past,
                               not_after=past + datetime.timedelta(days=1))
    assert expired.not_valid_after_utc < datetime.datetime.now(datetime.timezone.utc)
    stranger = make_ca("Untrusted CA")
    _, foreign = issue_certificate(stranger.key, stranger.cert, subject="x", hosts=["localhost"])
    assert foreign.issuer != signing.cert.subject
    with pytest.raises(ValueError, match="client, a server or both"):
        issue_certificate(stranger.key, stranger.cert, subject="nobody")
    with pytest.raises(ValueError, match="later than not_before"):
        signing.issue(subject="x", client=True, not_before=past, not_after=past)
