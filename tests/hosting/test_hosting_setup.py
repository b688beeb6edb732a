"""What wsgi_app, asgi_app and the gunicorn runner accept and refuse, in this
process: hosted exporters bind no port, verify_fields refuses to start (the servers
do not hand the client certificate to the application), and the runner needs one
address, HTTP exporters only, and gunicorn installed."""

from __future__ import annotations

import asyncio
import io
import logging
import socket
import subprocess
import sys
import xmlrpc.client
from pathlib import Path

import pytest
from support import python_env

from springpython.errors import ConfigurationError
from springpython.hosting import ASGIApp, WSGIApp, asgi_app, wsgi_app
from springpython.hosting._gunicorn import plan
from springpython.remoting.registry import live_servers

HEAD = '<?xml version="1.0"?>\n<objects xmlns="http://www.springframework.org/springpython/schema/objects/1.1">\n'
SERVICE = '<object id="service" class="collections.Counter"/>\n'


def exporter(kind: str, port: int, path: str, extra: str = "", object_id: str | None = None) -> str:
    classes = {"hessian": "springpython.remoting.hessian.HessianServiceExporter",
               "xmlrpc": "springpython.remoting.xmlrpc.XMLRPCServiceExporter",
               "pyro": "springpython.remoting.pyro.PyroServiceExporter"}
    where = f'<property name="path"><value>{path}</value></property>' if kind != "pyro" else \
        '<property name="service_name"><value>svc</value></property>'
    return (f'<object id="{object_id or kind}" class="{classes[kind]}"><property name="service" ref="service"/>'
            f'<property name="service_host"><value>127.0.0.1</value></property>'
            f'<property name="service_port"><value>{port}</value></property>{where}{extra}</object>\n')


def context_file(directory: Path, *objects: str) -> Path:
    path = directory / "server.xml"
    path.write_text(HEAD + SERVICE + "".join(objects) + "</objects>\n")
    return path


def call(app: WSGIApp, path: str, body: bytes, method: str = "POST") -> tuple[str, bytes]:
    """One WSGI call: the status line and the body."""
    seen: list[str] = []
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "CONTENT_LENGTH": str(len(body)),
               "wsgi.input": io.BytesIO(body), "SERVER_PROTOCOL": "HTTP/1.1"}
    chunks = app(environ, lambda status, headers: seen.append(status))
    return seen[0], b"".join(chunks)


def test_hosted_exporters_bind_no_port(tmp_path):
    """The exporters' own port stays free (here: taken by someone else) and no shared
    server starts; the app answers at each exporter's path."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        xml = context_file(tmp_path, exporter("xmlrpc", port, "/RPC2"), exporter("hessian", port, "/h"))
        app = wsgi_app(xml)
        try:
            status, body = call(app, "/RPC2", xmlrpc.client.dumps((), "keys").encode())
            assert status == "200 OK" and b"methodResponse" in body
            assert live_servers() == []
            assert call(app, "/elsewhere", b"")[0] == "404 Not Found"
        finally:
            app.close()


def test_the_context_starts_lazily_and_closes_once(tmp_path):
    """wsgi_app checks the file at once but creates nothing until start (or the first
    request); close is idempotent and a closed app does not start again."""
    app = wsgi_app(context_file(tmp_path, exporter("xmlrpc", 0, "/RPC2")))
    assert not app.site.started
    app.start()
    assert app.site.started and [type(e).__name__ for e in app.site.exporters] == ["XMLRPCServiceExporter"]
    app.close()
    app.close()
    with pytest.raises(ConfigurationError, match="closed"):
        app.start()


def test_a_bad_context_file_fails_at_once(tmp_path):
    """A missing file or an unknown class is refused by wsgi_app itself."""
    with pytest.raises(ConfigurationError, match="no such context file"):
        wsgi_app(tmp_path / "missing.xml")
    bad = tmp_path / "bad.xml"
    bad.write_text(HEAD + '<object id="x" class="no.such.Module"/></objects>')
    with pytest.raises(ConfigurationError, match="no.such"):
        asgi_app(bad)


@pytest.fixture
def tls_properties(pki) -> str:
    return (f'<property name="certfile"><value>{pki.server_cert}</value></property>'
            f'<property name="keyfile"><value>{pki.server_key}</value></property>'
            f'<property name="ca_certs"><value>{pki.ca_chain}</value></property>')


def test_verify_fields_refuses_to_start_under_wsgi(tmp_path, tls_properties):
    """An exporter with verify_fields stops the WSGI app's start with an error that
    says why and what to do; nothing stays running."""
    fields = '<property name="verify_fields"><dict><entry key="commonName" value="My Client"/></dict></property>'
    app = wsgi_app(context_file(tmp_path, exporter("xmlrpc", 0, "/RPC2", tls_properties + fields)))
    with pytest.raises(ConfigurationError, match=r"verify_fields .*commonName.* cannot be checked under a WSGI"):
        app.start()
    assert call(app, "/RPC2", b"")[0] == "500 Internal Server Error"
    app.close()


def test_verify_fields_fails_asgi_lifespan_startup(tmp_path, tls_properties):
    """Under ASGI the same refusal is a lifespan.startup.failed naming verify_fields."""
    fields = '<property name="verify_fields"><dict><entry key="commonName" value="My Client"/></dict></property>'
    app = asgi_app(context_file(tmp_path, exporter("hessian", 0, "/", tls_properties + fields)))
    sent = asyncio.run(lifespan(app, ["lifespan.startup"]))
    assert sent[0]["type"] == "lifespan.startup.failed" and "verify_fields" in sent[0]["message"]


def test_asgi_lifespan_starts_and_shuts_down(tmp_path):
    """Lifespan startup creates the context, shutdown destroys it."""
    app = asgi_app(context_file(tmp_path, exporter("xmlrpc", 0, "/RPC2")))
    sent = asyncio.run(lifespan(app, ["lifespan.startup", "lifespan.shutdown"]))
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert not app.site.started


async def lifespan(app: ASGIApp, events: list[str]) -> list[dict]:
    """Drive the app's lifespan with ``events``; the messages it sent."""
    incoming = [{"type": event} for event in events]
    sent: list[dict] = []

    async def receive() -> dict:
        return incoming.pop(0)

    async def send(message: dict) -> None:
        sent.append(message)

    await app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)
    return sent


def test_certfile_alone_is_the_servers_job(tmp_path, pki, tls_properties, caplog):
    """An exporter's certfile is not used when hosted: a WARNING says TLS is the
    server's or the proxy's, and the exporter is served."""
    app = wsgi_app(context_file(tmp_path, exporter("xmlrpc", 0, "/RPC2", tls_properties)))
    with caplog.at_level(logging.WARNING, logger="springpython.hosting"):
        app.start()
    try:
        assert "certfile is not used under a WSGI server" in caplog.text
        assert call(app, "/RPC2", xmlrpc.client.dumps((), "keys").encode())[0] == "200 OK"
    finally:
        app.close()


def test_two_exporters_on_one_path_are_refused(tmp_path):
    """Two HTTP exporters at the same path cannot both be hosted."""
    xml = context_file(tmp_path, exporter("xmlrpc", 0, "/x"), exporter("hessian", 0, "/x"))
    app = wsgi_app(xml)
    with pytest.raises(ConfigurationError, match="already served by"):
        app.start()
    app.close()


def test_runner_needs_one_address(tmp_path):
    """The gunicorn runner reads the one host:port the HTTP exporters share, binding
    nothing, and refuses exporters on two addresses."""
    xml = context_file(tmp_path, exporter("xmlrpc", 8123, "/RPC2"), exporter("hessian", 8123, "/h"))
    found = plan([str(xml)])
    assert (found.host, found.port, found.tls) == ("127.0.0.1", 8123, None)
    xml = context_file(tmp_path, exporter("xmlrpc", 8123, "/RPC2"), exporter("hessian", 8124, "/h"))
    with pytest.raises(ConfigurationError, match="2 addresses .*8123.*8124"):
        plan([str(xml)])


def test_runner_needs_one_tls_setting(tmp_path, tls_properties):
    """gunicorn serves one TLS setting: exporters with different ones are refused, and
    the shared one is what the runner hands gunicorn."""
    xml = context_file(tmp_path, exporter("xmlrpc", 8123, "/RPC2", tls_properties), exporter("hessian", 8123, "/h"))
    with pytest.raises(ConfigurationError, match="plain HTTP.*differ|differ.*plain HTTP"):
        plan([str(xml)])
    xml = context_file(tmp_path, exporter("xmlrpc", 8123, "/RPC2", tls_properties),
                       exporter("hessian", 8123, "/h", tls_properties))
    tls = plan([str(xml)]).tls
    assert tls is not None and Path(tls.certfile).name == "server-cert.pem"


def test_runner_refuses_pyro_exporters_and_empty_contexts(tmp_path):
    """A Pyro exporter would start once per worker: the runner refuses it before it
    starts; a context without HTTP exporters has nothing to serve."""
    xml = context_file(tmp_path, exporter("xmlrpc", 0, "/RPC2"), exporter("pyro", 0, ""))
    with pytest.raises(ConfigurationError, match="PyroServiceExporter cannot be served"):
        plan([str(xml)])
    assert live_servers() == []
    with pytest.raises(ConfigurationError, match="no HTTP exporter"):
        plan([str(context_file(tmp_path))])


def test_run_workers_without_gunicorn_names_the_extra(tmp_path):
    """Without gunicorn, 'springpython run --workers' says which extra to install."""
    xml = context_file(tmp_path, exporter("xmlrpc", 0, "/RPC2"))
    code = ("import sys; sys.modules['gunicorn'] = None; from springpython.cli import main; "
            f"sys.exit(main(['run', '--workers', '2', {str(xml)!r}]))")
    result = subprocess.run([sys.executable, "-c", code], env=python_env(), capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 1
    assert 'pip install "springpython[gunicorn]"' in result.stderr


def test_asgi_client_leaving_mid_body_gets_no_call(tmp_path):
    """A client that disconnects before its body is complete is not answered and its
    call never runs; a whole request on the same app is answered."""
    app = asgi_app(context_file(tmp_path, exporter("xmlrpc", 0, "/RPC2")))
    body = xmlrpc.client.dumps((), "keys").encode()

    async def request(messages: list[dict]) -> list[dict]:
        sent: list[dict] = []

        async def receive() -> dict:
            return messages.pop(0)

        async def send(message: dict) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": "/RPC2", "headers": [], "http_version": "1.1"}
        await app(scope, receive, send)
        return sent

    try:
        left = asyncio.run(request([{"type": "http.request", "body": body[:10], "more_body": True},
                                    {"type": "http.disconnect"}]))
        assert left == []
        whole = asyncio.run(request([{"type": "http.request", "body": body}]))
        assert whole[0]["status"] == 200 and b"methodResponse" in whole[1]["body"]
    finally:
        app.site.close()
