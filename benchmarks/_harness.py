"""Shared measuring and reporting for the benchmarks.

Each ``benchmarks/bench_*.py`` module has ``run(quick: bool) -> list[Result]``; every
result pairs our figure with a baseline measured in the same run, so the ratio
means something on any machine."""

from __future__ import annotations

import gc
import statistics
import threading
import time
from dataclasses import dataclass
from typing import Callable

__all__ = ["Result", "rate", "rate_threads", "best_time", "print_table"]


@dataclass(frozen=True)
class Result:
    """One row: our figure, the baseline's, and the ratio we aim for (``None``: a
    figure shown for explanation, such as one part of a larger case, with no target)."""

    group: str
    case: str
    ours: float
    baseline: float
    unit: str
    target: float | None
    higher_is_better: bool = True
    baseline_name: str = "baseline"

    @property
    def ratio(self) -> float:
        return self.ours / self.baseline if self.baseline else float("inf")

    @property
    def met(self) -> bool:
        if self.target is None:
            return True
        return self.ratio >= self.target if self.higher_is_better else self.ratio <= self.target


def rate(fn: Callable[[], object], seconds: float = 1.0, rounds: int = 3) -> float:
    """Calls per second of ``fn``: the median of ``rounds`` timed runs of about ``seconds``."""
    fn()  # warm up: connections, caches
    results = []
    for _ in range(rounds):
        n, start = 0, time.perf_counter()
        deadline = start + seconds / rounds
        while True:
            fn()
            n += 1
            if n % 8 == 0 and time.perf_counter() >= deadline:
                break
        results.append(n / (time.perf_counter() - start))
    return statistics.median(results)


def rate_threads(make_fn: Callable[[], Callable[[], object]], threads: int = 8, seconds: float = 1.0) -> float:
    """Total calls per second of ``threads`` threads, each calling its own ``make_fn()``."""
    fns = [make_fn() for _ in range(threads)]
    for fn in fns:
        fn()
    counts = [0] * threads
    stop = threading.Event()
    barrier = threading.Barrier(threads + 1)

    def worker(i: int) -> None:
        fn = fns[i]
        barrier.wait()
        while not stop.is_set():
            fn()
            counts[i] += 1

    pool = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for t in pool:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for t in pool:
        t.join()
    return sum(counts) / (time.perf_counter() - start)


def best_time(fn: Callable[[], object], repeat: int = 5) -> float:
    """The fastest of ``repeat`` runs of ``fn``, in seconds (garbage collection off while timing)."""
    times = []
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        finally:
            gc.enable()
    return min(times)


def print_table(results: list[Result]) -> None:
    """Print the results as a table, one row per case, with the target and whether it is met."""
    header = ("group", "case", "ours", "baseline", "unit", "ratio", "target", "met")
    rows = [header]
    for r in results:
        op = ">=" if r.higher_is_better else "<="
        rows.append(
            (
                r.group,
                r.case,
                f"{r.ours:,.4g}",
                f"{r.baseline:,.4g} ({r.baseline_name})",
                r.unit,
                f"{r.ratio:.2f}",
                "-" if r.target is None else f"{op} {r.target:g}",
                "-" if r.target is None else "yes" if r.met else "NO",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for n, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)))
        if n == 0:
            print("  ".join("-" * w for w in widths))
