"""The connection to etcd: one HTTP session per etcd endpoint through etcd3gw (etcd's
JSON gateway), failing over between endpoints, with TLS, user/password tokens and
timeouts on every request, the watch stream included (its read timeout is its idle
limit).

Rules of this file:

- Every etcd request goes through :meth:`EtcdConnection._call`, which turns "etcd
  cannot be reached" (every endpoint refused, timed out or answered 503) into one
  :class:`~springpython.errors.ConnectFailedError` naming the endpoints; any other
  etcd error is a ConnectFailedError too, with etcd's own text.
- It owns sockets only; the threads that use it live in :mod:`._keeper` and
  :mod:`._watcher`."""

from __future__ import annotations

import functools
import json
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

from ...errors import ConfigurationError, ConnectFailedError

__all__ = ["EtcdConnection", "EtcdSettings", "WatchStream", "parse_endpoint", "load_etcd3gw"]

log = logging.getLogger(__name__)

T = TypeVar("T")


def load_etcd3gw() -> Any:
    """The etcd3gw module, or a ConfigurationError saying which extra to install."""
    try:
        import etcd3gw
    except ImportError as exc:
        raise ConfigurationError(
            "discovery through etcd needs the etcd3gw client: install springpython[etcd]"
        ) from exc
    return etcd3gw


@dataclass(frozen=True, slots=True)
class EtcdSettings:
    """What a connection needs: endpoint URLs, request timeout, TLS files, credentials."""

    endpoints: tuple[str, ...]
    timeout: float
    ca_certs: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)  # never shown in a repr or a log


def parse_endpoint(url: str) -> tuple[str, str, int]:
    """``http(s)://host:port`` -> (protocol, host, port); ValueError otherwise."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise ValueError(f"etcd endpoint {url!r} must be http://host:port or https://host:port")
    try:
        port = parts.port or 2379
    except ValueError:
        raise ValueError(f"etcd endpoint {url!r} has a bad port") from None
    return parts.scheme, parts.hostname, port


class EtcdConnection:
    """Requests to an etcd cluster, tried on each endpoint in turn until one answers."""

    def __init__(self, settings: EtcdSettings) -> None:
        self._etcd3gw = load_etcd3gw()
        self.settings = settings
        self._lock = threading.Lock()
        self._clients: list[Any] = [self._client(url) for url in settings.endpoints]
        self._current = 0

    @property
    def location(self) -> str:
        """The endpoint URLs, for messages."""
        return ", ".join(self.settings.endpoints)

    def _client(self, url: str) -> Any:
        import requests

        protocol, host, port = parse_endpoint(url)
        s = self.settings
        session = requests.Session()
        # the library reads no environment: no proxy, .netrc or CA bundle variables behind the settings' back
        session.trust_env = False
        # a request that names no timeout of its own is bounded by the adapter's default
        adapter = _timeout_adapter_class()((s.timeout, s.timeout))
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        if s.ca_certs:
            session.verify = s.ca_certs
        if s.certfile:
            session.cert = (s.certfile, s.keyfile) if s.keyfile else s.certfile
        return self._etcd3gw.Etcd3Client(
            host=host, port=port, protocol=protocol, timeout=s.timeout, api_path="/v3/", session=session
        )

    # -- requests -------------------------------------------------------------------
    def grant(self, ttl: int) -> int:
        """A new lease of ``ttl`` seconds; its id."""
        return self._call(lambda c: int(c.lease(ttl).id))

    def keepalive(self, lease: int) -> int:
        """Refresh a lease; its remaining TTL, or -1 when it has expired."""
        from etcd3gw.lease import Lease

        return self._call(lambda c: int(Lease(lease, c).refresh()))

    def revoke(self, lease: int) -> None:
        """End a lease now, deleting its keys."""
        from etcd3gw.lease import Lease

        self._call(lambda c: Lease(lease, c).revoke())

    def put(self, key: str, value: bytes, lease: int) -> None:
        """Store ``value`` at ``key`` under ``lease``."""
        from etcd3gw.lease import Lease

        self._call(lambda c: c.put(key, value, lease=Lease(lease, c)))

    def delete(self, key: str) -> None:
        """Delete ``key`` now."""
        self._call(lambda c: c.delete(key))

    def range_prefix(self, prefix: str) -> tuple[int, list[tuple[str, bytes]]]:
        """Every (key, value) under ``prefix`` and the store revision they were read at."""
        from etcd3gw.utils import _decode, _encode

        def read(c: Any) -> tuple[int, list[tuple[str, bytes]]]:
            body = {"key": _encode(prefix), "range_end": _encode(_range_end(prefix))}
            reply = c.post(c.get_url("/kv/range"), json=body)
            revision = int(reply.get("header", {}).get("revision", 0))
            items = [(_decode(kv["key"]).decode("utf-8"), _decode(kv.get("value", ""))) for kv in reply.get("kvs", [])]
            return revision, items

        return self._call(read)

    def open_watch(self, prefix: str, after: int, idle: float) -> "WatchStream":
        """Open one long-lived watch of ``prefix`` from revision ``after + 1`` (etcd's
        watch stream through etcd3gw's session); it ends when etcd closes it or when no
        byte came for ``idle`` seconds."""
        from etcd3gw.utils import _encode

        exceptions = self._etcd3gw.exceptions
        body = {"create_request": {"key": _encode(prefix), "range_end": _encode(_range_end(prefix)),
                                   "start_revision": after + 1}}

        def open_stream(c: Any) -> WatchStream:
            reply = c.session.post(c.get_url("/watch"), json=body, stream=True, timeout=(self.settings.timeout, idle))
            if reply.status_code != 200:
                text, reason, status = reply.text, reply.reason, reply.status_code
                reply.close()
                if status == 503:
                    raise exceptions.ConnectionFailedError(text, reason)
                raise exceptions.Etcd3Exception(text, reason)
            return WatchStream(reply)

        return self._call(open_stream)

    def close(self) -> None:
        """Close every endpoint's session."""
        for client in self._clients:
            client.session.close()

    # -- the one place that talks to etcd ----------------------------------------------------
    def _call(self, request: Callable[[Any], T]) -> T:
        import requests

        exceptions = self._etcd3gw.exceptions
        with self._lock:
            start = self._current
        count = len(self._clients)
        errors: list[str] = []
        for step in range(count):
            index = (start + step) % count
            client = self._clients[index]
            try:
                self._authenticate(client)
                try:
                    result = request(client)
                except exceptions.Etcd3Exception as exc:
                    if not self._token_refused(client, exc):
                        raise
                    result = request(client)
            except (exceptions.ConnectionFailedError, exceptions.ConnectionTimeoutError,
                    requests.exceptions.RequestException) as exc:
                errors.append(f"{self.settings.endpoints[index]}: {_reason(exc)}")
                continue
            except exceptions.Etcd3Exception as exc:
                raise ConnectFailedError(
                    f"etcd at {self.settings.endpoints[index]} refused the request: {exc.detail_text or exc}"
                ) from exc
            if index != start:
                with self._lock:
                    self._current = index
                log.info("etcd endpoint %s answers now", self.settings.endpoints[index])
            return result
        raise ConnectFailedError(f"etcd cannot be reached ({'; '.join(errors)})")

    def _authenticate(self, client: Any) -> None:
        """With ``user``, get a token once per endpoint (etcd's auth/authenticate)."""
        s = self.settings
        if s.user is None or "Authorization" in client.session.headers:
            return
        reply = client.post(client.get_url("/auth/authenticate"), json={"name": s.user, "password": s.password or ""})
        client.session.headers["Authorization"] = str(reply["token"])

    def _token_refused(self, client: Any, exc: Exception) -> bool:
        """Whether etcd refused an expired token: it is dropped, to be fetched again."""
        text = str(getattr(exc, "detail_text", "") or "")
        if self.settings.user is None or "token" not in text.lower():
            return False
        client.session.headers.pop("Authorization", None)
        self._authenticate(client)
        return True

    def __repr__(self) -> str:
        return f"<EtcdConnection {self.location}>"


class WatchStream:
    """One open etcd watch: :meth:`changes` is read by one thread, :meth:`close` may be
    called from any other to end it at once."""

    def __init__(self, response: Any) -> None:
        self._response = response

    def changes(self) -> Iterator[int]:
        """The store revision of each change as it happens; returns when the stream ends
        (etcd closed or cancelled it, it was idle too long, or :meth:`close` was called)."""
        import http.client

        import requests
        import urllib3

        try:
            for line in self._response.iter_lines(chunk_size=None):
                if not line.strip():
                    continue
                message = json.loads(line)
                result = message.get("result") if isinstance(message, dict) else None
                if not isinstance(result, dict):
                    log.debug("etcd ended a watch: %.200s", message)
                    return
                if result.get("canceled"):
                    log.debug("etcd cancelled a watch: %s", result.get("cancel_reason") or result)
                    return
                if result.get("events"):
                    yield int(result.get("header", {}).get("revision", 0))
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, http.client.HTTPException,
                OSError, ValueError, AttributeError) as exc:
            log.debug("etcd watch ended: %s", _reason(exc))
        finally:
            self._response.close()

    def close(self) -> None:
        """End the stream now: its socket is shut down, so a read under way returns."""
        try:
            fd = self._response.raw.fileno()
            with socket.fromfd(fd, socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.shutdown(socket.SHUT_RDWR)
        except (OSError, ValueError, AttributeError):
            pass  # already closed


def _reason(exc: Exception) -> str:
    """A short reason for a failed request: etcd's own text, or the connection error's."""
    text = str(getattr(exc, "detail_text", None) or exc or type(exc).__name__)
    return " ".join(text.split())[:200]


def _range_end(prefix: str) -> str:
    """The end of etcd's key range that holds exactly the keys starting with ``prefix``."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


@functools.lru_cache(maxsize=None)
def _timeout_adapter_class() -> Any:
    """An HTTP adapter class (made once, when requests is first needed) that gives every
    request a (connect, read) timeout unless the request has its own."""
    import requests.adapters

    class TimeoutAdapter(requests.adapters.HTTPAdapter):
        def __init__(self, timeout: tuple[float, float]) -> None:
            super().__init__()
            self._sp_timeout = timeout

        def send(self, request: Any, stream: bool = False, timeout: Any = None, *args: Any, **kwargs: Any) -> Any:
            return super().send(request, stream, timeout if timeout is not None else self._sp_timeout, *args, **kwargs)

    return TimeoutAdapter
