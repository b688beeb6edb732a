"""Steady load through a HighAvailabilityProxyFactory, for the multi-host test.

Run as ``python ha_load_client.py CONTEXT.xml``: the context's ``service`` object is
a pool of HostService endpoints. Threads call it at a fixed total rate, even
sequence numbers with ``echo`` (idempotent) and odd ones with ``record`` (not
idempotent), until ``stop`` arrives on stdin, ``--max-calls`` calls were made or
``--max-seconds`` passed. Stdout carries one JSON object per line:

- ``{"event": "ready"}`` once the pool answered its first call;
- ``{"event": "progress", "calls": n}`` every 50 calls;
- ``{"event": "down"|"up", "endpoint": url, "at": t, "attempts": n}`` when an
  endpoint's state flips (``at`` is ``time.monotonic()``; the kernel's monotonic
  clock is shared by every process on the machine, namespaces included);
- ``{"event": "summary", ...}`` at the end: every call's outcome, and what each
  endpoint's service recorded (asked directly, not through the pool).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import threading
import time

from springpython.config import XMLConfig
from springpython.context import ApplicationContext

_out_lock = threading.Lock()


def emit(obj: dict) -> None:
    with _out_lock:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("context")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rate", type=float, default=300.0, help="calls per second, all threads together")
    parser.add_argument("--max-calls", type=int, default=20000)
    parser.add_argument("--max-seconds", type=float, default=60.0)
    args = parser.parse_args()

    ctx = ApplicationContext(XMLConfig(args.context))
    try:
        pool = ctx.get_object("service")
        pool.whoami()
        emit({"event": "ready"})
        return run(pool, args)
    finally:
        ctx.shutdown()


def run(pool, args) -> int:
    stop = threading.Event()
    counter = itertools.count()
    done = itertools.count(1)
    records: list[list] = []
    transitions: list[dict] = []
    deadline = time.monotonic() + args.max_seconds

    def read_stdin() -> None:
        for line in sys.stdin:
            if line.strip() == "stop":
                break
        stop.set()

    def monitor() -> None:
        previous = {s.name: s.up for s in pool.endpoint_states()}
        while not stop.is_set():
            for state in pool.endpoint_states():
                if previous.get(state.name, True) != state.up:
                    previous[state.name] = state.up
                    at = state.down_since if not state.up else time.monotonic()
                    event = {"event": "up" if state.up else "down", "endpoint": state.name,
                             "at": at, "attempts": state.attempts}
                    transitions.append(event)
                    emit(event)
            stop.wait(0.002)

    def worker(index: int) -> None:
        interval = args.threads / args.rate
        next_at = time.monotonic() + index * interval / args.threads
        while not stop.is_set() and time.monotonic() < deadline:
            seq = next(counter)
            if seq >= args.max_calls:
                break
            method = "echo" if seq % 2 == 0 else "record"
            start = time.monotonic()
            try:
                host, value = getattr(pool, method)(seq)
                records.append([seq, method, start, time.monotonic(), host, value, None, None])
            except Exception as exc:  # every outcome is reported, the test judges it
                records.append([seq, method, start, time.monotonic(), None, None, type(exc).__name__, str(exc)])
            n = next(done)
            if n % 50 == 0:
                emit({"event": "progress", "calls": n})
            next_at += interval
            pause = next_at - time.monotonic()
            if pause > 0:
                stop.wait(pause)
            else:
                next_at = time.monotonic()

    threading.Thread(target=read_stdin, daemon=True).start()
    watcher = threading.Thread(target=monitor)
    workers = [threading.Thread(target=worker, args=(i,)) for i in range(args.threads)]
    watcher.start()
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    stop.set()
    watcher.join()

    recorded = {}
    for proxy in pool.endpoints:
        try:
            recorded[proxy.service_url] = proxy.recorded()
        except Exception as exc:  # a server that is down has nothing to report
            recorded[proxy.service_url] = f"{type(exc).__name__}: {exc}"
    states = [
        {"name": s.name, "up": s.up, "attempts": s.attempts, "failures": s.failures, "last_error": s.last_error}
        for s in pool.endpoint_states()
    ]
    emit({"event": "summary", "threads": args.threads, "records": records, "recorded": recorded,
          "states": states, "transitions": transitions})
    return 0


if __name__ == "__main__":
    sys.exit(main())
