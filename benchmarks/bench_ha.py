"""High availability: what a HighAvailabilityProxyFactory costs while every endpoint
is healthy, and how fast it fails over when a server dies.

The servers are ``springpython run`` child processes on 127.0.0.1 (Pyro5), so the
client's figures are not mixed with server work in the same interpreter.

- Throughput, all endpoints healthy, target >= 0.95: a pool of 1 endpoint against
  its own ``PyroProxyFactory`` called directly (the pool's own cost, over the same
  connection); pools of 3 endpoints (on one server, the chapter's layout, and on
  three server processes) against their three proxies called in turn by hand, the
  chapter's utility class
  (spreading calls over several connections costs the servers wake-ups that are no
  part of the pool -- about 7% on one 2-core machine -- so the baseline spreads them too),
  from one thread and from four. Both sides run in alternating slices (one thread)
  or alternating halves of each round on the same four threads, so that changes in
  the machine's load hit both alike; the best round of each side is reported.
- Failover time: a pool (``failover`` strategy, two servers) is called in a tight
  loop; the first server is SIGKILLed; the time from the kill to the first answer
  from the second server, median over several kills (the first server is restarted
  and taken back between kills). Baseline: the least any failover can cost: the
  time the killed process takes to be gone (until then its connections stay open
  and it may even answer) plus a new proxy's first call (connect and call) to a
  live server; target <= 2 times that."""

from __future__ import annotations

import itertools
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks._harness import Result
from springpython.remoting.ha import HighAvailabilityProxyFactory
from springpython.remoting.pyro import PyroProxyFactory

ROOT = Path(__file__).resolve().parent.parent
THREADS = 4

_SERVER_XML = """<?xml version="1.0" encoding="UTF-8"?>
<objects xmlns="http://www.springframework.org/springpython/schema/objects/1.1">
    <object id="service" class="benchmarks.bench_ha.Host"><constructor-arg value="{name}"/></object>
    <object id="exporter" class="springpython.remoting.pyro.PyroServiceExporter">
        <property name="service_name" value="HA"/>
        <property name="service" ref="service"/>
        <property name="service_host" value="127.0.0.1"/>
        <property name="service_port" value="{port}"/>
    </object>
</objects>
"""


class Host:
    """The benchmarked service: answers with the name of its server."""

    def __init__(self, name: str) -> None:
        self.name = name

    def whoami(self) -> str:
        return self.name


class _Server:
    """One ``springpython run`` child process serving Host(name)."""

    def __init__(self, directory: Path, name: str) -> None:
        self.xml = directory / f"{name}.xml"
        self.name = name
        self.port = 0
        self.url = ""
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.xml.write_text(_SERVER_XML.format(name=self.name, port=self.port))
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "springpython", "run", str(self.xml)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("exported exporter: "):
                self.url = line.split(": ", 1)[1].strip()
                self.port = int(self.url.rsplit(":", 1)[1])
            if line.startswith("serving"):
                return
        raise RuntimeError(f"server {self.name} exited with {self.proc.wait()} before serving")

    def kill(self) -> float:
        """SIGKILL the server; returns the seconds until the process was gone."""
        assert self.proc is not None
        start = time.monotonic()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        gone = time.monotonic() - start
        self.proc.stdout.close()  # type: ignore[union-attr]
        return gone

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)
            self.proc.stdout.close()  # type: ignore[union-attr]


def _alternating(baseline, ours, seconds: float, rounds: int = 16, slice_calls: int = 50) -> tuple[float, float]:
    """Best calls/s of ``baseline`` and ``ours`` over ``rounds`` rounds; within a round
    both run in short slices taken in turn (order swapped every pair), so a change in
    the machine's load hits both sides alike, and the best round is the one least
    disturbed by other work on the machine."""
    baseline()
    ours()
    best = [0.0, 0.0]
    for _ in range(rounds):
        totals = [0.0, 0.0]
        pairs = 0
        deadline = time.perf_counter() + seconds / rounds
        while time.perf_counter() < deadline or pairs < 4:
            for side in (0, 1) if pairs % 2 == 0 else (1, 0):
                fn = (baseline, ours)[side]
                start = time.perf_counter()
                for _ in range(slice_calls):
                    fn()
                totals[side] += time.perf_counter() - start
            pairs += 1
        for side in (0, 1):
            best[side] = max(best[side], pairs * slice_calls / totals[side])
    return best[0], best[1]


def _alternating_threads(baseline, ours, threads: int, seconds: float, rounds: int = 16) -> tuple[float, float]:
    """Best total calls/s of ``baseline`` and ``ours`` from ``threads`` threads. The same
    threads (so the same per-thread connections) run both sides, in turn, for
    ``rounds`` rounds of two timed halves (order swapped every round); the best round
    of each side is reported, as in :func:`_alternating`."""
    span = seconds / rounds / 2
    start = threading.Barrier(threads + 1)
    done = threading.Barrier(threads + 1)
    counts = [0] * threads
    plan: list = []  # the side each half runs; None tells the threads to stop

    def worker(i: int) -> None:
        baseline()
        ours()  # open this thread's connections before any timing
        while True:
            start.wait()
            fn, deadline = plan[-1]
            if fn is None:
                return
            n = 0
            while time.perf_counter() < deadline:
                fn()
                n += 1
            counts[i] = n
            done.wait()

    pool = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for thread in pool:
        thread.start()
    best = [0.0, 0.0]
    try:
        for round_ in range(rounds):
            for side in (0, 1) if round_ % 2 == 0 else (1, 0):
                began = time.perf_counter()
                plan.append(((baseline, ours)[side], began + span))
                start.wait()
                done.wait()
                best[side] = max(best[side], sum(counts) / (time.perf_counter() - began))
    finally:
        plan.append((None, 0.0))
        start.wait()
        for thread in pool:
            thread.join()
    return best[0], best[1]


def _throughput(servers: list[_Server], quick: bool) -> list[Result]:
    seconds = 1.0 if quick else 8.0
    # Each pool is made of the very proxies its baseline calls directly, so both sides
    # use the same connections (and server threads): the difference is the pool's own work.
    bare = PyroProxyFactory(service_url=servers[0].url)
    pool1 = HighAvailabilityProxyFactory(service_pool=[bare])
    same_server = [PyroProxyFactory(service_url=servers[0].url) for _ in range(3)]
    one_server = HighAvailabilityProxyFactory(service_pool=same_server)
    bares = [PyroProxyFactory(service_url=s.url) for s in servers]
    pool3 = HighAvailabilityProxyFactory(service_pool=bares)
    turn = itertools.cycle(bares)
    same_turn = itertools.cycle(same_server)

    def by_hand() -> object:
        """The chapter's utility class: the next proxy of the list, in turn."""
        return next(turn).whoami()

    def by_hand_same_server() -> object:
        return next(same_turn).whoami()

    try:
        b1, p1 = _alternating(bare.whoami, pool1.whoami, seconds)
        b1s, p3s = _alternating(by_hand_same_server, one_server.whoami, seconds)
        b3, p3 = _alternating(by_hand, pool3.whoami, seconds)
        bt, pt = _alternating_threads(by_hand, pool3.whoami, THREADS, seconds, rounds=4 if quick else 16)
    finally:
        for proxy in (bare, pool1, one_server, pool3, *bares, *same_server):
            proxy.destroy()
    hand = "round robin by hand over 3 bare proxies"
    return [
        Result("ha", "pool of 1 endpoint, 1 thread", p1, b1, "calls/s", 0.95,
               baseline_name="its PyroProxyFactory called directly"),
        Result("ha", "pool of 3 endpoints on one server, 1 thread", p3s, b1s, "calls/s", 0.95,
               baseline_name="round robin by hand over 3 bare proxies"),
        Result("ha", "pool of 3 servers (round robin), 1 thread", p3, b3, "calls/s", 0.95, baseline_name=hand),
        Result("ha", f"pool of 3 servers, {THREADS} threads", pt, bt, "calls/s", 0.95, baseline_name=hand),
    ]


def _failover(directory: Path, quick: bool) -> list[Result]:
    primary, standby = _Server(directory, "primary"), _Server(directory, "standby")
    primary.start()
    standby.start()
    pool = HighAvailabilityProxyFactory(
        service_pool=[PyroProxyFactory(service_url=primary.url), PyroProxyFactory(service_url=standby.url)],
        strategy="failover", retry_interval=0.05, max_retry_interval=0.05, idempotent_methods=["whoami"],
    )
    answers: list[tuple[float, str]] = []
    stop = threading.Event()

    def caller() -> None:
        while not stop.is_set():
            host = pool.whoami()
            answers.append((time.monotonic(), host))

    def first_answer_from(host: str, after: float, timeout: float = 30.0) -> float:
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            end = len(answers)
            for at, who in answers[seen:end]:
                if who == host and at > after:
                    return at
            seen = end
            time.sleep(0.001)
        raise RuntimeError(f"no answer from {host} within {timeout}s")

    times, connects, deaths = [], [], []
    thread = threading.Thread(target=caller)
    try:
        for _ in range(5):
            fresh = PyroProxyFactory(service_url=standby.url)
            start = time.perf_counter()
            fresh.whoami()
            connects.append(time.perf_counter() - start)
            fresh.destroy()
        thread.start()
        for _ in range(2 if quick else 7):
            first_answer_from("primary", time.monotonic())
            killed = time.monotonic()
            deaths.append(primary.kill())
            times.append(first_answer_from("standby", killed) - killed)
            primary.start()
    finally:
        stop.set()
        if thread.ident is not None:
            thread.join()
        pool.destroy()
        primary.stop()
        standby.stop()
    ms = 1000.0
    least = statistics.median(deaths) + statistics.median(connects)
    return [
        Result("ha", "failover: kill -> first answer elsewhere", statistics.median(times) * ms, least * ms,
               "ms", 2.0, higher_is_better=False, baseline_name="process gone + connect + first call"),
    ]


def run(quick: bool = False) -> list[Result]:
    """Throughput of the pool against a bare proxy, and failover time."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        servers = [_Server(directory, f"s{i}") for i in range(3)]
        try:
            for server in servers:
                server.start()
            results = _throughput(servers, quick)
        finally:
            for server in servers:
                server.stop()
        results += _failover(directory, quick)
    return results
