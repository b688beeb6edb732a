"""The high-availability pool: one object that looks like the service and spreads
calls over several proxy factories of any transport.

Rules of this file:

- The pool never forwards by itself: a call arrives through
  :class:`~springpython.remoting.proxy.RemoteMethod` (the only forwarding code) in
  :meth:`HighAvailabilityProxyFactory._call`, and goes out as an ordinary method
  call on one member proxy.
- What a failure means comes from the error tree alone:
  ``ConnectFailedError`` (the request was never sent) -> mark the endpoint down and
  try the next one; ``ConnectionLostError``/``CallTimeoutError`` (it may have run)
  -> mark it down, and try the next one only for an idempotent method; anything
  else (the service's own exception, a protocol fault) -> pass it through unchanged,
  the endpoint stays up.
- Every endpoint's state is read and written under ``_lock`` only; no network call
  is ever made while holding it.
- A call tries each endpoint at most once, so it always ends.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, ClassVar, Final, Generator, Iterable, Literal, Sequence

from ...context.lifecycle import InitializingObject
from ...context.properties import object_lock
from ...errors import (
    AllEndpointsDownError,
    ConfigurationError,
    ConnectFailedError,
    ConnectionLostError,
)
from .._values import Names, as_bool, as_float, as_optional_port
from ..proxy import RemoteProxy
from ._discovery import NameServerDiscovery

__all__ = [
    "HighAvailabilityProxyFactory",
    "EndpointState",
    "ROUND_ROBIN",
    "FAILOVER",
    "DEFAULT_RETRY_INTERVAL",
    "DEFAULT_MAX_RETRY_INTERVAL",
    "DEFAULT_REFRESH_INTERVAL",
    "DEFAULT_DISCOVERY_TIMEOUT",
]

log = logging.getLogger(__name__)

ROUND_ROBIN: Final = "round_robin"
FAILOVER: Final = "failover"
STRATEGIES = (ROUND_ROBIN, FAILOVER)

#: Seconds before a down endpoint is first tried again; doubled after each failed probe.
DEFAULT_RETRY_INTERVAL = 1.0
#: The longest wait between two probes of a down endpoint, in seconds.
DEFAULT_MAX_RETRY_INTERVAL = 30.0
#: Seconds between two look-ups of ``discovery_url`` in the name server.
DEFAULT_REFRESH_INTERVAL = 5.0
#: Seconds a name server look-up may take.
DEFAULT_DISCOVERY_TIMEOUT = 5.0

#: The properties that are fixed once the pool is configured.
_SETTINGS = frozenset(
    {
        "service_pool", "strategy", "retry_interval", "max_retry_interval", "idempotent",
        "idempotent_methods", "discovery_url", "refresh_interval", "discovery_timeout",
        "nameserver_host", "nameserver_port", "endpoint_properties", "registry", "service_name",
    }
)


#: Properties of every proxy factory that only the members use (a pool forwards no call itself).
_MEMBER_SETTINGS = ("service_url", "exception_classes")


@dataclass(frozen=True, slots=True)
class EndpointState:
    """A snapshot of one endpoint's health, for monitoring (times are ``time.monotonic()``)."""

    name: str
    up: bool
    attempts: int
    failures: int
    last_error: str | None
    down_since: float | None
    last_failure: float | None
    next_probe: float | None
    discovered: bool


class _Endpoint:
    """One member of the pool and what the pool knows about its health."""

    __slots__ = (
        "proxy", "name", "up", "attempts", "failures", "last_error", "down_since", "last_failure", "retry_at",
        "discovered",
    )

    def __init__(self, proxy: Any, discovered: bool = False) -> None:
        self.proxy = proxy
        self.name = _endpoint_name(proxy)
        self.up = True
        self.attempts = 0
        self.failures = 0
        self.last_error: BaseException | None = None
        self.down_since: float | None = None
        self.last_failure: float | None = None
        self.retry_at = 0.0
        self.discovered = discovered

    def state(self) -> EndpointState:
        return EndpointState(
            self.name,
            self.up,
            self.attempts,
            self.failures,
            _describe(self.last_error),
            self.down_since,
            self.last_failure,
            None if self.up else self.retry_at,
            self.discovered,
        )


def _endpoint_name(proxy: Any) -> str:
    url = proxy.__dict__.get("service_url") if hasattr(proxy, "__dict__") else None
    if url is None:
        url = getattr(type(proxy), "service_url", None)
    if isinstance(url, str) and url:
        return url
    return repr(proxy)


def _describe(exc: BaseException | None) -> str | None:
    return None if exc is None else f"{type(exc).__name__}: {exc}"


@dataclass(frozen=True, slots=True)
class _Refresh:
    """What a call's attempts ask their driver for: a look-up of the discovery
    (``wait``: for one under way in another thread too)."""

    wait: bool


@dataclass(frozen=True, slots=True)
class _Settings:
    strategy: str
    round_robin: bool
    retry_interval: float
    max_retry_interval: float
    idempotent: bool
    idempotent_methods: frozenset[str]
    refresh_interval: float
    endpoint_properties: dict[str, Any]


class HighAvailabilityProxyFactory(RemoteProxy, InitializingObject):
    """Looks like the service; each call goes to one healthy endpoint of ``service_pool``.

    Properties (all settable from XML as text):

    - ``service_pool``: the proxy factories of the endpoints (any transport, or
      other pools), a list of ``<ref>``\\ s or inner ``<object>``\\ s.
    - ``strategy``: ``round_robin`` (default: spread calls over the healthy
      endpoints in turn) or ``failover`` (the first healthy endpoint in list order
      takes every call; the others are stand-bys).
    - ``retry_interval`` (default 1 s) and ``max_retry_interval`` (default 30 s):
      an endpoint that failed to connect is skipped for ``retry_interval`` seconds,
      then probed with the next call that comes along; each failed probe doubles the
      wait up to ``max_retry_interval``; one successful call brings it back.
    - ``idempotent_methods`` (a list or comma-separated names) and ``idempotent``
      (true for every method): a call that may have reached a server that then failed
      is retried on the next endpoint only for these methods; for any other method
      the caller gets the :class:`~springpython.errors.ConnectionLostError`.
    - ``discovery_url``: ``PYROMETA:tag[,tag...][@host[:port]]`` or
      ``PYRONAME:name[@host[:port]]``: endpoints are also found in a Pyro5 name
      server (at ``nameserver_host``/``nameserver_port`` when the URL names none)
      and looked up again every ``refresh_interval`` seconds (default 5), so new
      instances join and unregistered ones leave without a client restart;
      ``discovery_timeout`` bounds a look-up (default 5 s), and
      ``endpoint_properties`` (a dict) is given to each discovered
      ``PyroProxyFactory`` (``timeout``, ``serializer``, TLS files).
    - ``registry`` (an :class:`~springpython.remoting.discovery.EtcdRegistry`) and
      ``service_name``: endpoints are the exporters registered in etcd under that
      name, each called through the proxy factory of its registered transport
      (``endpoint_properties`` that a factory has are applied to it); the pool
      follows etcd by watching, so endpoints join and leave within moments, and
      keeps the endpoints it knew while etcd cannot be reached.

    ``service_url`` and ``exception_classes``, which every proxy factory has, are
    the members' settings: set on the pool they fail at start.

    When no endpoint can take a call it raises
    :class:`~springpython.errors.AllEndpointsDownError` (a ``ConnectFailedError``),
    which lists every endpoint with its last error. An exception raised by the
    service itself passes through unchanged and is never retried. The pool is
    thread-safe; :meth:`add_endpoint` and :meth:`remove_endpoint` change it at run
    time, :meth:`endpoint_states` shows its health, ``destroy()`` destroys every
    member proxy."""

    service_pool: Sequence[object] | None = None
    strategy: Literal["round_robin", "failover"] = ROUND_ROBIN
    retry_interval: float = DEFAULT_RETRY_INTERVAL
    max_retry_interval: float = DEFAULT_MAX_RETRY_INTERVAL
    idempotent: bool = False
    idempotent_methods: Names | None = None
    discovery_url: str | None = None
    refresh_interval: float = DEFAULT_REFRESH_INTERVAL
    discovery_timeout: float = DEFAULT_DISCOVERY_TIMEOUT
    nameserver_host: str | None = None
    nameserver_port: int | None = None
    endpoint_properties: dict[str, Any] | None = None
    registry: object = None
    service_name: str | None = None

    #: Whether found endpoints are called through asyncio proxy factories.
    _ASYNC_MEMBERS: ClassVar[bool] = False

    @property
    def _lock(self) -> threading.Lock:
        """Guards the endpoints' state; made on first use (the constructor only assigns)."""
        return object_lock(self, "_sp_lock")

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _SETTINGS and self.__dict__.get("_configured") is not None:
            raise AttributeError(
                f"{type(self).__name__}: {name} cannot change once the pool is in use; "
                "use add_endpoint()/remove_endpoint() to change the endpoints"
            )
        object.__setattr__(self, name, value)

    # -- configuration ------------------------------------------------------------
    def after_properties_set(self) -> None:
        """Check every property; a bad one raises ConfigurationError naming it."""
        self._settings()

    def _settings(self) -> _Settings:
        settings: _Settings | None = self.__dict__.get("_configured")
        if settings is not None:
            return settings
        with self._lock:
            settings = self.__dict__.get("_configured")
            if settings is None:
                settings = self._configure()
        return settings

    def _configure(self) -> _Settings:
        """Read and check the properties once, then build the endpoints (under ``_lock``)."""
        name = type(self).__name__
        try:
            strategy = str(self.strategy).strip().lower() if isinstance(self.strategy, str) else self.strategy
            if strategy not in STRATEGIES:
                raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, got {self.strategy!r}")
            retry = _seconds("retry_interval", self.retry_interval)
            max_retry = _seconds("max_retry_interval", self.max_retry_interval)
            if max_retry < retry:
                raise ValueError(
                    f"max_retry_interval ({max_retry:g}) must not be less than retry_interval ({retry:g})"
                )
            refresh = _seconds("refresh_interval", self.refresh_interval)
            timeout = _seconds("discovery_timeout", self.discovery_timeout)
            idempotent = as_bool("idempotent", self.idempotent)
            methods = _method_names(self.idempotent_methods)
            ns_port = as_optional_port("nameserver_port", self.nameserver_port)
            extra = self.endpoint_properties
            if extra is None:
                extra = {}
            if not isinstance(extra, dict) or not all(isinstance(k, str) for k in extra):
                raise ValueError(f"endpoint_properties must be a dict of property names, got {extra!r}")
            members = _members(self.service_pool)
            misplaced = [n for n in _MEMBER_SETTINGS if getattr(self, n) not in (None, "")]
            if misplaced:
                raise ValueError(
                    f"{' and '.join(misplaced)} {'belongs' if len(misplaced) == 1 else 'belong'} to the proxy "
                    "factories in service_pool, not to the pool; "
                    "set them there (or in endpoint_properties for discovered endpoints)"
                )
            discovery: Any = None
            # the registry's watch (a thread) is made last, once every property passed
            service_name: str | None = None
            if self.registry is not None:
                service_name = self._registry_service_name()
            elif self.service_name not in (None, ""):
                raise ValueError("service_name names the service to find in a registry; set registry as well")
            if self.discovery_url not in (None, "") and service_name is not None:
                raise ValueError("set either registry or discovery_url, not both")
            if self.discovery_url not in (None, ""):
                if not isinstance(self.discovery_url, str):
                    raise ValueError(f"discovery_url must be text, got {self.discovery_url!r}")
                ns_host = self.nameserver_host or None
                if ns_host is not None and not isinstance(ns_host, str):
                    raise ValueError(f"nameserver_host must be text, got {ns_host!r}")
                discovery = NameServerDiscovery(self.discovery_url, ns_host, ns_port, timeout)
        except ValueError as exc:
            raise ConfigurationError(f"{name}: {exc}") from None
        if service_name is not None or discovery is not None:
            try:
                if service_name is not None:
                    from ..discovery._registry import RegistryDiscovery

                    RegistryDiscovery.check_properties(extra, self._ASYNC_MEMBERS)
                else:
                    discovery.check_properties(extra, self._ASYNC_MEMBERS)
            except ValueError as exc:
                raise ConfigurationError(f"{name}: {exc}") from None
        else:
            if not members:
                raise ConfigurationError(
                    f"{name}: service_pool is empty and no discovery_url is set (nor registry); nothing to call"
                )
            if extra:
                raise ConfigurationError(
                    f"{name}: endpoint_properties {extra!r} configure discovered endpoints only; set discovery_url "
                    "or configure the proxies in service_pool directly"
                )
        settings = _Settings(
            strategy, strategy == ROUND_ROBIN, retry, max_retry, idempotent, methods, refresh, dict(extra)
        )
        endpoints = [_Endpoint(member) for member in members]
        if service_name is not None:
            discovery = self._registry_discovery(service_name)
        state = self.__dict__
        state["_endpoints"] = endpoints
        state["_discovered"] = {}
        state["_discovery"] = discovery
        state["_discovery_error"] = None
        state["_next_refresh"] = 0.0
        state["_refresh_lock"] = threading.Lock()
        state["_cursor"] = 0
        state["_configured"] = settings
        log.debug("pool %s configured: %s, %d endpoint(s), discovery %s", id(self), strategy, len(members), discovery)
        return settings

    def _registry_service_name(self) -> str:
        """The checked ``service_name`` to find in the checked ``registry`` (nothing started)."""
        from ..discovery import EtcdRegistry
        from ..discovery._records import check_service_name

        if not isinstance(self.registry, EtcdRegistry):
            raise ValueError(f"registry must be an EtcdRegistry (a <ref>), got {self.registry!r}")
        if self.service_name in (None, ""):
            raise ValueError("registry is set without service_name: name the service to find")
        service_name = check_service_name(self.service_name)
        self.registry.after_properties_set()
        return service_name

    def _registry_discovery(self, service_name: str) -> Any:
        """The endpoints of ``service_name`` in ``registry``, followed by watching (its thread
        starts here, after every check: a failed configure leaves no thread behind)."""
        from ..discovery._registry import RegistryDiscovery

        state = self.__dict__

        def changed() -> None:
            state["_next_refresh"] = 0.0

        return RegistryDiscovery(self.registry, service_name, changed)  # type: ignore[arg-type]

    # -- calls ------------------------------------------------------------------
    def _call(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        attempts = self._attempts(name)
        step = next(attempts)
        while True:
            try:
                if isinstance(step, _Refresh):
                    outcome = self._refresh(wait=step.wait)
                else:
                    outcome = getattr(step.proxy, name)(*args, **kwargs)
            except (ConnectFailedError, ConnectionLostError) as exc:
                step = attempts.throw(exc)
            else:
                try:
                    step = attempts.send(outcome)
                except StopIteration as done:
                    return done.value

    def _attempts(self, name: str) -> Generator[_Endpoint | _Refresh, Any, Any]:
        """The attempts of one call of ``name``, for a driver (this class's ``_call``, the
        async pool's): yields the endpoint to call next, and gets its result sent in or
        its ConnectFailedError/ConnectionLostError thrown in; yields a :class:`_Refresh`
        to run, and gets whether the endpoints changed; returns the call's result."""
        settings = self.__dict__.get("_configured") or self._settings()
        discovery = self.__dict__["_discovery"]
        if discovery is not None and time.monotonic() >= self.__dict__["_next_refresh"]:
            yield _Refresh(wait=False)
        tried: list[_Endpoint] = []
        last_resort = True
        refreshed = False
        lost = False  # an attempt may have run before its connection failed
        last_exc: BaseException | None = None
        while True:
            endpoint = self._choose(tried, settings, last_resort)
            if endpoint is None:
                if discovery is not None and not refreshed:
                    refreshed = True
                    # another caller's look-up may have found endpoints while this one waited
                    if (yield _Refresh(wait=True)) or any(e not in tried for e in self.__dict__["_endpoints"]):
                        continue
                raise self._all_down(name, lost) from last_exc
            if not endpoint.up:
                last_resort = False  # one probe of a down endpoint per call at most
            try:
                result = yield endpoint
            except ConnectFailedError as exc:
                self._mark_down(endpoint, exc, settings)
                last_exc = exc
            except ConnectionLostError as exc:
                self._mark_down(endpoint, exc, settings)
                last_exc = exc
                if not (settings.idempotent or name in settings.idempotent_methods):
                    log.warning(
                        "%s() may have run on %s before its connection failed; not retried on another "
                        "endpoint because it is not idempotent",
                        name, endpoint.name,
                    )
                    raise
                log.info("%s() failed on %s (%s); retrying it elsewhere (idempotent)", name, endpoint.name, exc)
                lost = True
            else:
                if endpoint.failures:
                    self._mark_up(endpoint)
                return result
            tried.append(endpoint)

    def _choose(self, tried: list[_Endpoint], settings: _Settings, last_resort: bool) -> _Endpoint | None:
        """The endpoint for the next attempt: a healthy one, or a down one whose probe
        is due (claimed so that only one caller probes it); with ``last_resort``, when
        nothing else is left, the untried down endpoint due soonest."""
        now = 0.0
        with self._lock:
            endpoints: list[_Endpoint] = self.__dict__["_endpoints"]
            count = len(endpoints)
            index = self.__dict__["_cursor"] if settings.round_robin else 0
            for _ in range(count):
                if index >= count:
                    index = 0
                endpoint = endpoints[index]
                index += 1
                if endpoint in tried:
                    continue
                if not endpoint.up:
                    now = now or time.monotonic()
                    if endpoint.retry_at > now:
                        continue
                    endpoint.retry_at = now + _backoff(endpoint.failures, settings)
                if settings.round_robin:
                    self.__dict__["_cursor"] = index
                endpoint.attempts += 1
                return endpoint
            if last_resort:
                waiting = [e for e in endpoints if e not in tried]
                if waiting:
                    endpoint = min(waiting, key=lambda e: e.retry_at)
                    endpoint.retry_at = (now or time.monotonic()) + _backoff(endpoint.failures, settings)
                    endpoint.attempts += 1
                    return endpoint
        return None

    def _mark_down(self, endpoint: _Endpoint, exc: BaseException, settings: _Settings) -> None:
        now = time.monotonic()
        with self._lock:
            was_up = endpoint.up
            endpoint.up = False
            endpoint.failures += 1
            endpoint.last_error = exc
            if endpoint.down_since is None:
                endpoint.down_since = now
            endpoint.last_failure = now
            endpoint.retry_at = now + _backoff(endpoint.failures, settings)
            delay = endpoint.retry_at - now
        if was_up:
            log.warning("endpoint %s is down (%s); probing it again in %.3g s", endpoint.name, exc, delay)
        else:
            log.debug("endpoint %s is still down (%s); next probe in %.3g s", endpoint.name, exc, delay)

    def _mark_up(self, endpoint: _Endpoint) -> None:
        now = time.monotonic()
        with self._lock:
            if not endpoint.failures:
                return
            down_since = endpoint.down_since
            endpoint.up = True
            endpoint.failures = 0
            endpoint.down_since = None
            endpoint.retry_at = 0.0
        log.info("endpoint %s is back after %.3g s", endpoint.name, now - (down_since or now))

    def _all_down(self, name: str, lost: bool) -> AllEndpointsDownError:
        with self._lock:
            states = [e.state() for e in self.__dict__["_endpoints"]]
            discovery = self.__dict__["_discovery"]
            discovery_error = self.__dict__["_discovery_error"]
        now = time.monotonic()
        parts = []
        for state in states:
            probe = "" if state.next_probe is None else f"; next probe in {max(state.next_probe - now, 0):.3g} s"
            parts.append(f"{state.name} ({state.last_error or 'not tried'}{probe})")
        if discovery is not None:
            found = f"look-up failed: {discovery_error}" if discovery_error else "look-up OK"
            parts.append(f"discovery {discovery.url} at {discovery.location} ({found})")
        if lost:
            outcome = f"{name}() got no answer (it may have run where its connection was lost)"
        else:
            outcome = f"{name}() was not sent"
        if not states:
            message = f"{outcome}: the pool has no endpoints"
        else:
            message = f"{outcome}: all {len(states)} endpoint(s) of the pool are down"
        return AllEndpointsDownError(
            f"{message}: {'; '.join(parts)}" if parts else message,
            endpoints=[(s.name, s.last_error) for s in states],
        )

    # -- discovery --------------------------------------------------------------
    def refresh(self) -> None:
        """Look ``discovery_url`` up now: add new instances, drop unregistered ones.

        Raises ConnectFailedError when the name server cannot be reached (the
        current endpoints are kept)."""
        self._settings()
        if self.__dict__["_discovery"] is None:
            return
        with self.__dict__["_refresh_lock"]:
            self._do_refresh()

    def _refresh(self, wait: bool) -> bool:
        """Refresh unless another thread is already doing it; True if endpoints changed."""
        lock = self.__dict__["_refresh_lock"]
        if not lock.acquire(blocking=wait):
            return False
        try:
            if not wait and time.monotonic() < self.__dict__["_next_refresh"]:
                return False
            try:
                return self._do_refresh()
            except ConnectFailedError as exc:
                log.warning("could not refresh the pool's endpoints: %s", exc)
                return False
        finally:
            lock.release()

    def _do_refresh(self) -> bool:
        """One look-up and the resulting changes to the endpoints (holding the refresh lock)."""
        discovery: NameServerDiscovery = self.__dict__["_discovery"]
        settings: _Settings = self.__dict__["_configured"]
        self.__dict__["_next_refresh"] = time.monotonic() + settings.refresh_interval
        try:
            found = discovery.lookup()
        except ConnectFailedError as exc:
            self.__dict__["_discovery_error"] = exc
            raise
        self.__dict__["_discovery_error"] = None
        known: dict[str, _Endpoint] = self.__dict__["_discovered"]
        with self._lock:
            gone = [n for n, e in known.items() if found.get(n) != e.name]
            new = {n: uri for n, uri in found.items() if n not in known or known[n].name != uri}
        if not gone and not new:
            return False
        added = {n: _Endpoint(self._make_member(discovery, n, uri, settings.endpoint_properties), discovered=True)
                 for n, uri in sorted(new.items())}
        with self._lock:
            removed = [known.pop(n) for n in gone if n in known]
            endpoints = [e for e in self.__dict__["_endpoints"] if all(e is not r for r in removed)]
            endpoints.extend(added.values())
            self.__dict__["_endpoints"] = endpoints
            known.update(added)
        for endpoint in removed:
            log.info("endpoint %s left (no longer registered as %s)", endpoint.name, discovery.url)
            _destroy(endpoint.proxy)
        for endpoint in added.values():
            log.info("endpoint %s joined (found by %s)", endpoint.name, discovery.url)
        return True

    def _make_member(self, discovery: Any, name: str, url: str, properties: dict[str, Any]) -> Any:
        """The proxy factory of one found endpoint (a blocking one here; the async pool's
        are its asyncio twins)."""
        return discovery.make_proxy(name, url, properties, self._ASYNC_MEMBERS)

    # -- run-time changes and monitoring ------------------------------------------
    def add_endpoint(self, proxy: Any) -> None:
        """Add a proxy factory to the pool; it takes calls from now on."""
        self._settings()
        if proxy is None or isinstance(proxy, (str, bytes)):
            raise TypeError(f"add_endpoint takes a proxy factory, got {proxy!r}")
        with self._lock:
            endpoints = self.__dict__["_endpoints"]
            if any(e.proxy is proxy for e in endpoints):
                raise ValueError(f"{_endpoint_name(proxy)} is already in the pool")
            self.__dict__["_endpoints"] = [*endpoints, _Endpoint(proxy)]
        log.info("endpoint %s added", _endpoint_name(proxy))

    def remove_endpoint(self, endpoint: Any, destroy: bool = True) -> Any:
        """Take an endpoint (its proxy, or its service_url) out of the pool and return
        its proxy; with ``destroy`` (the default) its connections are closed."""
        self._settings()
        with self._lock:
            endpoints = self.__dict__["_endpoints"]
            match = [e for e in endpoints if e.proxy is endpoint or (isinstance(endpoint, str) and e.name == endpoint)]
            if not match:
                names = ", ".join(e.name for e in endpoints) or "none"
                raise ValueError(f"{endpoint!r} is not in the pool; its endpoints are: {names}")
            removed = match[0]
            self.__dict__["_endpoints"] = [e for e in endpoints if e is not removed]
            known = self.__dict__["_discovered"]
            for key in [k for k, e in known.items() if e is removed]:
                del known[key]
        log.info("endpoint %s removed", removed.name)
        if destroy:
            _destroy(removed.proxy)
        return removed.proxy

    def endpoint_states(self) -> list[EndpointState]:
        """The health of every endpoint now, in pool order."""
        self._settings()
        with self._lock:
            return [e.state() for e in self.__dict__["_endpoints"]]

    @property
    def endpoints(self) -> list[Any]:
        """The member proxies, in pool order."""
        self._settings()
        with self._lock:
            return [e.proxy for e in self.__dict__["_endpoints"]]

    # -- RemoteProxy ------------------------------------------------------------
    def destroy(self) -> None:
        """Destroy every member proxy (closing their connections); safe to call again."""
        for proxy in self._teardown():
            _destroy(proxy)

    def _teardown(self) -> list[Any]:
        """Stop following the discovery (if any) and return the members to close: the
        part of closing that :meth:`destroy` and the async pool's ``aclose()`` share."""
        if self.__dict__.get("_configured") is None:
            return _members_quietly(self.service_pool)
        with self._lock:
            members = [e.proxy for e in self.__dict__["_endpoints"]]
        discovery = self.__dict__["_discovery"]
        if discovery is not None:
            discovery.close()
        return members

    def __enter__(self) -> "HighAvailabilityProxyFactory":
        self.after_properties_set()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.destroy()

    @property
    def connections(self) -> int:
        """Open connections of all members, across threads."""
        if self.__dict__.get("_configured") is None:
            return 0
        with self._lock:
            members = [e.proxy for e in self.__dict__["_endpoints"]]
        return sum(p.connections for p in members if isinstance(p, RemoteProxy))

    def __repr__(self) -> str:
        if self.__dict__.get("_configured") is None:
            return f"<{type(self).__name__} not configured>"
        with self._lock:
            endpoints = list(self.__dict__["_endpoints"])
        up = sum(e.up for e in endpoints)
        return f"<{type(self).__name__} {self.__dict__['_configured'].strategy} {up}/{len(endpoints)} endpoints up>"


def _seconds(name: str, value: Any) -> float:
    seconds = as_float(name, value)
    if seconds is None:
        raise ValueError(f"{name} must be a number of seconds, got {value!r}")
    return seconds


def _backoff(failures: int, settings: _Settings) -> float:
    exponent = min(max(failures - 1, 0), 30)
    factor: int = 2**exponent
    return min(settings.retry_interval * factor, settings.max_retry_interval)


def _method_names(value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    items: Iterable[Any] = value.replace(",", " ").split() if isinstance(value, str) else value
    if not isinstance(items, (list, tuple, set, frozenset)) and not isinstance(value, str):
        raise ValueError(f"idempotent_methods must be a list of method names, got {value!r}")
    names = set()
    for item in items:
        if not isinstance(item, str) or not item.strip().isidentifier():
            raise ValueError(f"idempotent_methods must contain method names, got {item!r} in {value!r}")
        names.add(item.strip())
    return frozenset(names)


def _members(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (str, bytes, dict)) or not isinstance(value, (list, tuple)):
        raise ValueError(f"service_pool must be a list of proxy factories, got {value!r}")
    members: list[Any] = []
    for item in value:
        if item is None or isinstance(item, (str, bytes, int, float, dict, list, tuple)):
            raise ValueError(
                f"service_pool must contain proxy factories (a <ref> or an inner <object>), got {item!r}"
            )
        if any(item is m for m in members):
            raise ValueError(f"service_pool lists {_endpoint_name(item)} twice")
        members.append(item)
    return members


def _members_quietly(value: Any) -> list[Any]:
    try:
        return _members(value)
    except ValueError:
        return []


def _destroy(proxy: Any) -> None:
    destroy = getattr(type(proxy), "destroy", None)
    if destroy is None:
        return
    try:
        destroy(proxy)
    except Exception:  # one member failing to close must not keep the others open
        log.warning("destroying endpoint %s failed", _endpoint_name(proxy), exc_info=True)
