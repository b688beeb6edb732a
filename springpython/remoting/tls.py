"""TLS contexts shared by every transport: TLS 1.2 or newer, certificate and
host-name checks on unless a caller turns them off by name.

The chapter's ``ssl_version`` values (``ssl.PROTOCOL_TLSv1`` and friends) are
accepted for compatibility and mean "TLS, at least 1.2", with a
``DeprecationWarning``; no link older than TLS 1.2 is ever made."""

from __future__ import annotations

import logging
import ssl
import warnings
from typing import Any, Mapping

from ..errors import ConfigurationError, VerificationException

__all__ = [
    "MINIMUM_VERSION",
    "server_context",
    "client_context",
    "parse_cert_reqs",
    "check_ssl_version",
    "subject_fields",
    "verify_fields",
    "REFUSED_HEADER",
    "CLIENT_CERTIFICATE_REFUSED",
    "is_certificate_refusal",
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


def _load(ctx: ssl.SSLContext, what: str, certfile: str | None, keyfile: str | None, ca_certs: str | None) -> None:
    try:
        if certfile:
            ctx.load_cert_chain(str(certfile), str(keyfile) if keyfile else None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(
            f"{what}: cannot load certificate {certfile!r} with key {keyfile!r}: {exc}"
        ) from exc
    try:
        if ca_certs:
            ctx.load_verify_locations(cafile=str(ca_certs))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(f"{what}: cannot load CA certificates {ca_certs!r}: {exc}") from exc


def server_context(
    certfile: str,
    keyfile: str | None = None,
    ca_certs: str | None = None,
    cert_reqs: Any = ssl.CERT_NONE,
    ciphers: str | None = None,
) -> ssl.SSLContext:
    """A server-side context; ``cert_reqs=CERT_REQUIRED`` with ``ca_certs`` asks for client certificates."""
    if not certfile:
        raise ConfigurationError("TLS server: a certificate file (certfile) is required")
    reqs = parse_cert_reqs(cert_reqs)
    if reqs != ssl.CERT_NONE and not ca_certs:
        raise ConfigurationError("TLS server: checking client certificates needs ca_certs")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = MINIMUM_VERSION
    ctx.options |= ssl.OP_NO_COMPRESSION
    _load(ctx, "TLS server", certfile, keyfile, ca_certs)
    ctx.verify_mode = reqs
    if ciphers:
        ctx.set_ciphers(ciphers)
    return ctx


def client_context(
    ca_certs: str | None = None,
    certfile: str | None = None,
    keyfile: str | None = None,
    cert_reqs: Any = ssl.CERT_REQUIRED,
    check_hostname: bool = True,
    ciphers: str | None = None,
) -> ssl.SSLContext:
    """A client-side context that checks the server certificate and its host name.

    Without ``ca_certs`` the system's trusted CAs are used."""
    reqs = parse_cert_reqs(cert_reqs)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = MINIMUM_VERSION
    ctx.check_hostname = bool(check_hostname) and reqs != ssl.CERT_NONE
    ctx.verify_mode = reqs
    if reqs != ssl.CERT_NONE and not ca_certs:
        ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
    _load(ctx, "TLS client", certfile, keyfile, ca_certs)
    if ciphers:
        ctx.set_ciphers(ciphers)
    return ctx


def subject_fields(cert: Mapping[str, Any] | None) -> dict[str, str]:
    """The subject of a decoded peer certificate (``SSLSocket.getpeercert()``) as a flat dict."""
    fields: dict[str, str] = {}
    for rdn in (cert or {}).get("subject", ()):
        for key, value in rdn:
            fields[key] = value
    return fields


def verify_fields(cert: Mapping[str, Any] | None, expected: Mapping[str, str] | None) -> None:
    """Check that every expected subject field (RFC 3280 long name) exists and matches.

    Raises :class:`VerificationException` naming the first field that does not."""
    if not expected:
        return
    if not cert:
        raise VerificationException("the peer sent no certificate")
    subject = subject_fields(cert)
    for field, value in expected.items():
        if field not in subject:
            raise VerificationException(f"certificate has no {field!r} field (expected {value!r})")
        if subject[field] != value:
            raise VerificationException(
                f"certificate field {field!r} is {subject[field]!r}, expected {value!r}"
            )


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
