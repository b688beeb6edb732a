"""A sample public-key infrastructure for trying TLS XML-RPC: a root CA, a signing
CA below it, and a server and a client certificate issued by the signing CA, written
under the file names the reference chapter uses.

Every private key is written unencrypted so the chapter's code runs without a
password prompt. These files are samples: anyone can read their private keys, so
they must never guard anything real. :func:`issue_certificate` and
:func:`make_ca` also serve tests that need expired, wrongly signed or wrongly named
certificates."""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "SamplePKI",
    "CertificateAuthority",
    "DEFAULT_HOSTS",
    "DEFAULT_CLIENT_SUBJECT",
    "DEFAULT_DAYS",
    "FILE_NAMES",
    "write_sample_pki",
    "make_ca",
    "issue_certificate",
    "new_key",
    "write_key",
    "write_certs",
    "load_key",
    "load_cert",
]

DEFAULT_HOSTS: tuple[str, ...] = ("localhost", "127.0.0.1")
DEFAULT_CLIENT_SUBJECT: Mapping[str, str] = {
    "commonName": "My Client",
    "organizationName": "My Company",
    "stateOrProvinceName": "My State",
}
DEFAULT_DAYS = 20 * 365
ROOT_CA_NAME = "SAMPLE Root CA"
SIGNING_CA_NAME = "SAMPLE Signing CA"
SAMPLE_ORGANIZATION = "SAMPLE"

FILE_NAMES: Mapping[str, str] = {
    "ca_root_key": "ca-root-key.pem",
    "ca_root_cert": "ca-root-cert.pem",
    "ca_signing_key": "ca-signing-key.pem",
    "ca_signing_cert": "ca-signing-cert.pem",
    "ca_chain": "ca-chain.pem",
    "server_key": "server-key.pem",
    "server_cert": "server-cert.pem",
    "client_key": "client-key.pem",
    "client_cert": "client-cert.pem",
}

# RFC 3280 long names (as Python's ssl module reports them) -> OIDs.
_NAME_OIDS: Mapping[str, x509.ObjectIdentifier] = {
    "commonName": NameOID.COMMON_NAME,
    "countryName": NameOID.COUNTRY_NAME,
    "stateOrProvinceName": NameOID.STATE_OR_PROVINCE_NAME,
    "localityName": NameOID.LOCALITY_NAME,
    "organizationName": NameOID.ORGANIZATION_NAME,
    "organizationalUnitName": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "emailAddress": NameOID.EMAIL_ADDRESS,
    "serialNumber": NameOID.SERIAL_NUMBER,
    "givenName": NameOID.GIVEN_NAME,
    "surname": NameOID.SURNAME,
}

PrivateKey = ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class SamplePKI:
    """Where :func:`write_sample_pki` wrote each file."""

    directory: Path
    ca_root_key: Path
    ca_root_cert: Path
    ca_signing_key: Path
    ca_signing_cert: Path
    ca_chain: Path
    server_key: Path
    server_cert: Path
    client_key: Path
    client_cert: Path


@dataclass(frozen=True)
class CertificateAuthority:
    """A CA's key and certificate, in memory, ready to issue certificates."""

    key: PrivateKey
    cert: x509.Certificate

    def issue(self, **kwargs: Any) -> tuple[PrivateKey, x509.Certificate]:
        """Issue a certificate signed by this CA (see :func:`issue_certificate`)."""
        return issue_certificate(self.key, self.cert, **kwargs)


def new_key() -> PrivateKey:
    """A fresh EC P-256 private key (fast to make, accepted by every TLS stack)."""
    return ec.generate_private_key(ec.SECP256R1())


def _name(subject: str | Mapping[str, str]) -> x509.Name:
    if isinstance(subject, str):
        subject = {"commonName": subject}
    attributes = []
    for field, value in subject.items():
        oid = _NAME_OIDS.get(field)
        if oid is None:
            raise ValueError(
                f"unknown subject field {field!r}; expected one of {sorted(_NAME_OIDS)}"
            )
        attributes.append(x509.NameAttribute(oid, str(value)))
    if not attributes:
        raise ValueError("a certificate subject needs at least one field")
    return x509.Name(attributes)


def _san(hosts: Iterable[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    not_before: datetime.datetime | None,
    not_after: datetime.datetime | None,
    days: int,
) -> x509.CertificateBuilder:
    start = not_before or (_now() - datetime.timedelta(hours=1))
    end = not_after or (start + datetime.timedelta(days=days))
    if end <= start:
        raise ValueError(f"not_after ({end}) must be later than not_before ({start})")
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
        encipher_only=False, decipher_only=False,
    )


def _leaf_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=True, key_cert_sign=False, crl_sign=False,
        encipher_only=False, decipher_only=False,
    )


def make_ca(
    common_name: str = ROOT_CA_NAME,
    *,
    issuer: CertificateAuthority | None = None,
    path_length: int | None = None,
    days: int = DEFAULT_DAYS,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
) -> CertificateAuthority:
    """A new CA: self-signed without ``issuer``, else an intermediate signed by it.

    A second self-signed CA is how tests get certificates nobody trusts."""
    key = new_key()
    subject = _name({"commonName": common_name, "organizationName": SAMPLE_ORGANIZATION})
    signer_key, signer_name = (key, subject) if issuer is None else (issuer.key, issuer.cert.subject)
    builder = _builder(subject, signer_name, key.public_key(), not_before, not_after, days)
    builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
    builder = builder.add_extension(_ca_key_usage(), critical=True)
    signer_public = key.public_key() if issuer is None else issuer.key.public_key()
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_public), critical=False
    )
    return CertificateAuthority(key, builder.sign(signer_key, hashes.SHA256()))


def issue_certificate(
    issuer_key: PrivateKey,
    issuer_cert: x509.Certificate,
    *,
    subject: str | Mapping[str, str],
    hosts: Iterable[str] = (),
    client: bool = False,
    server: bool | None = None,
    days: int = DEFAULT_DAYS,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
    key: PrivateKey | None = None,
) -> tuple[PrivateKey, x509.Certificate]:
    """A new key and an end-entity certificate for it, signed by the issuer.

    ``subject`` is a common name or a dict of RFC 3280 long names; ``hosts`` (DNS
    names and IP addresses) go into subjectAltName; ``client`` marks it for client
    authentication, ``server`` (default: when hosts are given) for server
    authentication. ``not_before``/``not_after`` make expired or future certificates."""
    key = key or new_key()
    hosts = list(hosts)
    server = bool(hosts) if server is None else server
    if not (client or server):
        raise ValueError("a certificate must be for a client, a server or both")
    builder = _builder(_name(subject), issuer_cert.subject, key.public_key(), not_before, not_after, days)
    builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    builder = builder.add_extension(_leaf_key_usage(), critical=True)
    usages = ([ExtendedKeyUsageOID.SERVER_AUTH] if server else []) + (
        [ExtendedKeyUsageOID.CLIENT_AUTH] if client else []
    )
    builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
    )
    if hosts:
        builder = builder.add_extension(_san(hosts), critical=False)
    return key, builder.sign(issuer_key, hashes.SHA256())


def write_key(path: str | os.PathLike[str], key: PrivateKey) -> Path:
    """Write ``key`` as unencrypted PKCS#8 PEM, readable by its owner only."""
    path = Path(path)
    data = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return path


def write_certs(path: str | os.PathLike[str], *certs: x509.Certificate) -> Path:
    """Write one or more certificates, concatenated, as PEM."""
    path = Path(path)
    path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs))
    return path


def load_key(path: str | os.PathLike[str]) -> PrivateKey:
    """Read an unencrypted PEM private key."""
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path}: expected an EC private key, got {type(key).__name__}")
    return key


def load_cert(path: str | os.PathLike[str]) -> x509.Certificate:
    """Read the first PEM certificate of a file."""
    return x509.load_pem_x509_certificate(Path(path).read_bytes())


def write_sample_pki(
    directory: str | os.PathLike[str],
    *,
    hosts: Iterable[str] = DEFAULT_HOSTS,
    client_subject: Mapping[str, str] | None = None,
    days: int = DEFAULT_DAYS,
    overwrite: bool = False,
) -> SamplePKI:
    """Generate the chapter's sample PKI into ``directory`` (created if missing).

    Refuses (``FileExistsError`` naming them) to replace existing files unless
    ``overwrite`` is true. ``hosts`` are the server certificate's DNS names and IP
    addresses; ``client_subject`` the client certificate's subject fields (RFC 3280
    long names, default commonName "My Client", organizationName "My Company",
    stateOrProvinceName "My State"); ``days`` how long everything stays valid."""
    hosts = [h.strip() for h in ([hosts] if isinstance(hosts, str) else hosts) if h and h.strip()]
    if not hosts:
        raise ValueError("the server certificate needs at least one host name or IP address")
    days = int(days)
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    subject = dict(DEFAULT_CLIENT_SUBJECT if client_subject is None else client_subject)
    _name(subject)  # validate the field names before anything is written

    root = Path(directory)
    paths = {attr: root / name for attr, name in FILE_NAMES.items()}
    existing = sorted(str(p) for p in paths.values() if p.exists())
    if existing and not overwrite:
        raise FileExistsError(
            f"refusing to overwrite existing sample PKI files {existing}; pass overwrite=True to replace them"
        )
    root.mkdir(parents=True, exist_ok=True)

    root_ca = make_ca(ROOT_CA_NAME, days=days)
    signing_ca = make_ca(SIGNING_CA_NAME, issuer=root_ca, path_length=0, days=days)
    server_key, server_cert = signing_ca.issue(
        subject={"commonName": hosts[0], "organizationName": SAMPLE_ORGANIZATION}, hosts=hosts, days=days
    )
    client_key, client_cert = signing_ca.issue(subject=subject, client=True, days=days)

    write_key(paths["ca_root_key"], root_ca.key)
    write_certs(paths["ca_root_cert"], root_ca.cert)
    write_key(paths["ca_signing_key"], signing_ca.key)
    write_certs(paths["ca_signing_cert"], signing_ca.cert)
    write_certs(paths["ca_chain"], signing_ca.cert, root_ca.cert)
    write_key(paths["server_key"], server_key)
    write_certs(paths["server_cert"], server_cert)
    write_key(paths["client_key"], client_key)
    write_certs(paths["client_cert"], client_cert)
    return SamplePKI(directory=root, **paths)
