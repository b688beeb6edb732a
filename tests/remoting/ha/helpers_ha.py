"""Services and process helpers shared by the high-availability tests (also imported by
the child processes they start, so it depends on nothing but the standard library)."""

from __future__ import annotations

import os
import select
import subprocess
import threading
import time


class HostService:
    """Tells which host answered; ``echo`` is idempotent, ``record`` is not (it keeps state)."""

    def __init__(self, host_id: str = "host", delay: float | str = 0.0) -> None:
        self.host_id = host_id
        self.delay = float(delay)  # seconds each echo/record takes, so that calls are in flight at a kill
        self._lock = threading.Lock()
        self._recorded: list[int] = []
        self.calls = 0

    def whoami(self) -> str:
        self.calls += 1
        return self.host_id

    def echo(self, seq: int) -> list:
        self.calls += 1
        if self.delay:
            time.sleep(self.delay)
        return [self.host_id, seq]

    def record(self, seq: int) -> list:
        if self.delay:
            time.sleep(self.delay)
        with self._lock:
            self.calls += 1
            self._recorded.append(seq)
        return [self.host_id, seq]

    def recorded(self) -> list:
        with self._lock:
            return list(self._recorded)

    def fail(self, message: str) -> None:
        self.calls += 1
        raise LookupError(message)


class GatedService(HostService):
    """``slow`` waits for ``gate`` (at most ``limit`` seconds) before answering."""

    def __init__(self, host_id: str, gate: threading.Event, limit: float = 10.0) -> None:
        super().__init__(host_id)
        self.gate = gate
        self.limit = limit
        self.entered = threading.Event()

    def slow(self, seq: int) -> list:
        self.calls += 1
        self.entered.set()
        self.gate.wait(self.limit)
        return [self.host_id, seq]


class LineReader:
    """Reads a child's stdout line by line with a deadline, without a thread."""

    def __init__(self, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        self.proc = proc
        self.fd = proc.stdout.fileno()
        os.set_blocking(self.fd, False)
        self.buffer = b""
        self.lines: list[str] = []

    def readline(self, timeout: float) -> str | None:
        """The next line, or None when the child closed its stdout; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no line from {self.proc.args} within {timeout}s; so far: {self.lines[-5:]}")
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.fd, 65536)
            if not chunk:
                if self.buffer:
                    break
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        text = line.decode("utf-8", "replace")
        self.lines.append(text)
        return text

    def wait_for(self, predicate, timeout: float) -> str:
        """The first line for which ``predicate`` holds; fail on timeout or end of output."""
        deadline = time.monotonic() + timeout
        while True:
            line = self.readline(max(deadline - time.monotonic(), 0.001))
            if line is None:
                err = self.proc.stderr.read() if self.proc.stderr and self.proc.poll() is not None else ""
                raise AssertionError(f"{self.proc.args} ended (rc={self.proc.poll()}) before the expected line; "
                                     f"output: {self.lines[-10:]}\nstderr: {err}")
            if predicate(line):
                return line


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (for child processes that cannot report theirs)."""
    import socket

    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]
