"""What an exporter says about its service: the describe call on every transport,
``springpython describe URL``, and an HTTP exporter's API page (HTML and JSON)."""

from __future__ import annotations

import http.client
import json
from typing import Iterator

import pytest
from contract_services import TRANSPORTS

from springpython import cli
from springpython.errors import ConnectFailedError, RemoteFault
from springpython.remoting.api_client import SCHEMES, DescribeOptions, describe_url
from springpython.remoting.api_description import (
    DESCRIBE_METHOD,
    ServiceDescription,
    describe_service,
    render_html,
)
from springpython.remoting.api_page import MAX_ACCEPT_ITEMS, prefers_json
from springpython.remoting.hessian import HessianServiceExporter

HOST = "127.0.0.1"
HTTP_TRANSPORTS = ("hessian", "xmlrpc")


class Shop:
    """Sells <things> & keeps "stock"."""

    def __init__(self) -> None:
        self._stock = {"apple": 3}

    def buy(self, item, count=1):
        """Take ``count`` of <item> out of stock & return what is left."""
        self._stock[item] -= count
        return self._stock[item]

    def stock(self):
        return dict(self._stock)

    def _restock(self):
        """Never listed."""

    @property
    def opened(self):
        return True


EXPECTED = {
    "service": "Shop",
    "doc": 'Sells <things> & keeps "stock".',
    "methods": [
        {"name": "buy", "signature": "(item, count=1)",
         "doc": "Take ``count`` of <item> out of stock & return what is left."},
        {"name": "stock", "signature": "()", "doc": ""},
    ],
    "properties": ["opened"],
}


@pytest.fixture(params=sorted(TRANSPORTS))
def transport(request) -> str:
    return request.param


@pytest.fixture
def exported(transport) -> Iterator[str]:
    """A Shop exported on ``transport`` at 127.0.0.1 port 0; its URL."""
    exporter = TRANSPORTS[transport][0](service=Shop(), service_name="Shop", service_host=HOST, service_port=0)
    with exporter:
        yield exporter.service_url


@pytest.fixture(params=HTTP_TRANSPORTS)
def http_transport(request) -> str:
    return request.param


@pytest.fixture
def http_url(http_transport) -> Iterator[str]:
    """A Shop exported on an HTTP transport (Hessian, XML-RPC)."""
    exporter = TRANSPORTS[http_transport][0](service=Shop(), service_host=HOST, service_port=0, path="/shop")
    with exporter:
        yield exporter.service_url


def request(url: str, method: str = "GET", headers: dict[str, str] | None = None,
            path_suffix: str = "") -> tuple[int, dict[str, str], bytes]:
    """One request on a fresh connection: status, headers (lower-case names), body."""
    rest = url.removeprefix("http://")
    address, _, path = rest.partition("/")
    host, port = address.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request(method, "/" + path + path_suffix, headers=headers or {})
        reply = conn.getresponse()
        return reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read()
    finally:
        conn.close()


def test_describe_call_answers_the_same_structure_on_every_transport(transport, exported):
    """The describe call through each transport's proxy factory answers the public methods, signatures and docs."""
    with TRANSPORTS[transport][1](service_url=exported) as proxy:
        answer = getattr(proxy, DESCRIBE_METHOD)()
        assert proxy.buy("apple") == 2  # the service is still served as before
    assert dict(answer) == EXPECTED


def test_springpython_describe_prints_any_transports_url(transport, exported, capsys):
    """``springpython describe URL`` prints the methods and docstrings, and ``--json`` the structure, for every URL."""
    assert cli.main(["describe", exported]) == 0
    text = capsys.readouterr().out
    assert "buy(item, count=1)" in text and "Take ``count`` of <item>" in text and "stock()" in text
    assert "_restock" not in text and "Never listed" not in text
    assert cli.main(["describe", "--json", exported]) == 0
    assert json.loads(capsys.readouterr().out) == EXPECTED


def test_describe_names_what_is_wrong(capsys):
    """An unknown scheme is a usage error naming the schemes; an unreachable URL a one-line failure."""
    assert cli.main(["describe", "ftp://127.0.0.1/x"]) == 1
    assert "the scheme must be one of http, https, pyro" in capsys.readouterr().err
    with pytest.raises(ConnectFailedError):
        describe_url("http://127.0.0.1:9/nothing", DescribeOptions(timeout=2))
    with pytest.raises(ConnectFailedError):
        describe_url("PYRO:Shop@127.0.0.1:9", DescribeOptions(timeout=2))
    assert set(SCHEMES) >= {"http", "https", "pyro", "pyroloc", "pyroname"}


def test_describe_of_an_http_url_without_api_page_is_a_remote_fault():
    """A GET that does not answer JSON (a path nothing is mounted on) is refused with the status."""
    with HessianServiceExporter(service=Shop(), service_host=HOST, service_port=0, path="/shop") as exporter:
        with pytest.raises(RemoteFault, match="HTTP 404"):
            describe_url(exporter.service_url.replace("/shop", "/other"))


def test_describe_follows_no_redirect_and_no_proxy_from_the_environment(monkeypatch):
    """A redirect is refused with its status (never followed, so https cannot end on http), and
    HTTP_PROXY/HTTPS_PROXY from the environment are not used."""
    import http.server
    import threading

    with HessianServiceExporter(service=Shop(), service_host=HOST, service_port=0, path="/shop") as exporter:
        class Redirect(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(302)
                self.send_header("Location", exporter.service_url)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        with http.server.ThreadingHTTPServer((HOST, 0), Redirect) as redirector:
            thread = threading.Thread(target=redirector.serve_forever, daemon=True)
            thread.start()
            try:
                with pytest.raises(RemoteFault, match="HTTP 302"):
                    describe_url(f"http://{HOST}:{redirector.server_address[1]}/moved", DescribeOptions(timeout=5))
            finally:
                redirector.shutdown()
        monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
        monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        assert describe_url(exporter.service_url, DescribeOptions(timeout=5)).method("buy") is not None


def test_api_page_lists_methods_and_escaped_docstrings(http_url):
    """GET answers HTML with every public method, its signature and docstring escaped, and no ``_`` name."""
    status, headers, body = request(http_url)
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    page = body.decode()
    assert "<code>buy(item, count=1)</code>" in page and "<code>stock()</code>" in page
    assert "Take ``count`` of &lt;item&gt; out of stock &amp; return what is left." in page
    assert "Sells &lt;things&gt; &amp; keeps &quot;stock&quot;." in page
    assert "<item>" not in page and "<things>" not in page
    assert "_restock" not in page and "Never listed" not in page and "_stock" not in page


def test_api_page_as_json_with_accept(http_url):
    """With ``Accept: application/json`` the same page is the describe call's structure."""
    status, headers, body = request(http_url, headers={"Accept": "application/json"})
    assert status == 200 and headers["content-type"] == "application/json"
    assert json.loads(body) == EXPECTED and headers["vary"] == "Accept"
    assert ServiceDescription.from_dict(json.loads(body)) == describe_service(Shop())


@pytest.mark.parametrize("case", ["head", "query", "huge accept", "bad quality", "put", "delete"])
def test_odd_requests_get_clean_answers(http_transport, http_url, case):
    """HEAD, query strings, huge or odd Accept headers and other methods are answered cleanly; calls go on."""
    if case == "head":
        status, headers, body = request(http_url, "HEAD")
        assert (status, body) == (200, b"") and int(headers["content-length"]) > 500
    elif case == "query":
        status, headers, body = request(http_url, headers={"Accept": "application/json"}, path_suffix="?a=1&b=<x>")
        assert status == 200 and json.loads(body) == EXPECTED
    elif case == "huge accept":
        accept = ",".join(f"x/y{i};q=0.5" for i in range(3000)) + ",application/json"
        status, headers, body = request(http_url, headers={"Accept": accept})
        assert status == 200 and headers["content-type"].startswith("text/html")
    elif case == "bad quality":
        status, headers, body = request(http_url, headers={"Accept": "application/json;q=abc, text/html;q=2"})
        assert status == 200 and headers["content-type"].startswith("text/html")
    else:
        status, headers, body = request(http_url, case.upper())
        assert status == 405 and headers["allow"] == "GET, HEAD, POST" and b"POST" in body
    with TRANSPORTS[http_transport][1](service_url=http_url) as proxy:
        assert proxy.buy("apple") == 2


@pytest.mark.parametrize(("accept", "json_wanted"), [
    (None, False),
    ("", False),
    ("*/*", False),
    ("application/json", True),
    ("application/json, text/html", False),
    ("text/html;q=0.9, application/json", True),
    ("text/html, application/json;q=0.5", False),
    ("application/*", True),
    ("application/json;q=0", False),
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", False),
    (",".join(["a/b"] * MAX_ACCEPT_ITEMS) + ",application/json", False),
])
def test_accept_header_choice(accept, json_wanted):
    """JSON only when the Accept header ranks it above HTML; items past the limit are not read."""
    assert prefers_json(accept) is json_wanted


def test_html_rendering_escapes_everything_from_the_service():
    """Names, signatures and docstrings are escaped, the title too."""
    description = ServiceDescription.from_dict({
        "service": "<S>", "doc": "<script>", "methods": [{"name": "m", "signature": "(a='<b>')", "doc": "&"}],
    })
    page = render_html(description)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "m(a=&#x27;&lt;b&gt;&#x27;)" in page and "<title>&lt;S&gt; API</title>" in page


def test_describe_over_https(pki):
    """describe_url reads a TLS exporter's API page, checking its certificate against the given CAs."""
    from springpython.errors import CommunicationError
    from springpython.remoting.xmlrpc import XMLRPCServiceExporter

    with XMLRPCServiceExporter(service=Shop(), service_host="localhost", service_port=0,
                               certfile=str(pki.server_cert), keyfile=str(pki.server_key)) as exporter:
        assert exporter.service_url.startswith("https://")
        description = describe_url(exporter.service_url, DescribeOptions(ca_certs=str(pki.ca_chain)))
        assert description.to_dict() == EXPECTED
        with pytest.raises(CommunicationError, match="CERTIFICATE_VERIFY_FAILED"):
            describe_url(exporter.service_url)


def test_signatures_show_only_none_bool_and_number_defaults():
    """A default string or object (a token, a path) is shown as an ellipsis; None, bools and numbers as written."""
    from springpython.remoting.api_description import signature_of

    class Vault:
        def open(self, door, code="s3cret", rooms=("a",), *, tries=3, ratio=0.5, strict=True, note=None):
            return True

    text = signature_of(Vault().open)
    assert text == "(door, code=…, rooms=…, *, tries=3, ratio=0.5, strict=True, note=None)"
    assert "s3cret" not in describe_service(Vault()).to_dict().__repr__()
