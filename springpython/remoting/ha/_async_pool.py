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
from typing import Any

from ...errors import ConnectFailedError, ConnectionLostError
from ..async_proxy import AsyncProxy
from ._pool import HighAvailabilityProxyFactory, _destroy, _Refresh

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
        """:meth:`HighAvailabilityProxyFactory._call`, awaiting each attempt (and running
        each discovery look-up on a thread)."""
        attempts = self._attempts(name)
        step = next(attempts)
        while True:
            try:
                if isinstance(step, _Refresh):
                    outcome = await asyncio.to_thread(self._refresh, step.wait)
                else:
                    outcome = await getattr(step.proxy, name)(*args, **kwargs)
            except (ConnectFailedError, ConnectionLostError) as exc:
                step = attempts.throw(exc)
            else:
                try:
                    step = attempts.send(outcome)
                except StopIteration as done:
                    return done.value

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
