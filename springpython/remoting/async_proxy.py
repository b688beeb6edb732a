"""What every asynchronous proxy factory adds to its blocking twin: ``await
proxy.method(...)``, ``await proxy.aclose()`` and ``async with``.

An async proxy factory is its sync twin's class with :class:`AsyncProxy` (or
:class:`AsyncHTTPProxy`) in front: the same properties, checks, codec, fault mapping
and span target; only how a call waits differs. Attribute forwarding stays
:class:`~springpython.remoting.proxy.RemoteProxy`'s; :meth:`AsyncProxy._call` makes a
remote method's call return a coroutine.

Rules of this file:

* :class:`AsyncHTTPProxy` keeps a pool of kept-alive connections per event loop
  (a connection belongs to the loop that opened it): a call takes an idle one or opens
  one, and gives it back when the reply came and the connection is still good; at most
  :data:`MAX_IDLE` idle ones are kept per loop.
* Retry as the blocking proxies do: a call that could not be delivered on a kept
  connection is sent once more on a new one (``reconnect``); one that went out never.
* ``aclose()`` closes the calling loop's connections; ``destroy()`` (the container's
  shutdown) closes every loop's, on that loop when it runs in another thread."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
import logging
import threading
import weakref
from typing import Any, Generic, TypeVar

from ..context.properties import state
from ..errors import ConfigurationError, ConnectFailedError, RemoteFault
from . import tracing
from ._values import as_bool, as_int
from .async_http_client import AsyncHTTPConnection
from .http_proxy import HTTPProxyFactory
from .proxy import RemoteProxy

__all__ = ["AsyncProxy", "AsyncHTTPProxy", "ThreadedAsyncProxy", "MAX_IDLE", "DEFAULT_MAX_THREADS"]

log = logging.getLogger(__name__)

#: Idle connections an :class:`AsyncHTTPProxy` keeps per event loop.
MAX_IDLE = 64
#: Calls a :class:`ThreadedAsyncProxy` runs at once (its thread pool's size).
DEFAULT_MAX_THREADS = 16

S = TypeVar("S")


class AsyncProxy(RemoteProxy):
    """The asynchronous face of a proxy factory: every remote method returns a
    coroutine. Subclasses implement :meth:`_call` as a coroutine function."""

    async def aclose(self) -> None:
        """Close this proxy's connections (the next call opens new ones); a transport
        closes its socket on the loop's next turn, which this waits for."""
        self.destroy()
        await asyncio.sleep(0)

    async def __aenter__(self) -> "AsyncProxy":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class _LoopPool:
    """The connections of one proxy on one event loop (held weakly, as the pools' keys)."""

    __slots__ = ("loop", "idle", "busy")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = weakref.ref(loop)
        self.idle: list[AsyncHTTPConnection] = []
        self.busy: set[AsyncHTTPConnection] = set()


class AsyncHTTPProxy(AsyncProxy, HTTPProxyFactory[S], Generic[S]):
    """The asyncio twin of :class:`~springpython.remoting.http_proxy.HTTPProxyFactory`:
    the same properties and codec hooks (:meth:`_request`, :meth:`_reply`), over
    :class:`~springpython.remoting.async_http_client.AsyncHTTPConnection` pooled per
    event loop (see the rules of this file)."""

    #: The pool the last call used (a loop's calls mostly follow each other): found
    #: again without a look-up in the pools. Set and cleared under the pools' lock.
    _sp_last_pool: _LoopPool | None = state(None)

    # -- the pools --------------------------------------------------------------------
    def _pools(self) -> tuple["weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopPool]", threading.Lock]:
        pools = self.__dict__.get("_sp_async_pools")
        if pools is None:
            pools = self.__dict__.setdefault("_sp_async_pools", (weakref.WeakKeyDictionary(), threading.Lock()))
        return pools  # type: ignore[no-any-return]

    def _pool(self) -> _LoopPool:
        """The running loop's pool: the last call's when it belongs to this loop, else
        looked up, or made on a loop's first call, which also drops the pools of loops
        that have closed (their connections reference their loop, so the weak keys
        alone never let them go) and closes those connections' sockets."""
        loop = asyncio.get_running_loop()
        pool = self._sp_last_pool
        if pool is not None and pool.loop() is loop:
            return pool
        pools, lock = self._pools()
        closed: list[tuple[asyncio.AbstractEventLoop, _LoopPool]] = []
        with lock:
            pool = pools.get(loop)
            if pool is None:
                closed = [(old, pools.pop(old)) for old in [k for k in pools if k.is_closed()]]
                pool = pools[loop] = _LoopPool(loop)
            self.__dict__["_sp_last_pool"] = pool
        for _, stale in closed:
            _close_all(_take_all(stale))
        return pool

    def _forget_pools(self) -> None:
        """Under the pools' lock, after pools were taken out: no call finds one again."""
        self.__dict__.pop("_sp_last_pool", None)

    @staticmethod
    def _release(pool: _LoopPool, conn: AsyncHTTPConnection) -> None:
        pool.busy.discard(conn)
        if conn.connected and len(pool.idle) < MAX_IDLE:
            pool.idle.append(conn)
        else:
            conn.close()

    # -- calls ------------------------------------------------------------------------
    async def _call(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Call ``name`` remotely, inside a ``CLIENT`` span when tracing is on."""
        if not tracing.active():
            return await self._send_async(name, args, kwargs, b"")  # no span, so no trace headers
        with tracing.client_span(self._trace_target(), name):
            return await self._send_async(name, args, kwargs, tracing.http_headers())

    async def _send_async(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], headers: bytes) -> Any:
        """The call on the most recently used idle connection (reused: its exchange
        replaces it first if the server closed it meanwhile) or a new one; once more on
        a new connection when a kept one could not deliver it. The first attempt is
        :meth:`_exchange` written out, as it runs on every call."""
        pool = self._pool()
        request = self._request(name, args, kwargs)
        idle = pool.idle
        if idle:
            conn, reused = idle.pop(), True
        else:
            conn, reused = AsyncHTTPConnection(self._target()[0]), False
        busy = pool.busy
        busy.add(conn)
        try:
            result = self._reply(conn, name, await conn.exchange(request, name, headers))
        except RemoteFault:
            self._release(pool, conn)  # the service answered: the connection is fine
            raise
        except ConnectFailedError:
            busy.discard(conn)
            conn.close()
            if not reused or not as_bool("reconnect", self.reconnect):
                raise
            log.debug("reconnecting to %s", self.service_url)
        except BaseException:
            busy.discard(conn)
            conn.close()
            raise
        else:
            busy.discard(conn)
            if conn.connected and len(idle) < MAX_IDLE:
                idle.append(conn)
            else:
                conn.close()
            return result
        conn = AsyncHTTPConnection(self._target()[0])
        busy.add(conn)
        return await self._exchange(pool, conn, name, request, headers)

    async def _exchange(self, pool: _LoopPool, conn: AsyncHTTPConnection, name: str, request: bytes,
                        headers: bytes) -> Any:
        try:
            response = await conn.exchange(request, name, headers)
            result = self._reply(conn, name, response)
        except RemoteFault:
            self._release(pool, conn)  # the service answered: the connection is fine
            raise
        except BaseException:
            pool.busy.discard(conn)
            conn.close()
            raise
        self._release(pool, conn)
        return result

    # -- closing ----------------------------------------------------------------------
    async def aclose(self) -> None:
        """Close the calling loop's connections (those of other loops, in other threads,
        go on serving their calls); the transports finish closing on the loop's next turn,
        which this waits for."""
        loop = asyncio.get_running_loop()
        pools, lock = self._pools()
        with lock:
            pool = pools.pop(loop, None)
            self._forget_pools()
        if pool is not None:
            _close_all(_take_all(pool))
        await asyncio.sleep(0)

    def destroy(self) -> None:
        """Close every connection, of every loop: directly on this thread's loop or a
        stopped one, through ``call_soon_threadsafe`` on a loop running elsewhere."""
        pools, lock = self._pools()
        with lock:
            items = list(pools.items())
            pools.clear()
            self._forget_pools()
        try:
            current: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        for loop, pool in items:
            conns = _take_all(pool)
            if loop is current or not loop.is_running():  # a closed loop's sockets are closed directly
                for conn in conns:
                    conn.close()
            else:
                loop.call_soon_threadsafe(_close_all, conns)
        super().destroy()

    @property
    def connections(self) -> int:
        """How many connections are open now, across loops."""
        pools, lock = self._pools()
        with lock:
            return sum(len(pool.idle) + len(pool.busy) for pool in pools.values())


def _take_all(pool: _LoopPool) -> list[AsyncHTTPConnection]:
    """Empty ``pool``, returning its connections."""
    conns = [*pool.idle, *pool.busy]
    pool.idle.clear()
    pool.busy.clear()
    return conns


def _close_all(conns: list[AsyncHTTPConnection]) -> None:
    for conn in conns:
        conn.close()


class ThreadedAsyncProxy(AsyncProxy):
    """An async face for a transport with no asyncio of its own (Pyro): each call is
    the blocking proxy's call, run on a thread pool of at most ``max_threads``
    threads (default 16) owned by this proxy, in a copy of the caller's context (so
    the client span is the caller's child). Each pool thread keeps its own
    connection, as the blocking proxy does per thread; more concurrent calls than
    threads wait for a free one. ``aclose()`` stops the pool and closes the
    connections."""

    max_threads: int = DEFAULT_MAX_THREADS

    def _check(self) -> None:
        super()._check()
        self._max_threads()

    def _max_threads(self) -> int:
        try:
            threads = as_int("max_threads", self.max_threads)
        except ValueError as exc:
            raise ConfigurationError(f"{type(self).__name__}: {exc}") from None
        if threads < 1:
            raise ConfigurationError(f"{type(self).__name__}: max_threads must be at least 1, got {self.max_threads!r}")
        return threads

    def _executor(self) -> concurrent.futures.ThreadPoolExecutor:
        executor: concurrent.futures.ThreadPoolExecutor | None = self.__dict__.get("_sp_executor")
        if executor is None:
            with _EXECUTOR_LOCK:
                executor = self.__dict__.get("_sp_executor")
                if executor is None:
                    executor = self.__dict__["_sp_executor"] = concurrent.futures.ThreadPoolExecutor(
                        self._max_threads(), thread_name_prefix=f"springpython-{type(self).__name__}")
        return executor

    async def _call(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """The blocking proxy's call of ``name``, on the pool."""
        blocking_call = functools.partial(super()._call, name, args, kwargs)
        context = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(self._executor(), context.run, blocking_call)

    async def aclose(self) -> None:
        """Wait for the calls running on the pool, stop it and close the connections
        (off the event loop)."""
        await asyncio.to_thread(self.destroy)

    def destroy(self) -> None:
        """Stop the pool (after its running calls) and close every connection."""
        executor = self.__dict__.pop("_sp_executor", None)
        if executor is not None:
            executor.shutdown(wait=True)
        super().destroy()


# Guards the first creation of a proxy's pool (two loops may call at once).
_EXECUTOR_LOCK = threading.Lock()
