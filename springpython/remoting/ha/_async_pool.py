"""The asyncio twin of the high-availability pool: the same properties, endpoint
states, strategies and failure rules as :class:`HighAvailabilityProxyFactory` (whose
endpoint bookkeeping it reuses: choosing, marking down and up, the all-down error),
with async members (``AsyncHessianProxyFactory``, ``AsyncPyroProxyFactory``, …)
awaited in turn.

Rules of this file: those of :mod:`._pool`; a discovery look-up (name server,
etcd) runs off the event loop, on a thread."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from ...errors import ConnectFailedError, ConnectionLostError
from ..async_proxy import AsyncProxy
from ._pool import HighAvailabilityProxyFactory, _destroy, _Endpoint

__all__ = ["AsyncHighAvailabilityProxyFactory"]

log = logging.getLogger(__name__)


class AsyncHighAvailabilityProxyFactory(AsyncProxy, HighAvailabilityProxyFactory):
    """:class:`HighAvailabilityProxyFactory` for asyncio: ``service_pool`` holds async
    proxy factories; ``await pool.method(...)`` goes to one healthy endpoint, and the
    next one takes it when the request was not sent (or may have run, for an
    idempotent method). ``await pool.aclose()`` closes every member. Endpoints found
    by ``discovery_url`` or ``registry`` are called through the asyncio proxy factory
    of their transport, which ``endpoint_properties`` configure."""

    _ASYNC_MEMBERS = True

    async def _call(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        settings = self.__dict__.get("_configured") or self._settings()
        discovery = self.__dict__["_discovery"]
        if discovery is not None and time.monotonic() >= self.__dict__["_next_refresh"]:
            await asyncio.to_thread(self._refresh, False)
        tried: list[_Endpoint] | None = None
        last_resort = True
        refreshed = False
        lost = False
        last_exc: BaseException | None = None
        while True:
            endpoint = self._choose(tried, settings, last_resort)
            if endpoint is None:
                if discovery is not None and not refreshed:
                    refreshed = True
                    # another caller's look-up may have found endpoints while this one waited
                    if await asyncio.to_thread(self._refresh, True) or \
                            len(self.__dict__["_endpoints"]) > len(tried or ()):
                        continue
                raise self._all_down(name, lost) from last_exc
            if not endpoint.up:
                last_resort = False
            try:
                result = await getattr(endpoint.proxy, name)(*args, **kwargs)
            except (ConnectFailedError, ConnectionLostError) as exc:
                self._mark_down(endpoint, exc, settings)
                last_exc = exc
                if isinstance(exc, ConnectionLostError):
                    if not (settings.idempotent or name in settings.idempotent_methods):
                        log.warning("%s() may have run on %s before its connection failed; not retried on "
                                    "another endpoint because it is not idempotent", name, endpoint.name)
                        raise
                    lost = True
            else:
                if endpoint.failures:
                    self._mark_up(endpoint)
                return result
            tried = [endpoint] if tried is None else [*tried, endpoint]

    async def aclose(self) -> None:
        """Stop following the discovery and close every member's connections (awaiting
        each async member's ``aclose()``); the discovery closes off the loop."""
        members = await asyncio.to_thread(self._teardown)
        for proxy in members:
            close = getattr(proxy, "aclose", None)
            if close is not None:
                await close()
            else:
                _destroy(proxy)
