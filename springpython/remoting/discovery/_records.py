"""Registration records: what an exporter writes into etcd and how a reader parses it.

Pure encoding, no sockets. A registration is one key under the registry's prefix,
``<prefix><service_name>/<instance>``, whose value is UTF-8 JSON::

    {"service_name": "Quotes", "url": "PYRO:Quotes@10.0.0.5:7766",
     "transport": "pyro5", "metadata": {"zone": "b"}}

``transport`` names the proxy factory a client needs (:data:`TRANSPORTS`), because a
``PYRO:`` URL alone does not say Pyro4 or Pyro5. Also here: the ``etcd://host:port/Name``
look-up URL that ``lookup_endpoints`` accepts."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "Registration",
    "TRANSPORTS",
    "encode_registration",
    "decode_registration",
    "registration_key",
    "service_prefix",
    "parse_lookup_url",
    "normalize_prefix",
]

#: The transports a registration may name, each with the proxy factory that calls it.
TRANSPORTS = ("pyro5", "pyro4", "hessian", "xmlrpc")

_NAME = re.compile(r"^[A-Za-z0-9_.:-]+$")


@dataclass(frozen=True, slots=True)
class Registration:
    """One registered endpoint of a service: where it listens and how to call it."""

    service_name: str
    url: str
    transport: str
    metadata: Mapping[str, Any] = field(default_factory=dict)
    key: str = ""


def check_service_name(name: object) -> str:
    """A service name usable as one etcd key segment; ValueError otherwise."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"service_name must be letters, digits and _ . : - (it becomes an etcd key segment), got {name!r}"
        )
    return name


def normalize_prefix(prefix: object) -> str:
    """The key prefix, starting and ending with ``/``; ValueError for an empty or non-text one."""
    if not isinstance(prefix, str) or not prefix.strip("/ "):
        raise ValueError(f"prefix must be a non-empty key path such as '/springpython/services/', got {prefix!r}")
    return "/" + prefix.strip().strip("/") + "/"


def service_prefix(prefix: str, service_name: str) -> str:
    """The key prefix under which every instance of ``service_name`` registers."""
    return f"{normalize_prefix(prefix)}{check_service_name(service_name)}/"


def registration_key(prefix: str, service_name: str, instance: str) -> str:
    """The key of one instance's registration."""
    return service_prefix(prefix, service_name) + instance


def encode_registration(record: Registration) -> bytes:
    """The JSON value stored for ``record`` (its key is not part of the value)."""
    if record.transport not in TRANSPORTS:
        raise ValueError(f"transport must be one of {', '.join(TRANSPORTS)}, got {record.transport!r}")
    body = {
        "service_name": check_service_name(record.service_name),
        "url": record.url,
        "transport": record.transport,
        "metadata": dict(record.metadata),
    }
    return _json(body, "metadata").encode("utf-8")


def _json(value: object, what: str) -> str:
    """Strict JSON text of ``value``; ValueError naming ``what`` when it has no JSON form."""
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must hold only JSON values (text, numbers, booleans, lists, dicts): {exc}") from None


def decode_registration(key: str, value: bytes) -> Registration:
    """Parse a stored value; ValueError naming the key when it is not a registration."""
    try:
        body = json.loads(value.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"etcd key {key!r} holds no registration (not UTF-8 JSON: {exc})") from None
    if not isinstance(body, dict):
        raise ValueError(f"etcd key {key!r} holds no registration (a JSON {type(body).__name__}, not an object)")
    name, url, transport = body.get("service_name"), body.get("url"), body.get("transport")
    metadata = body.get("metadata") or {}
    if not isinstance(name, str) or not isinstance(url, str) or not url:
        raise ValueError(f"etcd key {key!r} holds no registration (service_name and url must be text)")
    if transport not in TRANSPORTS:
        raise ValueError(f"etcd key {key!r} names transport {transport!r}; expected one of {', '.join(TRANSPORTS)}")
    if not isinstance(metadata, dict):
        raise ValueError(f"etcd key {key!r}: metadata must be a JSON object, got {metadata!r}")
    return Registration(name, url, str(transport), metadata, key)


def metadata_of(value: object) -> dict[str, Any]:
    """An exporter's ``metadata`` as a record's: a dict stays, tags (text or a list) become ``{"tags": [...]}``.
    A dict whose values have no JSON form (objects, NaN) is a ValueError: it could never be registered."""
    if value is None or value == "":
        return {}
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise ValueError(f"metadata keys must be text, got {value!r}")
        found = {k: value[k] for k in value}
        _json(found, "metadata")
        return found
    items = value.replace(",", " ").split() if isinstance(value, str) else value
    if not isinstance(items, (list, tuple, set, frozenset)) or not all(isinstance(t, str) for t in items):
        raise ValueError(f"metadata must be a dict or a list of tags, got {value!r}")
    return {"tags": sorted(items)}


def parse_lookup_url(url: object) -> tuple[str, str]:
    """``etcd://host:port/ServiceName`` (or ``etcds://`` for TLS) -> (etcd endpoint URL, service name)."""
    expected = "expected etcd://host:port/ServiceName or etcds://host:port/ServiceName"
    if not isinstance(url, str):
        raise ValueError(f"{url!r} is not a look-up URL; {expected}")
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("etcd", "etcds") or not parts.hostname:
        raise ValueError(f"{url!r} is not a look-up URL; {expected}")
    try:
        port = parts.port or 2379
    except ValueError:
        raise ValueError(f"{url!r} has a bad port; {expected}") from None
    name = parts.path.strip("/")
    check_service_name(name)
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    scheme = "https" if parts.scheme.lower() == "etcds" else "http"
    return f"{scheme}://{host}:{port}", name
