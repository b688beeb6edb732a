"""A registry follows a service through one long-lived etcd watch: changes arrive as
they happen without new watches being opened, a quiet watch is replaced after ``ttl``
seconds (the full read that catches a change lost while etcd restarted), and
``close()`` ends the watch in etcd, stops its thread and leaves the registry's list.
etcd's own metrics count the watches."""

from __future__ import annotations

import threading
import time
import urllib.request
import uuid

from helpers_etcd import etcd  # noqa: F401 (etcd is a fixture)

from springpython.remoting.discovery import EtcdRegistry

STARTED = 'grpc_server_started_total{grpc_method="Watch",grpc_service="etcdserverpb.Watch"'
OPEN = "etcd_debugging_mvcc_watcher_total"


def metric(etcd, name: str) -> float:
    """One of etcd's metrics (the first line starting with ``name``)."""
    with urllib.request.urlopen(f"{etcd.url}/metrics", timeout=5) as reply:
        for line in reply.read().decode().splitlines():
            if line.startswith(name):
                return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"etcd has no metric {name}")


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout}s"
        time.sleep(0.02)


def watch_threads() -> int:
    return sum(t.name.startswith("springpython-etcd-watch") for t in threading.enumerate())


def test_one_long_lived_watch_follows_changes_and_close_ends_it(etcd):
    """Changes reach the watch through the one watch it opened; quiet for ``ttl``
    seconds, it reads everything again under a new watch; close() ends it everywhere."""
    prefix = f"/watch-{uuid.uuid4().hex[:8]}/"
    threads_before, open_before = watch_threads(), metric(etcd, OPEN)
    with EtcdRegistry(endpoints=etcd.url, ttl=2, prefix=prefix) as registry:
        watch = registry.watch("Svc")
        wait_until(lambda: metric(etcd, OPEN) == open_before + 1, 5, "the watch opening in etcd")
        started = metric(etcd, STARTED)
        assert watch_threads() == threads_before + 1
        records = []
        for n in range(4):  # changes every 0.4 s for 1.6 s: no new watch, each seen at once
            records.append(registry.register("Svc", f"http://127.0.0.1:{n + 1}/x", "xmlrpc"))
            wait_until(lambda: set(watch.snapshot()) == {r.key for r in records}, 1, f"change {n} reaching the watch")
            time.sleep(0.4)
        assert metric(etcd, STARTED) == started, "a new etcd watch was opened for a change"
        # quiet for longer than ttl (2 s): the watch is replaced once, the registrations read in full
        time.sleep(2.8)
        assert 1 <= metric(etcd, STARTED) - started <= 2
        assert set(watch.snapshot()) == {r.key for r in records}
        watch.close()
        assert not watch.following and watch_threads() == threads_before
        assert registry.__dict__["_watches"] == []
        wait_until(lambda: metric(etcd, OPEN) == open_before, 5, "the watch ending in etcd")
