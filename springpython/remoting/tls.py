"""The one TLS policy of every transport: the settings an exporter or a proxy
factory is given, checked and loaded in one place, and the TLS contexts built
from them (TLS 1.2 or newer, certificate and host-name checks on unless a caller
turns them off by name).

Rules of this file:

* :meth:`ServerTLS.from_properties` and :meth:`ClientTLS.from_properties` are the
  only way a bean's TLS properties become settings; every misconfiguration,
  including a file that is missing, unreadable, not PEM or a key that does not
  match its certificate, is a :class:`~springpython.errors.ConfigurationError`
  naming the property and the value, raised there and nowhere later.
* The same property has the same default on every transport (see
  ``docs/security.rst``): an exporter given ``ca_certs`` requires client
  certificates unless ``cert_reqs`` says otherwise; a client checks the server's
  certificate and host name.
* ``verify_fields`` names are the OpenSSL long names ``ssl.getpeercert()``
  reports (:data:`SUBJECT_FIELDS`); a field that occurs more than once in a
  subject matches only if every occurrence has the expected value.

The chapter's ``ssl_version`` values (``ssl.PROTOCOL_TLSv1`` and friends) are
accepted for compatibility and mean "TLS, at least 1.2", with a
``DeprecationWarning``; no link older than TLS 1.2 is ever made."""

from __future__ import annotations

import logging
import os
import ssl
import warnings
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..errors import ConfigurationError, VerificationException
from ._values import as_bool

__all__ = [
    "MINIMUM_VERSION",
    "SUBJECT_FIELDS",
    "ServerTLS",
    "ClientTLS",
    "server_context",
    "client_context",
    "parse_cert_reqs",
    "parse_verify_fields",
    "check_ssl_version",
    "subject_values",
    "verify_fields",
    "REFUSED_HEADER",
    "CLIENT_CERTIFICATE_REFUSED",
    "is_certificate_refusal",
    "handshake_refusal",
    "log_refusal",
]

log = logging.getLogger(__name__)

MINIMUM_VERSION = ssl.TLSVersion.TLSv1_2

_CERT_REQS = {
    "none": ssl.CERT_NONE,
    "cert_none": ssl.CERT_NONE,
    "optional": ssl.CERT_OPTIONAL,
    "cert_optional": ssl.CERT_OPTIONAL,
    "required": ssl.CERT_REQUIRED,
    "cert_required": ssl.CERT_REQUIRED,
}


def parse_cert_reqs(value: Any) -> ssl.VerifyMode:
    """``ssl.CERT_*`` from the constant itself or its name (``CERT_REQUIRED``, ``required``)."""
    if isinstance(value, ssl.VerifyMode):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return ssl.VerifyMode(value)
    if isinstance(value, str):
        key = value.strip().lower().removeprefix("ssl.")
        if key in _CERT_REQS:
            return _CERT_REQS[key]
    raise ValueError(f"cert_reqs must be CERT_NONE, CERT_OPTIONAL or CERT_REQUIRED, got {value!r}")


def check_ssl_version(ssl_version: Any) -> None:
    """Accept the chapter's ``ssl_version`` values; warn that the minimum is TLS 1.2."""
    if ssl_version is None:
        return
    generic = {getattr(ssl, n, None) for n in ("PROTOCOL_TLS", "PROTOCOL_TLS_CLIENT", "PROTOCOL_TLS_SERVER")}
    if ssl_version in generic:
        return
    warnings.warn(
        f"ssl_version={ssl_version!r} is ignored: springpython always negotiates TLS 1.2 or newer",
        DeprecationWarning,
        stacklevel=3,
    )


#: The subject field names ``verify_fields`` accepts: the RFC 3280 (RFC 5280)
#: attribute types under the OpenSSL long names that ``ssl.getpeercert()`` reports.
#: Short names (``CN``, ``O``) are not among them.
SUBJECT_FIELDS: tuple[str, ...] = (
    "commonName",
    "countryName",
    "stateOrProvinceName",
    "localityName",
    "streetAddress",
    "postalCode",
    "organizationName",
    "organizationalUnitName",
    "title",
    "name",
    "surname",
    "givenName",
    "initials",
    "generationQualifier",
    "pseudonym",
    "serialNumber",
    "dnQualifier",
    "domainComponent",
    "userId",
    "emailAddress",
)


def _path(owner: str, prop: str, value: Any) -> str | None:
    """A file path property: ``None`` or empty text means not set."""
    if value is None:
        return None
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise ConfigurationError(f"{owner}: {prop} must be a file path, got {value!r}")
    return value.strip() or None


def _reqs(owner: str, value: Any) -> ssl.VerifyMode | None:
    """``cert_reqs`` as given, or ``None`` when it was not set (empty text counts as not set)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return parse_cert_reqs(value)
    except ValueError as exc:
        raise ConfigurationError(f"{owner}: {exc}") from exc


def parse_verify_fields(value: Any, owner: str = "TLS") -> tuple[tuple[str, str], ...]:
    """``verify_fields`` (a mapping, ``<dict>`` in XML, or ``(name, value)`` pairs) as
    sorted pairs, each name one of :data:`SUBJECT_FIELDS` and each value text.

    Raises :class:`ConfigurationError` for anything else, listing the valid names."""
    if value is None:
        return ()
    if isinstance(value, Mapping):
        pairs = list(value.items())
    elif isinstance(value, (list, tuple)) and all(isinstance(p, (list, tuple)) and len(p) == 2 for p in value):
        pairs = [(p[0], p[1]) for p in value]
    else:
        raise ConfigurationError(
            f"{owner}: verify_fields must map certificate subject field names to values "
            f"(a <dict> in XML), got {value!r}"
        )
    for name, text in pairs:
        if name not in SUBJECT_FIELDS:
            raise ConfigurationError(
                f"{owner}: verify_fields names an unknown certificate subject field {name!r}; "
                f"expected RFC 3280 long names: {', '.join(SUBJECT_FIELDS)}"
            )
        if not isinstance(text, str):
            raise ConfigurationError(
                f"{owner}: verify_fields must map certificate subject field names to text; "
                f"{name!r} maps to {text!r}"
            )
    if len({name for name, _ in pairs}) != len(pairs):
        raise ConfigurationError(f"{owner}: verify_fields names a field more than once: {value!r}")
    return tuple(sorted(pairs))


_WHAT = {"certfile": "certificate", "keyfile": "private key", "ca_certs": "CA certificates"}


def _read(owner: str, prop: str, path: str) -> None:
    """Fail with the property's name when a file cannot be opened and read."""
    try:
        with open(path, "rb") as f:
            f.read(1)
    except OSError as exc:
        raise ConfigurationError(
            f"{owner}: cannot load {_WHAT[prop]} from {prop} {path!r}: {exc.strerror or exc}"
        ) from exc


def _load(
    ctx: ssl.SSLContext, owner: str, certfile: str | None, keyfile: str | None, ca_certs: str | None
) -> None:
    """Load the certificate, key and CA files into ``ctx``; every failure names the property."""
    for prop, path in (("certfile", certfile), ("keyfile", keyfile), ("ca_certs", ca_certs)):
        if path:
            _read(owner, prop, path)
    if certfile:
        try:
            ctx.load_cert_chain(certfile, keyfile)
        except (OSError, ssl.SSLError) as exc:
            where = f"certfile {certfile!r}" + (f" with keyfile {keyfile!r}" if keyfile else "")
            if getattr(exc, "reason", None) == "KEY_VALUES_MISMATCH":
                problem = "the private key does not match the certificate"
            elif keyfile:
                problem = "expected a PEM certificate and a PEM private key"
            else:
                problem = "expected a PEM certificate followed by its PEM private key (or set keyfile)"
            raise ConfigurationError(f"{owner}: cannot load certificate from {where}: {problem} ({exc})") from exc
    if ca_certs:
        try:
            ctx.load_verify_locations(cafile=ca_certs)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigurationError(
                f"{owner}: cannot load CA certificates from ca_certs {ca_certs!r}: "
                f"expected PEM CA certificates ({exc})"
            ) from exc


def _set_ciphers(ctx: ssl.SSLContext, owner: str, ciphers: str | None) -> None:
    if ciphers:
        try:
            ctx.set_ciphers(ciphers)
        except ssl.SSLError as exc:
            raise ConfigurationError(f"{owner}: ciphers {ciphers!r} selects no cipher: {exc}") from exc


def _server_context(
    owner: str, certfile: str, keyfile: str | None, ca_certs: str | None,
    reqs: ssl.VerifyMode, ciphers: str | None,
) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = MINIMUM_VERSION
    ctx.options |= ssl.OP_NO_COMPRESSION
    _load(ctx, owner, certfile, keyfile, ca_certs)
    ctx.verify_mode = reqs
    _set_ciphers(ctx, owner, ciphers)
    return ctx


def _client_context(
    owner: str, certfile: str | None, keyfile: str | None, ca_certs: str | None,
    reqs: ssl.VerifyMode, check_hostname: bool, ciphers: str | None,
) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = MINIMUM_VERSION
    ctx.check_hostname = check_hostname and reqs != ssl.CERT_NONE
    ctx.verify_mode = reqs
    if reqs != ssl.CERT_NONE and not ca_certs:
        ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
    _load(ctx, owner, certfile, keyfile, ca_certs)
    _set_ciphers(ctx, owner, ciphers)
    return ctx


def _parse(
    owner: str, certfile: Any, keyfile: Any, ca_certs: Any, cert_reqs: Any, verify_fields: Any, ciphers: Any,
) -> tuple[str | None, str | None, str | None, ssl.VerifyMode | None, tuple[tuple[str, str], ...], str | None]:
    """The properties both ends share, parsed: paths, ``cert_reqs`` (``None`` when not
    set), ``verify_fields`` pairs and ``ciphers``."""
    if ciphers is not None and not isinstance(ciphers, str):
        raise ConfigurationError(f"{owner}: ciphers must be an OpenSSL cipher string, got {ciphers!r}")
    return (
        _path(owner, "certfile", certfile), _path(owner, "keyfile", keyfile), _path(owner, "ca_certs", ca_certs),
        _reqs(owner, cert_reqs), parse_verify_fields(verify_fields, owner), ciphers or None,
    )


class _Loaded:
    """What both ends' settings offer once checked: the context and the subject check."""

    _context: ssl.SSLContext
    verify_fields: tuple[tuple[str, str], ...]

    def context(self) -> ssl.SSLContext:
        """The context (TLS >= 1.2), loaded when the settings were built."""
        return self._context

    def verify(self, cert: Mapping[str, Any] | None) -> None:
        """Check the peer's decoded certificate (``getpeercert()``) against
        ``verify_fields``; raises :class:`VerificationException` naming the field
        that does not match."""
        if self.verify_fields:
            verify_fields(cert, dict(self.verify_fields))


@dataclass(frozen=True)
class ServerTLS(_Loaded):
    """An exporter's TLS settings, checked, with their context loaded once.

    Two exporters sharing a server compare equal when their settings do (the
    context is not compared). Build one with :meth:`from_properties`."""

    certfile: str
    keyfile: str | None
    ca_certs: str | None
    cert_reqs: ssl.VerifyMode
    verify_fields: tuple[tuple[str, str], ...]
    ciphers: str | None
    _context: ssl.SSLContext = field(compare=False, repr=False)

    @classmethod
    def from_properties(
        cls,
        *,
        certfile: Any = None,
        keyfile: Any = None,
        ca_certs: Any = None,
        cert_reqs: Any = None,
        verify_fields: Any = None,
        ciphers: Any = None,
        owner: str = "TLS server",
        required: bool = False,
    ) -> ServerTLS | None:
        """The settings from a bean's property values (text from XML accepted), or
        ``None`` for plain TCP when none is set and ``required`` is false.

        ``cert_reqs`` unset means ``CERT_REQUIRED`` when ``ca_certs`` is given, else
        ``CERT_NONE``. ``owner`` starts every error message (the bean's class name)."""
        cert, key, ca, given, fields, ciphers = _parse(owner, certfile, keyfile, ca_certs, cert_reqs,
                                                       verify_fields, ciphers)
        if cert is None:
            extra = [name for name, value in (("keyfile", key), ("ca_certs", ca), ("cert_reqs", given),
                                             ("verify_fields", fields), ("ciphers", ciphers)) if value]
            if required:
                raise ConfigurationError(f"{owner}: certfile (the server's certificate) is required for TLS")
            if extra:
                raise ConfigurationError(
                    f"{owner}: {', '.join(extra)} need certfile (the server's certificate, which turns "
                    "TLS on); set certfile or remove them"
                )
            return None
        reqs = given if given is not None else (ssl.CERT_REQUIRED if ca else ssl.CERT_NONE)
        if reqs != ssl.CERT_NONE and not ca:
            raise ConfigurationError(
                f"{owner}: cert_reqs {reqs.name} checks client certificates and needs ca_certs "
                "(the CAs they must chain to)"
            )
        if fields and reqs == ssl.CERT_NONE:
            raise ConfigurationError(
                f"{owner}: verify_fields {dict(fields)} needs client certificates, but cert_reqs is "
                "CERT_NONE; set ca_certs (and cert_reqs CERT_REQUIRED, the default with ca_certs)"
            )
        context = _server_context(owner, cert, key, ca, reqs, ciphers)
        return cls(cert, key, ca, reqs, fields, ciphers, context)

    def __str__(self) -> str:
        fields = f", verify_fields={dict(self.verify_fields)}" if self.verify_fields else ""
        return f"TLS(certfile={self.certfile}, ca_certs={self.ca_certs}, cert_reqs={self.cert_reqs.name}{fields})"


@dataclass(frozen=True)
class ClientTLS(_Loaded):
    """A proxy factory's TLS settings, checked, with their context loaded once.

    Build one with :meth:`from_properties`, or :meth:`defaults` for an
    ``https://`` URL with no TLS property set."""

    certfile: str | None
    keyfile: str | None
    ca_certs: str | None
    cert_reqs: ssl.VerifyMode
    check_hostname: bool
    verify_fields: tuple[tuple[str, str], ...]
    ciphers: str | None
    _context: ssl.SSLContext = field(compare=False, repr=False)

    @classmethod
    def from_properties(
        cls,
        *,
        certfile: Any = None,
        keyfile: Any = None,
        ca_certs: Any = None,
        cert_reqs: Any = None,
        check_hostname: Any = None,
        verify_fields: Any = None,
        ciphers: Any = None,
        owner: str = "TLS client",
        required: bool = False,
    ) -> ClientTLS | None:
        """The settings from a bean's property values (text from XML accepted), or
        ``None`` when none is set and ``required`` (an ``https`` URL) is false.

        ``cert_reqs`` unset means ``CERT_REQUIRED`` (the server's certificate is
        checked against ``ca_certs``, or the system's CAs without it);
        ``check_hostname`` unset means true. ``verify_fields`` checks the server
        certificate's subject. ``owner`` starts every error message."""
        cert, key, ca, given, fields, ciphers = _parse(owner, certfile, keyfile, ca_certs, cert_reqs,
                                                       verify_fields, ciphers)
        try:
            hostname = True if check_hostname is None or check_hostname == "" else as_bool(
                "check_hostname", check_hostname)
        except ValueError as exc:
            raise ConfigurationError(f"{owner}: {exc}") from exc
        if not required and not (cert or key or ca or given is not None or fields or ciphers
                                 or check_hostname not in (None, "")):
            return None
        if key and not cert:
            raise ConfigurationError(
                f"{owner}: keyfile {key!r} needs certfile (the client's certificate); set certfile or remove keyfile"
            )
        reqs = ssl.CERT_REQUIRED if given is None else given
        if fields and reqs == ssl.CERT_NONE:
            raise ConfigurationError(
                f"{owner}: verify_fields {dict(fields)} checks the server's certificate, but cert_reqs is "
                "CERT_NONE; remove one of them"
            )
        context = _client_context(owner, cert, key, ca, reqs, hostname, ciphers)
        return cls(cert, key, ca, reqs, hostname and reqs != ssl.CERT_NONE, fields, ciphers, context)

    @classmethod
    def defaults(cls) -> ClientTLS:
        """The settings of a client given no TLS property: the system's CAs, the
        server's certificate and host name checked."""
        settings = cls.from_properties(required=True)
        assert settings is not None
        return settings

    def __str__(self) -> str:
        fields = f", verify_fields={dict(self.verify_fields)}" if self.verify_fields else ""
        return (f"TLS(ca_certs={self.ca_certs or 'system'}, certfile={self.certfile}, "
                f"cert_reqs={self.cert_reqs.name}, check_hostname={self.check_hostname}{fields})")


def server_context(
    certfile: str,
    keyfile: str | None = None,
    ca_certs: str | None = None,
    cert_reqs: Any = ssl.CERT_NONE,
    ciphers: str | None = None,
) -> ssl.SSLContext:
    """A server-side context from explicit arguments (``cert_reqs`` defaults to
    ``CERT_NONE`` here, as in the chapter's ``SSLServer``); see :class:`ServerTLS`."""
    settings = ServerTLS.from_properties(
        certfile=certfile, keyfile=keyfile, ca_certs=ca_certs,
        cert_reqs=ssl.CERT_NONE if cert_reqs is None else cert_reqs, ciphers=ciphers, required=True,
    )
    assert settings is not None
    return settings.context()


def client_context(
    ca_certs: str | None = None,
    certfile: str | None = None,
    keyfile: str | None = None,
    cert_reqs: Any = ssl.CERT_REQUIRED,
    check_hostname: bool = True,
    ciphers: str | None = None,
) -> ssl.SSLContext:
    """A client-side context that checks the server certificate and its host name
    (without ``ca_certs``, against the system's trusted CAs); see :class:`ClientTLS`."""
    settings = ClientTLS.from_properties(
        ca_certs=ca_certs, certfile=certfile, keyfile=keyfile, cert_reqs=cert_reqs,
        check_hostname=check_hostname, ciphers=ciphers, required=True,
    )
    assert settings is not None
    return settings.context()


def subject_values(cert: Mapping[str, Any] | None) -> dict[str, list[str]]:
    """Every value of every subject field of a decoded certificate
    (``SSLSocket.getpeercert()``), in the certificate's order: a subject may name a
    field more than once (``CN=Evil, O=My Company, CN=My Client``)."""
    values: dict[str, list[str]] = {}
    for rdn in (cert or {}).get("subject", ()):
        for key, value in rdn:
            values.setdefault(key, []).append(value)
    return values


def verify_fields(cert: Mapping[str, Any] | None, expected: Mapping[str, str] | None) -> None:
    """Check that every expected subject field (RFC 3280 long name) is present and
    that *every* occurrence of it has the expected value.

    Raises :class:`VerificationException` naming the first field that does not."""
    if not expected:
        return
    if not cert:
        raise VerificationException("the peer sent no certificate")
    subject = subject_values(cert)
    for name, value in expected.items():
        found = subject.get(name)
        if not found:
            raise VerificationException(f"certificate has no {name!r} field (expected {value!r})")
        if len(found) > 1 and any(v != value for v in found):
            raise VerificationException(
                f"certificate field {name!r} occurs {len(found)} times with values {found!r}; "
                f"every occurrence must be {value!r}"
            )
        if found[0] != value:
            raise VerificationException(f"certificate field {name!r} is {found[0]!r}, expected {value!r}")


#: The header of the HTTP 403 a springpython server answers, without running the call,
#: to a client whose certificate it refused after the TLS handshake (``verify_fields``).
REFUSED_HEADER = "X-Springpython-Refused"
#: What every client says when the server refused its certificate.
CLIENT_CERTIFICATE_REFUSED = "the server refused the client certificate; the call did not run"

# The TLS alerts a server sends when it refuses the client's certificate (OpenSSL's
# reason names as ssl.SSLError.reason reports them on the client).
_REFUSAL_ALERTS = frozenset({
    "TLSV13_ALERT_CERTIFICATE_REQUIRED",
    "SSLV3_ALERT_BAD_CERTIFICATE",
    "SSLV3_ALERT_CERTIFICATE_EXPIRED",
    "SSLV3_ALERT_CERTIFICATE_REVOKED",
    "SSLV3_ALERT_CERTIFICATE_UNKNOWN",
    "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE",
    "TLSV1_ALERT_UNKNOWN_CA",
    "TLSV1_ALERT_ACCESS_DENIED",
})


def is_certificate_refusal(exc: BaseException) -> bool:
    """Whether ``exc`` (raised on the client) is the server refusing the client certificate."""
    return isinstance(exc, ssl.SSLError) and getattr(exc, "reason", None) in _REFUSAL_ALERTS


# Server side: handshake failures that refuse the client (OpenSSL's reason names), in words.
_HANDSHAKE_REFUSALS = {
    "PEER_DID_NOT_RETURN_A_CERTIFICATE": "no client certificate",
    "UNSUPPORTED_PROTOCOL": "TLS version not accepted",
    "VERSION_TOO_LOW": "TLS version not accepted",
    "NO_PROTOCOLS_AVAILABLE": "TLS version not accepted",
    "NO_SHARED_CIPHER": "no cipher in common",
}


def handshake_refusal(exc: BaseException) -> str | None:
    """Why a failed server-side handshake refused the client (its certificate, the TLS
    version, the ciphers), or ``None`` when it failed for another reason (garbage, a
    connection closed early), which is not worth a WARNING."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"client certificate not accepted: {exc.verify_message}"
    reason = getattr(exc, "reason", None) or ""
    return f"{_HANDSHAKE_REFUSALS[reason]} ({reason})" if reason in _HANDSHAKE_REFUSALS else None


def log_refusal(logger: logging.Logger, peer: str, reason: object) -> None:
    """How every server logs a refused client: once, at WARNING, with address and reason."""
    logger.warning("refused client %s: %s", peer, reason)
