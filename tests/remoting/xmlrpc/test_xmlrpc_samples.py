"""The chapter's secure XML-RPC examples in samples/sslxmlrpc/ run as two processes.

Each pair is copied into a temporary directory next to a freshly generated sample
PKI (the scripts read ./server-key.pem etc. from their working directory); port 8000
is replaced by a free port and ``/home`` by a directory the test controls."""

from __future__ import annotations

import os
import select
import shutil
import socket
import subprocess
import time

import pytest
from support import ROOT, free_port

from springpython.pki import write_sample_pki
from springpython.remoting import tls

SAMPLES = ROOT / "samples" / "sslxmlrpc"


def wait_for_port(host: str, port: int, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    """Return once host:port accepts connections; fail if the server process exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"server exited {proc.returncode} before listening:\n{out}\n{err}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listened on {host}:{port} within {timeout}s")


def prepare(tmp_path, name: str) -> tuple[int, str]:
    """Copy sample ``name`` and a fresh PKI into tmp_path; return the port and listed directory."""
    write_sample_pki(tmp_path)
    listed = tmp_path / "listed"
    listed.mkdir()
    (listed / "one.txt").write_text("1")
    port = free_port()
    for script in ("server.py", "client.py"):
        text = (SAMPLES / name / script).read_text()
        assert "8000" in text
        text = text.replace("8000", str(port)).replace('"/home"', repr(str(listed)))
        (tmp_path / script).write_text(text)
    return port, repr(os.listdir(listed))


def read_stderr_until(proc: subprocess.Popen, text: str, timeout: float = 30.0) -> str:
    """Read the process's stderr until ``text`` shows up (or the timeout); return what was read."""
    fd, seen = proc.stderr.fileno(), b""
    deadline = time.monotonic() + timeout
    while text.encode() not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        seen += chunk
    return seen.decode()


def run_pair(spawn, tmp_path, name: str, client: str = "client.py", server_logs: str | None = None):
    """Start the server, run the client to completion, stop the server; return both outputs.

    With ``server_logs`` the server is stopped only once its stderr shows that text
    (it logs from a worker thread, possibly just after the client saw the failure)."""
    port, listing = prepare(tmp_path, name)
    server = spawn(["server.py"], cwd=tmp_path)
    try:
        wait_for_port("localhost", port, proc=server)
        if client != "client.py":
            shutil.copy(SAMPLES / client, tmp_path / "other_client.py")
            text = (tmp_path / "other_client.py").read_text().replace("8000", str(port))
            (tmp_path / "other_client.py").write_text(text)
            client = "other_client.py"
        proc = spawn([client], cwd=tmp_path)
        out, err = proc.communicate(timeout=60)
        early = read_stderr_until(server, server_logs) if server_logs else ""
    finally:
        server.terminate()
        server_out, server_err = server.communicate(timeout=30)
        server_err = early + server_err
    return proc.returncode, out, err, server_err, listing


@pytest.mark.parametrize("name", ["1_encrypted", "2_client_cert", "3_verify_fields"])
def test_chapter_scenario(spawn, tmp_path, name):
    """Each of the chapter's three scenarios: the client prints pow(41, 3)."""
    code, out, err, _, _ = run_pair(spawn, tmp_path, name)
    assert code == 0, err
    assert out == "68921\n"


def test_fields_scenario_refuses_a_client_without_certificate(spawn, tmp_path):
    """The encrypted-only client fails against the fields-checking server, which logs why at WARNING."""
    code, out, err, server_err, _ = run_pair(spawn, tmp_path, "3_verify_fields", client="1_encrypted/client.py",
                                             server_logs="PEER_DID_NOT_RETURN_A_CERTIFICATE")
    assert code != 0 and out == ""
    last = err.strip().splitlines()[-1]
    assert last.startswith("springpython.errors.ConnectFailedError:"), err
    assert tls.CLIENT_CERTIFICATE_REFUSED in last
    assert "My Client" not in err
    assert "WARNING:MySSLServer:refused client 127.0.0.1:" in server_err
    assert "PEER_DID_NOT_RETURN_A_CERTIFICATE" in server_err


def test_listdir_example(spawn, tmp_path):
    """The listdir client prints the server's listing of the directory."""
    code, out, err, _, listing = run_pair(spawn, tmp_path, "listdir")
    assert code == 0, err
    assert out == listing + "\n"


def test_verbose_logging_example(spawn, tmp_path):
    """The server logs client certificates and addresses at DEBUG; the verbose client prints its traffic."""
    code, out, err, server_err, listing = run_pair(spawn, tmp_path, "verbose_logging")
    assert code == 0, err
    assert "send: b'POST /RPC2 HTTP/1.1" in out and "reply: 'HTTP/1.1 200 OK" in out
    assert out.endswith(listing + "\n")
    debug = [line for line in server_err.splitlines() if " - DEBUG - " in line and " - MySSLServer - " in line]
    assert any("sent certificate" in line and "My Client" in line and "127.0.0.1" in line for line in debug), server_err
    assert any(" - INFO - " in line and '"POST /RPC2 HTTP/1.1" 200' in line for line in server_err.splitlines())
