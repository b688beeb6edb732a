"""`springpython run --admin`: the call metrics of a running context, scraped in
Prometheus text format."""

from __future__ import annotations

import signal
import textwrap
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from springpython.admin import parse_address
from springpython.errors import ConfigurationError
from springpython.remoting.hessian import HessianProxyFactory
from springpython.remoting.xmlrpc import XMLRPCProxyFactory

SERVICES = Path(__file__).resolve().parent / "remoting"


def scrape(url: str) -> dict[tuple[str, str, str | None], float]:
    """``rpc_server_duration_milliseconds_count`` by (rpc.system, rpc.method, error.type or None)."""
    with urllib.request.urlopen(url, timeout=10) as reply:
        assert reply.headers["Content-Type"].startswith("text/plain")
        text = reply.read().decode()
    counts = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "rpc_server_duration_milliseconds_count":
                labels = sample.labels
                counts[(labels["rpc_system"], labels["rpc_method"], labels.get("error_type") or None)] = sample.value
    return counts


def test_admin_metrics_count_calls_and_errors_per_method(spawn, tmp_path):
    """After known calls, /metrics counts each method's calls per transport and its errors by exception type."""
    xml = tmp_path / "server.xml"
    xml.write_text(textwrap.dedent("""\
        <?xml version="1.0"?>
        <objects xmlns="http://www.springframework.org/springpython/schema/objects/1.1">
            <object id="service" class="tracing_child.Hop"/>
            <object id="hessian" class="springpython.remoting.hessian.HessianServiceExporter">
                <property name="service" ref="service"/>
                <property name="service_host" value="127.0.0.1"/>
                <property name="service_port" value="0"/>
                <property name="path" value="/hop"/>
            </object>
            <object id="xmlrpc" class="springpython.remoting.xmlrpc.XMLRPCServiceExporter">
                <property name="service" ref="service"/>
                <property name="service_host" value="127.0.0.1"/>
                <property name="service_port" value="0"/>
                <property name="path" value="/hop"/>
            </object>
        </objects>
        """))
    proc = spawn(["-m", "springpython", "run", "--admin", "127.0.0.1:0", xml], cwd=SERVICES)
    urls = {}
    for line in proc.stdout:
        if line.startswith("serving"):
            break
        name, _, url = line.strip().partition(": ")
        urls[name] = url
    assert set(urls) == {"exported hessian", "exported xmlrpc", "admin", "status"}, (urls, proc.stderr.read())
    assert urls["admin"].startswith("http://127.0.0.1:") and urls["admin"].endswith("/metrics")
    with HessianProxyFactory(urls["exported hessian"]) as hessian, XMLRPCProxyFactory(urls["exported xmlrpc"]) as rpc:
        assert hessian.relay("a") == "a>hop" and hessian.relay("b") == "b>hop"
        for key in ("x", "y", "z"):
            with pytest.raises(KeyError):
                hessian.fail(key)
        assert rpc.relay("c") == "c>hop"
    assert scrape(urls["admin"]) == {
        ("hessian", "relay", None): 2.0,
        ("hessian", "fail", "builtins.KeyError"): 3.0,
        ("xmlrpc", "relay", None): 1.0,
    }
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert out.strip().endswith("stopped")


@pytest.mark.parametrize("text, expected", [
    ("9100", ("127.0.0.1", 9100)),
    ("0.0.0.0:9100", ("0.0.0.0", 9100)),
    ("[::1]:0", ("::1", 0)),
])
def test_admin_address_is_loopback_unless_a_host_is_given(text, expected):
    """--admin takes PORT (on 127.0.0.1) or HOST:PORT."""
    assert parse_address(text) == expected


@pytest.mark.parametrize("text", ["", "host", "host:", ":9100", "70000", "127.0.0.1:http"])
def test_a_bad_admin_address_is_refused(text):
    """An --admin value that is not [HOST:]PORT is a ConfigurationError quoting it."""
    with pytest.raises(ConfigurationError) as caught:
        parse_address(text)
    assert repr(text) in str(caught.value)


def test_admin_is_refused_with_workers(tmp_path, capsys):
    """--admin with --workers exits 1 saying why (each gunicorn worker would count only its own calls)."""
    from springpython.cli import main

    xml = tmp_path / "empty.xml"
    xml.write_text('<?xml version="1.0"?>\n'
                   '<objects xmlns="http://www.springframework.org/springpython/schema/objects/1.1"/>\n')
    assert main(["run", "--workers", "2", "--admin", "0", str(xml)]) == 1
    assert "--admin does not work with --workers" in capsys.readouterr().err
