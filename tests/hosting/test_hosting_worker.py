"""springpython's gunicorn worker (``springpython.hosting.worker.EmbeddedWorker``, what
``springpython run --workers`` runs) as real gunicorn processes: a SIGTERM lets the
calls in flight finish, a killed worker is replaced by one with its own context, a
reload replaces both, a worker whose arbiter is gone stops, and what it cannot serve (another application, a
context that does not start, exporters whose settings differ) stops gunicorn with a
message that says why."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers_hosting import EMBEDDED_WORKER, answering_pids, gunicorn_args, slow_call, start, stop, write_site
from support import free_port, python_env

from springpython.errors import CommunicationError
from springpython.remoting.hessian import HessianProxyFactory


def serve(directory: Path) -> tuple[subprocess.Popen, int]:
    """gunicorn with two of springpython's workers on the site in ``directory``."""
    port = free_port()
    write_site(directory, free_port())
    return start(gunicorn_args(port, "-k", EMBEDDED_WORKER), directory, port), port


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("seconds", [1.5, 11], ids=["short", "longer-than-the-servers-own-10s"])
def test_sigterm_lets_calls_in_flight_finish(tmp_path, seconds):
    """A call running when gunicorn gets SIGTERM is answered, even one longer than
    the embedded server's own 10 s close timeout (the worker waits up to gunicorn's
    graceful_timeout, 30 s); each worker's context is then destroyed and gunicorn
    exits 0."""
    proc, port = serve(tmp_path)
    # both workers booted first: gunicorn loses a SIGTERM that reaches a worker before
    # it has set its own signal handlers (the forked arbiter's handler takes it)
    answering_pids(f"http://127.0.0.1:{port}")
    caller, answers, slow = slow_call(f"http://127.0.0.1:{port}", tmp_path, seconds)
    try:
        code, _, err = stop(proc)
        caller.join(30)
    finally:
        slow.destroy()
    assert code == 0, err
    assert len(answers) == 1 and f"busy-{answers[0]}" in [p.name for p in tmp_path.glob("busy-*")]
    assert len(list(tmp_path.glob("destroyed-*"))) == 2, err


def test_a_killed_worker_is_replaced_with_its_own_context(tmp_path):
    """gunicorn replaces a worker killed with SIGKILL; the new one starts its own
    context and answers, and the other never stopped answering."""
    proc, port = serve(tmp_path)
    try:
        first = answering_pids(f"http://127.0.0.1:{port}")
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 30
        pids: set[int] = set()
        while time.monotonic() < deadline:
            proxy = HessianProxyFactory(service_url=f"http://127.0.0.1:{port}/hessian")
            try:
                pids.add(proxy.pid())  # never refused: the listening socket is gunicorn's
            finally:
                proxy.destroy()
            if pids - first:
                break
        assert pids - first, pids
        assert victim not in pids
    finally:
        code, _, err = stop(proc)
    assert code == 0, err


def test_sighup_replaces_both_workers_and_their_contexts(tmp_path):
    """gunicorn's reload (SIGHUP) boots two new workers, each with its own context, and
    the old ones destroy theirs."""
    proc, port = serve(tmp_path)
    try:
        old = answering_pids(f"http://127.0.0.1:{port}")
        proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 30
        while {p.name for p in tmp_path.glob("destroyed-*")} != {f"destroyed-{pid}" for pid in old} \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        assert {p.name for p in tmp_path.glob("destroyed-*")} == {f"destroyed-{pid}" for pid in old}
        new = answering_pids(f"http://127.0.0.1:{port}")
        assert not new & old and proc.pid not in new
    finally:
        code, _, err = stop(proc)
    assert code == 0, err


def test_workers_stop_when_their_arbiter_is_gone(tmp_path):
    """Workers whose gunicorn arbiter was killed stop by themselves, destroying their
    contexts, instead of serving on unsupervised."""
    proc, port = serve(tmp_path)
    pids: set[int] = set()
    try:
        pids = answering_pids(f"http://127.0.0.1:{port}")
        proc.kill()
        proc.wait(30)
        deadline = time.monotonic() + 30
        while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        survivors = {pid for pid in pids if alive(pid)}
    finally:
        for pid in pids:  # (they hold the test's pipes: none may outlive it)
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        stop(proc)
    assert not survivors, f"workers {survivors} outlived their arbiter"
    assert {p.name for p in tmp_path.glob("destroyed-*")} == {f"destroyed-{pid}" for pid in pids}
    proxy = HessianProxyFactory(service_url=f"http://127.0.0.1:{port}/hessian")
    try:
        with pytest.raises(CommunicationError):
            proxy.add(1, 2)
    finally:
        proxy.destroy()


def run_gunicorn(directory: Path, app: str, bind: str | None = None) -> subprocess.CompletedProcess[str]:
    """gunicorn with springpython's worker on ``app``, expected to stop by itself."""
    bind = bind or f"127.0.0.1:{free_port()}"
    args = ["-m", "gunicorn", "-w", "2", "-b", bind, "--no-control-socket", "-k", EMBEDDED_WORKER, app]
    return subprocess.run([sys.executable, *args], cwd=directory, env=python_env(directory), capture_output=True,
                          text=True, timeout=60)


def test_a_unix_socket_address_is_refused(tmp_path):
    """The worker serves TCP addresses: a Unix socket bind is a boot error that says
    so, and gunicorn stops."""
    write_site(tmp_path, free_port())
    result = run_gunicorn(tmp_path, 'springpython.hosting:wsgi_app("server.xml")', f"unix:{tmp_path / 'rpc.sock'}")
    assert result.returncode != 0
    assert "serves TCP addresses, not unix:" in result.stderr, result.stderr
    assert not list(tmp_path.glob("destroyed-*")) and not list(tmp_path.glob("busy-*"))


def test_another_application_is_refused(tmp_path):
    """The worker serves wsgi_app(...) contexts only: a plain WSGI callable is a boot
    error that names it, and gunicorn stops."""
    (tmp_path / "plain.py").write_text("def app(environ, start_response):\n    return []\n")
    result = run_gunicorn(tmp_path, "plain:app")
    assert result.returncode != 0
    assert "serves springpython.hosting:wsgi_app(...) applications, not <function app" in result.stderr


def test_a_context_that_cannot_start_stops_gunicorn(tmp_path):
    """A context whose service class does not exist fails each worker's boot with the
    container's message (file, line, object id); gunicorn stops instead of restarting
    workers forever."""
    port = free_port()
    write_site(tmp_path, port)
    xml = tmp_path / "server.xml"
    xml.write_text(xml.read_text().replace('class="hosted_service.Calculator"', 'class="hosted_service.Nowhere"'))
    result = run_gunicorn(tmp_path, 'springpython.hosting:wsgi_app("server.xml")')
    assert result.returncode != 0
    assert "Nowhere" in result.stderr and "server.xml" in result.stderr and "calculator" in result.stderr
    assert "Worker failed to boot" in result.stderr


def test_run_workers_refuses_exporters_with_different_settings(tmp_path):
    """One socket, one server: HTTP exporters whose size settings differ are refused by
    'springpython run --workers' before gunicorn starts, naming both."""
    port = free_port()
    write_site(tmp_path, port)
    xml = tmp_path / "server.xml"
    text = xml.read_text()
    first = text.index("<value>4096</value>")
    xml.write_text(text[:first] + "<value>8192</value>" + text[first + len("<value>4096</value>"):])
    result = subprocess.run([sys.executable, "-m", "springpython", "run", "--workers", "2", "server.xml"],
                            cwd=tmp_path, env=python_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "max_body_size=8192" in result.stderr and "max_body_size=4096" in result.stderr
    assert "same TLS and size settings" in result.stderr
    assert "Starting gunicorn" not in result.stderr


SLOW_DESTROY = '''

class SlowDestroy:
    """Says slow-start-PID, then slow-done-PID a second later, when the context shuts down."""

    def __init__(self, directory):
        self.directory = directory

    def destroy(self):
        Path(self.directory, f"slow-start-{os.getpid()}").write_text("")
        time.sleep(1)
        Path(self.directory, f"slow-done-{os.getpid()}").write_text("")
'''


def test_sigquit_during_the_context_shutdown_lets_it_finish(tmp_path):
    """gunicorn's quick shutdown (SIGQUIT, as its arbiter sends on Ctrl-C) reaching a
    worker whose context is shutting down does not cut that shutdown short: every
    destroy hook runs."""
    port = free_port()
    xml = write_site(tmp_path, free_port())
    service = tmp_path / "hosted_service.py"
    service.write_text(service.read_text() + SLOW_DESTROY)
    xml.write_text(xml.read_text().replace("</objects>", (
        '    <object id="slow" class="hosted_service.SlowDestroy" destroy-method="destroy">\n'
        f'        <constructor-arg><value>{tmp_path}</value></constructor-arg>\n'
        '    </object>\n</objects>')))
    proc = start(gunicorn_args(port, "-k", EMBEDDED_WORKER), tmp_path, port)
    try:
        victim = min(answering_pids(f"http://127.0.0.1:{port}"))
        os.kill(victim, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while not (tmp_path / f"slow-start-{victim}").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert (tmp_path / f"slow-start-{victim}").exists()
        os.kill(victim, signal.SIGQUIT)
        while alive(victim) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        code, _, err = stop(proc)
    assert code == 0, err
    assert (tmp_path / f"slow-done-{victim}").exists(), err
    assert (tmp_path / f"destroyed-{victim}").exists(), err


def test_max_requests_warning_is_in_gunicorns_log(tmp_path):
    """gunicorn's max_requests, which the worker does not apply, is named in gunicorn's
    own log (gunicorn gives springpython's loggers no handler)."""
    port = free_port()
    write_site(tmp_path, free_port())
    proc = start(gunicorn_args(port, "-k", EMBEDDED_WORKER, "--max-requests", "100"), tmp_path, port)
    answering_pids(f"http://127.0.0.1:{port}")
    code, _, err = stop(proc)
    assert code == 0, err
    assert err.count("max_requests (100) is not applied") == 2, err


def test_sighup_to_a_worker_shuts_its_context_down(tmp_path):
    """A worker that gets SIGHUP itself (a closed terminal sends it to every process)
    stops as on SIGTERM, destroying its context, instead of dying on the spot."""
    proc, port = serve(tmp_path)
    try:
        victim = min(answering_pids(f"http://127.0.0.1:{port}"))
        os.kill(victim, signal.SIGHUP)
        deadline = time.monotonic() + 30
        while alive(victim) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        code, _, err = stop(proc)
    assert code == 0, err
    assert (tmp_path / f"destroyed-{victim}").exists(), err
