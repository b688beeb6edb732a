"""The live status page of `springpython run --admin`: its JSON after known calls,
and the page as a real headless Chromium renders it once its script ran; the admin
address's TLS rule for non-loopback hosts."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from support import free_port, python_env

from springpython.admin import AdminServer, MetricsRegistry, is_loopback, loopback_host_header
from springpython.errors import ConfigurationError
from springpython.remoting.hessian import HessianProxyFactory
from springpython.remoting.pyro import PyroProxyFactory
from springpython.status_page import Status, method_stats, render_html

SERVICES = Path(__file__).resolve().parent / "remoting"
CHROMIUM_WAIT_MS = 6000


def chromium() -> str:
    """Debian's chromium; installed here with apt-get when missing and root."""
    found = shutil.which("chromium")
    if found:
        return found
    if os.geteuid() != 0:
        raise AssertionError("chromium is missing: install Debian's chromium (apt-get install chromium)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]):
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise AssertionError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    found = shutil.which("chromium")
    if not found:
        raise AssertionError("chromium was installed but is not on PATH")
    return found


def render(url: str, *options: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium on ``url`` with ``options``, after the page's script had time to run."""
    return subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
         "--window-size=1200,1000", f"--virtual-time-budget={CHROMIUM_WAIT_MS}", *options, url],
        capture_output=True, text=True, timeout=120,
    )


SERVER_XML = """\
<?xml version="1.0"?>
<objects xmlns="http://www.springframework.org/springpython/schema/objects/1.1">
    <object id="end" class="tracing_child.Hop"><constructor-arg value="end"/></object>
    <object id="end_exporter" class="springpython.remoting.xmlrpc.XMLRPCServiceExporter">
        <property name="service" ref="end"/>
        <property name="service_host" value="127.0.0.1"/>
        <property name="service_port" value="{end_port}"/>
        <property name="path" value="/end"/>
    </object>
    <object id="dead_end" class="springpython.remoting.xmlrpc.XMLRPCProxyFactory">
        <property name="service_url" value="http://127.0.0.1:{dead_port}/end"/>
    </object>
    <object id="live_end" class="springpython.remoting.xmlrpc.XMLRPCProxyFactory">
        <property name="service_url" value="http://127.0.0.1:{end_port}/end"/>
    </object>
    <object id="ends" class="springpython.remoting.ha.HighAvailabilityProxyFactory">
        <property name="service_pool"><list><ref object="dead_end"/><ref object="live_end"/></list></property>
        <property name="strategy" value="failover"/>
    </object>
    <object id="hop" class="tracing_child.Hop">
        <constructor-arg value="hop"/>
        <constructor-arg><ref object="ends"/></constructor-arg>
    </object>
    <object id="hessian" class="springpython.remoting.hessian.HessianServiceExporter">
        <property name="service" ref="hop"/>
        <property name="service_host" value="127.0.0.1"/>
        <property name="service_port" value="0"/>
        <property name="path" value="/hop"/>
    </object>
    <object id="pyro" class="springpython.remoting.pyro.PyroServiceExporter">
        <property name="service" ref="hop"/>
        <property name="service_name" value="Hop"/>
        <property name="service_host" value="127.0.0.1"/>
        <property name="service_port" value="0"/>
    </object>
</objects>
"""


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    """``springpython run --admin 127.0.0.1:0`` on a context with Hessian, Pyro5 and XML-RPC
    exporters and a pool with one dead endpoint, after known calls: (printed URLs, process)."""
    directory = tmp_path_factory.mktemp("status")
    xml = directory / "server.xml"
    xml.write_text(SERVER_XML.format(end_port=free_port(), dead_port=free_port()))
    proc = subprocess.Popen([sys.executable, "-m", "springpython", "run", "--admin", "127.0.0.1:0", str(xml)],
                            cwd=SERVICES, env=python_env(SERVICES), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        urls = {}
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("serving"):
                break
            name, _, url = line.strip().partition(": ")
            urls[name] = url
        assert "status" in urls, (urls, proc.poll(), proc.stderr.read() if proc.stderr else "")
        with HessianProxyFactory(urls["exported hessian"]) as hessian, PyroProxyFactory(urls["exported pyro"]) as pyro:
            for text in ("a", "b"):
                assert hessian.relay(text) == f"{text}>hop>end"
            for key in ("x", "y", "z"):
                with pytest.raises(KeyError):
                    hessian.fail(key)
            assert pyro.relay("c") == "c>hop>end"
        yield urls, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as reply:
        assert reply.headers["Content-Type"] == "application/json"
        return json.loads(reply.read())


def test_status_json_counts_known_calls(running):
    """After known calls, /status.json lists the exporters and counts calls and errors per method and side."""
    urls, _ = running
    status = get_json(urls["status"] + "status.json")
    exporters = {e["name"]: e for e in status["exporters"]}
    assert {name: (e["transport"], e["url"], e["tls"], e["exported"]) for name, e in exporters.items()} == {
        "end_exporter": ("XML-RPC", urls["exported end_exporter"], False, True),
        "hessian": ("Hessian", urls["exported hessian"], False, True),
        "pyro": ("Pyro5", urls["exported pyro"], False, True),
    }
    counts = {(m["side"], m["system"], m["method"]): (m["calls"], m["errors"], m["error_types"])
              for m in status["methods"]}
    assert counts == {
        ("server", "hessian", "relay"): (2, 0, {}),
        ("server", "hessian", "fail"): (3, 3, {"builtins.KeyError": 3}),
        ("server", "pyro5", "relay"): (1, 0, {}),
        ("server", "xmlrpc", "relay"): (3, 0, {}),
        ("client", "xmlrpc", "relay"): (4, 1, {"springpython.errors.ConnectFailedError": 1}),
    }
    assert all(m["total_ms"] > 0 and m["mean_ms"] > 0 for m in status["methods"])
    [pool] = status["pools"]
    assert pool["name"] == "ends"
    assert [(e["up"], e["failures"] > 0) for e in pool["endpoints"]] == [(False, True), (True, False)]
    assert pool["endpoints"][0]["last_error"] and pool["endpoints"][0]["down_for"] >= 0


def test_status_page_in_headless_chromium(running, tmp_path):
    """Chromium renders / with the exporters, method names and pool states filled in by the page's script."""
    urls, _ = running
    done = render(urls["status"], "--dump-dom")
    assert done.returncode == 0, done.stderr
    dom = done.stdout
    assert 'data-polls="' in dom, "the page's script did not run:\n" + dom[-3000:]
    for text in (urls["exported hessian"], urls["exported pyro"], "Hessian", "Pyro5", "XML-RPC", "relay", "fail",
                 "builtins.KeyError ×3", "ends", ">down<", ">up<"):
        assert text in dom, text
    shot = tmp_path / "status.png"
    done = render(urls["status"], f"--screenshot={shot}")
    assert done.returncode == 0, done.stderr
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def test_status_page_and_metrics_answer_get_only(running):
    """Other methods get 405; HEAD is answered; the page carries its content security policy."""
    urls, _ = running
    base = urls["status"]
    for path in ("", "status.json", "metrics"):
        request = urllib.request.Request(base + path, method="POST", data=b"x")
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=10)
        assert caught.value.code == 405 and caught.value.headers["Allow"] == "GET, HEAD"
        caught.value.close()
    with urllib.request.urlopen(urllib.request.Request(base, method="HEAD"), timeout=10) as reply:
        assert reply.status == 200 and reply.read() == b""
        assert "script-src 'sha256-" in reply.headers["Content-Security-Policy"]


def test_method_stats_from_prometheus_samples():
    """Calls, errors by type and total latency per side and method come from the histograms' samples."""
    samples = [
        ("rpc_server_duration_milliseconds_count", {"rpc_system": "hessian", "rpc_service": "s", "rpc_method": "m"}, 2.0),
        ("rpc_server_duration_milliseconds_sum", {"rpc_system": "hessian", "rpc_service": "s", "rpc_method": "m"}, 3.0),
        ("rpc_server_duration_milliseconds_count",
         {"rpc_system": "hessian", "rpc_service": "s", "rpc_method": "m", "error_type": "builtins.KeyError"}, 1.0),
        ("rpc_server_duration_milliseconds_sum",
         {"rpc_system": "hessian", "rpc_service": "s", "rpc_method": "m", "error_type": "builtins.KeyError"}, 3.0),
        ("rpc_server_duration_milliseconds_bucket", {"rpc_method": "m", "le": "5"}, 3.0),
        ("rpc_client_duration_milliseconds_count", {"rpc_system": "pyro5", "rpc_service": "S", "rpc_method": "m"}, 5.0),
        ("process_cpu_seconds_total", {}, 9.0),
    ]
    server, client = method_stats(samples)
    assert (server.side, server.calls, server.errors, server.error_types, server.mean_ms) == (
        "server", 3, 1, {"builtins.KeyError": 1}, 2.0)
    assert (client.side, client.system, client.calls, client.errors) == ("client", "pyro5", 5, 0)


def test_status_html_escapes_what_the_context_names():
    """Ids and URLs from the context are escaped in the server-rendered page."""
    from springpython.status_page import ExporterStatus

    page = render_html(Status((ExporterStatus("<x>", "Hessian", "http://h/<p>", False, True),), (), (), 0.0))
    assert "&lt;x&gt;" in page and "http://h/&lt;p&gt;" in page and "<x>" not in page


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_loopback_hosts(host):
    """Loopback addresses and names are loopback."""
    assert is_loopback(host)


def test_a_non_loopback_admin_address_needs_tls_or_a_named_exception():
    """Without TLS the admin server refuses a non-loopback host before listening, unless plain HTTP is allowed."""
    metrics = MetricsRegistry(None, lambda: (b"", "text/plain"))
    assert not is_loopback("0.0.0.0")
    with pytest.raises(ConfigurationError, match="not a loopback address: serve it over TLS"):
        AdminServer("0.0.0.0", 0, metrics)
    with AdminServer("0.0.0.0", 0, metrics, allow_plain_http=True) as admin:
        assert admin.url.startswith("http://0.0.0.0:")


def test_admin_over_tls_on_a_non_loopback_host(pki):
    """With the exporters' TLS settings the admin address serves HTTPS on any host."""
    from springpython.remoting import tls

    settings = tls.ServerTLS.from_properties(certfile=str(pki.server_cert), keyfile=str(pki.server_key))
    metrics = MetricsRegistry(None, lambda: (b"# nothing\n", "text/plain"))
    with AdminServer("0.0.0.0", 0, metrics, tls=settings) as admin:
        assert admin.url.startswith("https://")
        context = tls.client_context(str(pki.ca_chain))
        with urllib.request.urlopen(f"https://localhost:{admin.port}/metrics", timeout=10, context=context) as reply:
            assert reply.read() == b"# nothing\n"


@pytest.mark.parametrize(("options", "message"), [
    (["--admin", "0.0.0.0:0"], "is not a loopback address: serve it over TLS"),
    (["--admin", "0", "--admin-ca-certs", "ca.pem"], "--admin: ca_certs need certfile"),
    (["--admin", "0", "--admin-verify-field", "commonName"], "--admin-verify-field must be NAME=VALUE"),
])
def test_run_refuses_a_bad_admin_setting_before_anything_starts(tmp_path, capsys, options, message):
    """A non-loopback admin address without TLS, or TLS options that do not fit, exit 1 before metrics or context start."""
    from springpython import cli
    from springpython.remoting import call_metrics

    xml = tmp_path / "empty.xml"
    xml.write_text('<?xml version="1.0"?>\n'
                   '<objects xmlns="http://www.springframework.org/springpython/schema/objects/1.1"/>\n')
    assert cli.main(["run", *options, str(xml)]) == 1
    assert message in capsys.readouterr().err
    assert not call_metrics.active()



def test_a_loopback_admin_address_answers_loopback_host_names_only():
    """A request naming another host (a page whose name was re-pointed at 127.0.0.1) gets 403 on every path;
    localhost and loopback literals, with this port or none, are answered."""
    import http.client

    metrics = MetricsRegistry(None, lambda: (b"# nothing\n", "text/plain"))
    with AdminServer("127.0.0.1", 0, metrics) as admin:
        def status(host: str, path: str = "/") -> int:
            conn = http.client.HTTPConnection("127.0.0.1", admin.port, timeout=10)
            try:
                conn.request("GET", path, headers={"Host": host})
                reply = conn.getresponse()
                reply.read()
                return reply.status
            finally:
                conn.close()

        for path in ("/", "/status.json", "/metrics"):
            assert status("attacker.example", path) == 403
            assert status(f"attacker.example:{admin.port}", path) == 403
        assert status(f"127.0.0.1:{admin.port + 1}", "/metrics") == 403
        for host in ("localhost", f"localhost:{admin.port}", f"[::1]:{admin.port}", "127.0.0.1",
                     f"127.0.0.1:{admin.port}"):
            assert status(host, "/metrics") == 200, host


@pytest.mark.parametrize(("value", "expected"), [
    ("127.0.0.1:8000", True), ("localhost", True), ("[::1]:8000", True), ("LOCALHOST.:8000", True),
    ("127.0.0.1:8001", False), ("evil.example:8000", False), ("", False), (None, False), ("::1", False),
    ("a@localhost:8000", False), ("localhost:8000/x", False), ("127.0.0.1:99999", False),
])
def test_loopback_host_header(value, expected):
    """Only a loopback name or literal, with the admin's port or none, is a loopback Host header."""
    assert loopback_host_header(value, 8000) is expected
