"""Calling a service method that may be ``async def``, for every dispatcher.

A dispatcher (Hessian, XML-RPC) writes its request handling as *steps*: a
generator that decodes the request, yields one :class:`Call` for the service
method, receives the method's result (or has its exception thrown in), and returns
the :class:`~springpython.remoting.http.Response`. The same steps then run two ways:

* :func:`run_steps` — on a worker thread of the embedded HTTP server or of a WSGI
  server: a plain method runs right there; a coroutine runs on the exporter's
  :class:`ServiceLoop` and the thread waits for it;
* :func:`run_steps_async` — on the event loop of an ASGI server: each step
  (decoding the request, encoding the reply) and each plain method runs on the
  loop's default thread pool, so a large request never stalls the loop; a
  coroutine is awaited on the loop itself, holding no thread while it waits.

Pyro calls methods itself, on its daemon's worker threads: :func:`blocking` turns an
``async def`` method into one that runs on the :class:`ServiceLoop` and waits.

Rules of this file:

* One :class:`ServiceLoop` per exporter (per ``SSLServer``): one thread running one
  event loop, started by the first coroutine it runs (a service without ``async def``
  methods never starts it), stopped by :meth:`ServiceLoop.close` when the service
  leaves the network. Never a new loop per call.
* A coroutine runs in a copy of the calling thread's context (``contextvars``), so
  the server span of the call is its parent span.
* :class:`~springpython.remoting.exposure.ServiceInterface` keeps the bound original
  methods; nothing here replaces them."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
import inspect
import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Generator, TypeVar

__all__ = ["Call", "Steps", "ServiceLoop", "run_steps", "run_steps_async", "blocking", "is_async"]

log = logging.getLogger(__name__)

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Call:
    """One call of a service method, yielded by a dispatcher's steps."""

    method: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


#: A dispatcher's handling of one request: yields :class:`Call`, returns the reply.
Steps = Generator[Call, Any, R]


def is_async(method: Callable[..., Any]) -> bool:
    """Whether calling ``method`` gives a coroutine to await (``async def``)."""
    return inspect.iscoroutinefunction(method) or inspect.iscoroutinefunction(getattr(method, "__call__", None))


class ServiceLoop:
    """The event loop on which an exporter runs its service's coroutines, in one
    daemon thread named after the exporter (see the rules of this file)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._closed = False
        #: The callers' futures not settled yet (failed by close() if the loop leaves them).
        self._waiting: set[concurrent.futures.Future[Any]] = set()

    @property
    def running(self) -> bool:
        """Whether the loop thread runs (it starts with the first coroutine)."""
        return self._thread is not None

    def _started(self) -> asyncio.AbstractEventLoop:
        loop = self._loop
        if loop is not None:
            return loop
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{self.name}: the service loop is closed (the service is no longer exported)")
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()
                thread = threading.Thread(target=self._serve, args=(loop, ready), daemon=True,
                                          name=f"springpython-loop-{self.name}")
                thread.start()
                ready.wait()
                self._loop, self._thread = loop, thread
                log.debug("%s: service loop started", self.name)
            return self._loop

    @staticmethod
    def _serve(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(ready.set)
        try:
            loop.run_forever()
        finally:
            try:
                _finish_tasks(loop)
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()

    def run(self, awaitable: Awaitable[R]) -> R:
        """Run ``awaitable`` on the loop, in a copy of this thread's context; wait for
        its result (or exception)."""
        try:
            loop = self._started()
        except RuntimeError:  # closed: the coroutine never runs, and is closed unstarted
            _discard(awaitable)
            raise
        done: concurrent.futures.Future[R] = concurrent.futures.Future()
        context = contextvars.copy_context()
        with self._lock:
            if self._closed:
                _discard(awaitable)
                raise RuntimeError(f"{self.name}: the service loop is closed (the service is no longer exported)")
            self._waiting.add(done)
        done.add_done_callback(self._waiting.discard)

        def start() -> None:
            try:
                task = context.run(asyncio.ensure_future, _captured(awaitable))
            except BaseException as exc:  # not awaitable after all: say so to the caller
                done.set_exception(exc)
                return
            task.add_done_callback(functools.partial(_settle, done))

        try:
            loop.call_soon_threadsafe(start)
        except RuntimeError:  # closed meanwhile: close() fails the future
            _discard(awaitable)
        return done.result()

    def close(self) -> None:
        """Stop the loop and join its thread (idempotent); coroutines still running
        are cancelled and run to their end (as ``asyncio.run`` does), and a caller whose
        call never settled gets an error instead of waiting forever."""
        with self._lock:
            self._closed = True
            loop, thread, self._loop, self._thread = self._loop, self._thread, None, None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            log.debug("%s: service loop stopped", self.name)
        with self._lock:
            waiting = list(self._waiting)
        for done in waiting:
            if not done.done():
                try:
                    done.set_exception(_cancelled())
                except concurrent.futures.InvalidStateError:  # settled just now
                    pass

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("running" if self._thread is not None else "idle")
        return f"<ServiceLoop {self.name} {state}>"


def _cancelled() -> RuntimeError:
    return RuntimeError("the call was cancelled: the service is being taken off the network")


def _settle(done: concurrent.futures.Future[Any], task: asyncio.Future[Any]) -> None:
    if done.done():  # failed by close() already
        return
    if task.cancelled():
        done.set_exception(_cancelled())
    elif task.exception() is not None:
        done.set_exception(task.exception())
    elif isinstance(task.result(), _Raised):
        done.set_exception(task.result().exc)
    else:
        done.set_result(task.result())


def _finish_tasks(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel the loop's tasks and run them to their end (what ``asyncio.run`` does
    before closing its loop), so each settles its caller's future."""
    tasks = asyncio.all_tasks(loop)
    if not tasks:
        return
    for task in tasks:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            log.debug("a service coroutine ended with %r while its loop stopped", task.exception())


def blocking(method: Callable[..., Any], loop: ServiceLoop) -> Callable[..., Any]:
    """``method`` as a thread calls it: unchanged when it is a plain method; an
    ``async def`` method runs on ``loop`` while the calling thread waits."""
    if not is_async(method):
        return method

    @functools.wraps(method)
    def run_on_loop(*args: Any, **kwargs: Any) -> Any:
        return loop.run(method(*args, **kwargs))

    return run_on_loop


def _call_blocking(call: Call, run: Callable[[Awaitable[Any]], Any]) -> Any:
    result = call.method(*call.args, **call.kwargs)
    return run(result) if inspect.isawaitable(result) else result


@dataclass(frozen=True, slots=True)
class _Done:
    value: Any


def _advance(steps: Steps[Any], result: Any, error: BaseException | None) -> Call | _Done:
    """Hand the last call's result (or exception) to ``steps``: the next call, or the reply."""
    try:
        return steps.send(result) if error is None else steps.throw(error)
    except StopIteration as stop:
        return _Done(stop.value)


def _drive(steps: Steps[R], run: Callable[[Awaitable[Any]], Any]) -> R:
    """Drive ``steps`` on this thread; ``run`` waits for a coroutine's outcome."""
    step = _advance(steps, None, None)
    while isinstance(step, Call):
        try:
            result = _call_blocking(step, run)
        except BaseException as exc:  # handed to the steps, which turn it into a fault
            step = _advance(steps, None, exc)
        else:
            step = _advance(steps, result, None)
    return step.value  # type: ignore[no-any-return]  # the steps' reply


def _discard(awaitable: Awaitable[Any]) -> None:
    """Close a coroutine that will never run (so it is not reported as never awaited)."""
    if inspect.iscoroutine(awaitable):
        awaitable.close()


def run_steps(steps: Steps[R], loop: ServiceLoop) -> R:
    """Drive ``steps`` on this thread; a coroutine runs on ``loop``."""
    return _drive(steps, loop.run)


async def run_steps_async(steps: Steps[R]) -> R:
    """Drive ``steps`` from the running event loop: the steps themselves and plain
    methods run on the loop's default thread pool, a coroutine on the loop; all in
    one copy of the caller's context, so the server span the steps open is the
    coroutine's parent."""
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()

    async def advance(result: Any, error: BaseException | None) -> Call | _Done:
        return await loop.run_in_executor(None, context.run, _advance, steps, result, error)

    step = await advance(None, None)
    while isinstance(step, Call):
        try:
            result = await _call_async(step, loop, context)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # handed to the steps, which turn it into a fault
            step = await advance(None, exc)
        else:
            step = await advance(result, None)
    return step.value  # type: ignore[no-any-return]  # the steps' reply


async def _call_async(call: Call, loop: asyncio.AbstractEventLoop, context: contextvars.Context) -> Any:
    if is_async(call.method):
        result = context.run(call.method, *call.args, **call.kwargs)
    else:
        result = await loop.run_in_executor(None, functools.partial(context.run, call.method, *call.args,
                                                                     **call.kwargs))
    if not inspect.isawaitable(result):
        return result
    # a task of its own, made in the steps' context (the task copies it)
    task = context.run(asyncio.ensure_future, _captured(result))
    try:
        outcome = await asyncio.shield(task)
    except asyncio.CancelledError:
        if task.cancelled():  # the coroutine cancelled itself: its caller gets a fault
            raise RuntimeError("the call was cancelled") from None
        task.cancel()  # this request was cancelled: so is its coroutine
        raise
    if isinstance(outcome, _Raised):
        raise outcome.exc
    return outcome


@dataclass(frozen=True, slots=True)
class _Raised:
    exc: BaseException


async def _captured(awaitable: Awaitable[R]) -> R | _Raised:
    """``awaitable``'s outcome, a service's SystemExit or KeyboardInterrupt returned
    rather than raised: raised from a task, they would stop the loop under every
    other call."""
    try:
        return await awaitable
    except (SystemExit, KeyboardInterrupt) as exc:
        return _Raised(exc)
