"""The ``EtcdRegistry`` bean: where exporters register and pools find their endpoints.

It holds the settings and the objects that own sockets and threads (the connection,
one lease keeper, one watch per followed service) and closes them on ``destroy()``."""

from __future__ import annotations

import importlib
import logging
import os
import threading
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from ...context.lifecycle import DisposableObject, InitializingObject
from ...context.properties import DeclaredProperties, object_lock, state
from ...errors import ConfigurationError
from .._values import Names, as_bool, as_float, as_int
from ._connection import EtcdConnection, EtcdSettings, parse_endpoint
from ._keeper import LeaseKeeper
from ._records import (
    TRANSPORTS,
    Registration,
    check_service_name,
    decode_registration,
    encode_registration,
    metadata_of,
    normalize_prefix,
    parse_lookup_url,
    registration_key,
    service_prefix,
)
from ._watcher import ServiceWatch

__all__ = [
    "EtcdRegistry",
    "RegistryDiscovery",
    "lookup_endpoints",
    "DEFAULT_ENDPOINT",
    "DEFAULT_TTL",
    "DEFAULT_PREFIX",
    "DEFAULT_TIMEOUT",
]

log = logging.getLogger(__name__)

#: The etcd a registry talks to unless told otherwise (etcd's own default client URL).
DEFAULT_ENDPOINT = "http://127.0.0.1:2379"
#: Seconds a registration outlives a process that died without deregistering.
DEFAULT_TTL = 10
#: Where registrations live in etcd's key space.
DEFAULT_PREFIX = "/springpython/services/"
#: Seconds one etcd request may take.
DEFAULT_TIMEOUT = 2.0

#: The proxy factory that calls each transport: (module, class).
_PROXIES = {
    "pyro5": ("springpython.remoting.pyro", "Pyro5ProxyFactory"),
    "pyro4": ("springpython.remoting.pyro", "Pyro4ProxyFactory"),
    "hessian": ("springpython.remoting.hessian", "HessianProxyFactory"),
    "xmlrpc": ("springpython.remoting.xmlrpc", "XMLRPCProxyFactory"),
}
#: The asyncio proxy factory of each transport, for the members of an async pool.
_ASYNC_PROXIES = {
    "pyro5": ("springpython.remoting.pyro", "AsyncPyro5ProxyFactory"),
    "pyro4": ("springpython.remoting.pyro", "AsyncPyro4ProxyFactory"),
    "hessian": ("springpython.remoting.hessian", "AsyncHessianProxyFactory"),
    "xmlrpc": ("springpython.remoting.xmlrpc", "AsyncXMLRPCProxyFactory"),
}


class EtcdRegistry(DeclaredProperties, InitializingObject, DisposableObject):
    """A service registry in etcd (v3 API, through etcd3gw over etcd's JSON gateway).

    Properties: ``endpoints`` (one or more ``http(s)://host:port`` URLs of the etcd
    cluster, a list or comma-separated), ``ttl`` (seconds a registration outlives a
    process that died), ``prefix`` (the key path of the registrations), ``timeout``
    (seconds per etcd request), TLS ``ca_certs``/``certfile``/``keyfile`` for
    ``https`` endpoints (verification is on; ``ca_certs`` names the CA that signed
    etcd's certificate), and ``user``/``password`` when etcd has authentication on
    (refused with ``http://`` endpoints, where they would travel unencrypted, unless
    ``allow_plain_credentials`` is true).
    Nothing connects before the first registration or look-up, so a context starts
    while etcd is down."""

    endpoints: Names = DEFAULT_ENDPOINT
    ttl: int = DEFAULT_TTL
    prefix: str = DEFAULT_PREFIX
    timeout: float = DEFAULT_TIMEOUT
    ca_certs: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    user: str | None = None
    password: str | None = None
    allow_plain_credentials: bool = False

    _connection: EtcdConnection | None = state(None)
    _keeper: LeaseKeeper | None = state(None)
    _ttl: int = state(DEFAULT_TTL)
    _prefix: str = state(DEFAULT_PREFIX)

    @property
    def _lock(self) -> threading.Lock:
        return object_lock(self, "_sp_registry_lock")

    def after_properties_set(self) -> None:
        """Check the properties (a bad one is a ConfigurationError naming it)."""
        self._connect()

    def _connect(self) -> EtcdConnection:
        with self._lock:
            if self._connection is None:
                settings = self._settings()
                self._connection = EtcdConnection(settings)
                self._keeper = LeaseKeeper(self._connection, self._ttl)
                self.__dict__["_registered"] = {}
                self.__dict__["_watches"] = []
            return self._connection

    def _settings(self) -> EtcdSettings:
        name = type(self).__name__
        try:
            urls = self.endpoints.replace(",", " ").split() if isinstance(self.endpoints, str) else self.endpoints
            if not isinstance(urls, (list, tuple, set, frozenset)) or not urls:
                raise ValueError(f"endpoints must list one or more etcd URLs, got {self.endpoints!r}")
            endpoints = tuple(str(u).strip().rstrip("/") for u in urls)
            for url in endpoints:
                parse_endpoint(url)
            ttl = as_int("ttl", self.ttl)
            if ttl < 2:
                raise ValueError(f"ttl must be at least 2 seconds (etcd's shortest lease), got {self.ttl!r}")
            timeout = as_float("timeout", self.timeout)
            if timeout is None or timeout <= 0:
                raise ValueError(f"timeout must be a positive number of seconds, got {self.timeout!r}")
            self._prefix = normalize_prefix(self.prefix)
            for prop in ("ca_certs", "certfile", "keyfile"):
                path = getattr(self, prop)
                if path not in (None, "") and not os.path.isfile(str(path)):
                    raise ValueError(f"{prop} {path!r} is not a readable file")
            if self.keyfile and not self.certfile:
                raise ValueError("keyfile is set without certfile")
            if self.password and not self.user:
                raise ValueError("password is set without user")
            allow_plain = as_bool("allow_plain_credentials", self.allow_plain_credentials)
            plain = [url for url in endpoints if parse_endpoint(url)[0] == "http"]
            if self.user and plain and not allow_plain:
                raise ValueError(
                    f"user and password would travel unencrypted to {', '.join(plain)}: use https:// endpoints "
                    "(with ca_certs), or set allow_plain_credentials to send them over http:// anyway"
                )
        except ValueError as exc:
            raise ConfigurationError(f"{name}: {exc}") from None
        self._ttl = ttl
        return EtcdSettings(endpoints, timeout, self.ca_certs or None, self.certfile or None, self.keyfile or None,
                            self.user or None, self.password)

    # -- exporters -----------------------------------------------------------------
    def register(self, service_name: str, url: str, transport: str,
                 metadata: Mapping[str, Any] | Names | None = None) -> Registration:
        """Register one endpoint of ``service_name`` under this registry's lease.

        Returns at once when etcd cannot be reached (a WARNING is logged and the
        registration is made when etcd answers); a bad argument is a ValueError."""
        self._connect()
        record = Registration(service_name, url, transport, metadata_of(metadata),
                              registration_key(self._prefix, service_name, uuid.uuid4().hex))
        value = encode_registration(record)
        assert self._keeper is not None
        self.__dict__["_registered"][record.key] = record
        if self._keeper.add(record.key, value):
            log.info("registered %s (%s) %s in etcd at %s", service_name, transport, url, self.location)
        return record

    def deregister(self, record: Registration) -> None:
        """Remove a registration now (it expires with the lease when etcd cannot be reached)."""
        if self._keeper is None:
            return
        self.__dict__["_registered"].pop(record.key, None)
        self._keeper.remove(record.key)
        log.info("deregistered %s %s from etcd", record.service_name, record.url)

    @property
    def registrations(self) -> list[Registration]:
        """What this registry registered and holds now."""
        return list(self.__dict__.get("_registered", {}).values())

    # -- clients ---------------------------------------------------------------------
    def lookup(self, service_name: str) -> list[Registration]:
        """The endpoints registered for ``service_name`` now (ConnectFailedError when
        etcd cannot be reached)."""
        connection = self._connect()
        prefix = service_prefix(self._prefix, service_name)
        _, items = connection.range_prefix(prefix)
        found = []
        for key, value in items:
            try:
                found.append(decode_registration(key, value))
            except ValueError as exc:
                log.warning("%s; ignored", exc)
        return found

    def watch(self, service_name: str, on_change: Callable[[], None] | None = None) -> ServiceWatch:
        """Follow the registrations of ``service_name`` through one long-lived etcd watch
        (started; closed with the registry, or by its own ``close()``)."""
        connection = self._connect()
        check_service_name(service_name)
        url = f"etcd://{_first_host(connection)}/{service_name}"
        watch = ServiceWatch(connection, service_prefix(self._prefix, service_name), url, on_change,
                             grace=self._ttl, resync=self._ttl, on_close=self._forget)
        with self._lock:
            self.__dict__.setdefault("_watches", []).append(watch)
        watch.start()
        return watch

    def _forget(self, watch: ServiceWatch) -> None:
        """A closed watch leaves the registry's list."""
        with self._lock:
            watches = self.__dict__.get("_watches", [])
            if watch in watches:
                watches.remove(watch)

    @property
    def location(self) -> str:
        """The etcd endpoint URLs."""
        return self._connection.location if self._connection is not None else str(self.endpoints)

    def destroy(self) -> None:
        """Stop following, revoke the lease (its registrations go at once), close the connection."""
        with self._lock:
            connection, self._connection = self._connection, None
            keeper, self._keeper = self._keeper, None
            watches = self.__dict__.pop("_watches", [])
        for watch in watches:
            watch.close()
        if keeper is not None:
            keeper.close()
        self.__dict__["_registered"] = {}
        if connection is not None:
            connection.close()

    def __enter__(self) -> "EtcdRegistry":
        self.after_properties_set()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.destroy()

    def __repr__(self) -> str:
        state = "connected" if self._connection is not None else "not connected"
        return f"<{type(self).__name__} {self.location} prefix {self._prefix} ttl {self._ttl}s {state}>"


def _first_host(connection: EtcdConnection) -> str:
    _, host, port = parse_endpoint(connection.settings.endpoints[0])
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class RegistryDiscovery:
    """A pool's endpoints from a registry: ``lookup()`` reads the followed registrations
    (no network call), ``make_proxy`` builds the proxy factory of their transport
    (its asyncio twin with ``asynchronous``, for an async pool)."""

    def __init__(self, registry: EtcdRegistry, service_name: str, on_change: Callable[[], None]) -> None:
        self._registry = registry
        self._watch = registry.watch(service_name, on_change)
        self.url = self._watch.url
        self.location = registry.location
        self._records: dict[str, Registration] = {}

    @staticmethod
    def check_properties(properties: Mapping[str, Any], asynchronous: bool = False) -> None:
        """ValueError for a key that no transport's proxy factory (async one) has."""
        known = set().union(*(_proxy_class(t, asynchronous).__sp_properties__
                              for t in TRANSPORTS if _importable(t, asynchronous)))
        for key in properties:
            if key == "service_url" or key not in known:
                raise ValueError(f"endpoint_properties names {key!r}, which is not a property of any proxy factory")

    def lookup(self) -> dict[str, str]:
        """``{key: url}`` of the registrations known now."""
        self._records = self._watch.snapshot()
        return {key: record.url for key, record in self._records.items()}

    def make_proxy(self, key: str, url: str, properties: Mapping[str, Any], asynchronous: bool = False) -> Any:
        """The proxy factory for one registration (the asyncio one with ``asynchronous``);
        ``properties`` that its class has are applied."""
        record = self._records.get(key)
        transport = record.transport if record is not None else "pyro5"
        cls = _proxy_class(transport, asynchronous)
        own = {k: v for k, v in properties.items() if k in cls.__sp_properties__}
        return cls(service_url=url, **own)

    def close(self) -> None:
        self._watch.close()

    def __repr__(self) -> str:
        return f"<RegistryDiscovery {self.url}>"


def _proxy_class(transport: str, asynchronous: bool = False) -> Any:
    module, name = (_ASYNC_PROXIES if asynchronous else _PROXIES)[transport]
    return getattr(importlib.import_module(module), name)


def _importable(transport: str, asynchronous: bool = False) -> bool:
    try:
        _proxy_class(transport, asynchronous)
    except ImportError:
        return False
    return True


def lookup_endpoints(url: str, *, prefix: str = DEFAULT_PREFIX, timeout: float = DEFAULT_TIMEOUT,
                     ca_certs: str | None = None, certfile: str | None = None, keyfile: str | None = None,
                     user: str | None = None, password: str | None = None,
                     allow_plain_credentials: bool = False) -> list[Registration]:
    """The endpoints registered for ``etcd://host:port/ServiceName`` (``etcds://`` for
    TLS), sorted by URL. A malformed URL is a ValueError; etcd unreachable a
    :class:`~springpython.errors.ConnectFailedError`; ``user`` with an ``etcd://`` URL
    a ConfigurationError unless ``allow_plain_credentials``."""
    endpoint, service_name = parse_lookup_url(url)
    registry = EtcdRegistry(endpoints=endpoint, prefix=prefix, timeout=timeout, ca_certs=ca_certs,
                            certfile=certfile, keyfile=keyfile, user=user, password=password,
                            allow_plain_credentials=allow_plain_credentials)
    with registry:
        return sorted(registry.lookup(service_name), key=lambda r: (r.url, r.key))
