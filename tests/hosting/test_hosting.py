"""The HTTP exporters of one server.xml served by real gunicorn (2 sync workers, and 2
of springpython's workers) and real uvicorn processes: our Hessian and XML-RPC
proxies call them, both gunicorn workers answer, remote exceptions keep the
contract, bad input gets the same answers as on the embedded server, and the
context's destroy hooks run when the server stops. Each server starts once per
module."""

from __future__ import annotations

import http.client
import json
import random
import signal
import xmlrpc.client
from pathlib import Path

import pytest
from helpers_hosting import (EMBEDDED_WORKER, answering_pids, gunicorn_args, slow_call, start, stop, uvicorn_args,
                             write_site)
from support import free_port

from springpython.remoting.hessian import HessianProxyFactory
from springpython.remoting.hessian._codec import encode_call
from springpython.remoting.xmlrpc import XMLRPCProxyFactory

@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The directory of the context every server of this module serves."""
    directory = tmp_path_factory.mktemp("hosted")
    write_site(directory, free_port())
    return directory


@pytest.fixture(scope="module")
def servers(site):
    """Base URLs of the same context served embedded, by gunicorn and by uvicorn."""
    embedded_port = int(
        (site / "server.xml").read_text().split("<property name=\"service_port\"><value>")[1].split("<")[0]
    )
    g_port, w_port, u_port = free_port(), free_port(), free_port()
    procs = {
        "embedded": start(["-m", "springpython", "run", "server.xml"], site, embedded_port),
        "gunicorn": start(gunicorn_args(g_port), site, g_port),
        "worker": start(gunicorn_args(w_port, "-k", EMBEDDED_WORKER), site, w_port),
        "uvicorn": start(uvicorn_args(u_port), site, u_port),
    }
    urls = {"embedded": embedded_port, "gunicorn": g_port, "worker": w_port, "uvicorn": u_port}
    yield {name: f"http://127.0.0.1:{port}" for name, port in urls.items()}, procs
    for proc in procs.values():
        stop(proc)


@pytest.fixture(params=["gunicorn", "worker", "uvicorn"])
def base_url(request, servers) -> str:
    """The base URL of one hosting server."""
    return servers[0][request.param]


@pytest.fixture
def proxies(base_url):
    """A Hessian and an XML-RPC proxy to the hosted service."""
    hessian = HessianProxyFactory(service_url=f"{base_url}/hessian")
    xmlrpc = XMLRPCProxyFactory(service_url=f"{base_url}/RPC2")
    hessian.after_properties_set()
    xmlrpc.after_properties_set()
    yield hessian, xmlrpc
    hessian.destroy()
    xmlrpc.destroy()


def test_proxies_call_the_hosted_exporters(proxies):
    """Hessian and XML-RPC proxies reach their exporters at their paths on one port."""
    hessian, xmlrpc = proxies
    assert hessian.add(20, 22) == 42
    assert xmlrpc.add("a", "b") == "ab"


def test_remote_exceptions_follow_the_contract(proxies):
    """A ZeroDivisionError in the service is a ZeroDivisionError at both proxies."""
    for proxy in proxies:
        with pytest.raises(ZeroDivisionError):
            proxy.div(1, 0)
        assert proxy.add(1, 1) == 2


def test_both_gunicorn_workers_answer(servers, site):
    """While one sync worker is busy with a slow call, the other answers: two worker
    pids, neither of them gunicorn's master."""
    url = servers[0]["gunicorn"]
    fast = HessianProxyFactory(service_url=f"{url}/hessian")
    caller, answers, slow = slow_call(url, site, 1.0)  # running in one worker
    try:
        other = fast.pid()
        caller.join()
    finally:
        slow.destroy()
        fast.destroy()
    assert answers and answers[0] != other
    assert servers[1]["gunicorn"].pid not in (answers[0], other)


def test_both_springpython_workers_answer(servers):
    """Both of springpython's gunicorn workers take connections from the socket they
    share: calls on new connections are answered by two worker pids, neither of them
    gunicorn's master."""
    pids = answering_pids(servers[0]["worker"])
    assert servers[1]["worker"].pid not in pids


def raw(base_url: str, method: str, path: str, body: bytes = b"", content_type: str = "text/xml"):
    """One request on a fresh connection: (status, content type, body)."""
    host, port = base_url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request(method, path, body=body or None, headers={"Content-Type": content_type})
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type"), response.read()
    finally:
        conn.close()


BAD_INPUT = {
    "hessian GET": ("GET", "/hessian", b""),
    "hessian PUT": ("PUT", "/hessian", b""),
    "not Hessian": ("POST", "/hessian", b"hello, world"),
    "truncated Hessian 1 call": ("POST", "/hessian", encode_call("add", [1, 2])[:-3]),
    "unknown Hessian method": ("POST", "/hessian", encode_call("nope", [])),
    "XML-RPC GET": ("GET", "/RPC2", b""),
    "XML-RPC with a DTD": ("POST", "/RPC2", b'<!DOCTYPE x SYSTEM "http://127.0.0.1:9/evil.dtd"><methodCall/>'),
    "XML-RPC not XML": ("POST", "/RPC2", b"<methodCall><methodName>add"),
    "unmounted path": ("POST", "/nowhere", b"x"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_gets_the_embedded_servers_answer(servers, base_url, case):
    """Malformed calls, DTDs, GETs and unknown paths get the status, content type and
    body (the fault) the embedded server sends."""
    method, path, body = BAD_INPUT[case]
    expected = raw(servers[0]["embedded"], method, path, body)
    assert expected[0] in (200, 400, 404, 405)
    assert raw(base_url, method, path, body) == expected


@pytest.mark.parametrize("path", ["/hessian", "/RPC2"])
def test_api_pages_are_the_embedded_servers(servers, base_url, path):
    """A hosted exporter's API page, HTML and JSON, is the embedded one: public methods with their docstrings."""
    page = raw(base_url, "GET", path)
    assert page == raw(servers[0]["embedded"], "GET", path)
    assert page[0] == 200 and page[1] == "text/html; charset=utf-8"
    assert b"<code>hold(directory, seconds)</code>" in page[2] and b"Say busy-PID in" in page[2]
    assert b"<code>_" not in page[2] and b"__init__" not in page[2]
    status, _, body = raw_json(base_url, path)
    assert status == 200 and raw_json(servers[0]["embedded"], path)[2] == body
    names = [m["name"] for m in json.loads(body)["methods"]]
    assert "hold" in names and "add" in names and not any(n.startswith("_") for n in names)


def raw_json(base_url: str, path: str) -> tuple[int, str | None, bytes]:
    """A GET asking for JSON: (status, content type, body)."""
    host, port = base_url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("GET", path, headers={"Accept": "application/json"})
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type"), response.read()
    finally:
        conn.close()


FUZZ_BODIES = 150


def mutate(seed: bytes, rng: random.Random) -> bytes:
    """``seed`` cut short, with bytes flipped, or with random bytes inserted."""
    body = bytearray(seed)
    for _ in range(rng.randint(1, 3)):
        how = rng.choice(("cut", "flip", "insert"))
        if how == "cut":
            del body[rng.randrange(len(body) + 1):]
        elif how == "flip" and body:
            body[rng.randrange(len(body))] = rng.randrange(256)
        else:
            position = rng.randrange(len(body) + 1)
            body[position:position] = rng.randbytes(rng.randint(1, 8))
    return bytes(body)


def test_fuzzed_bodies_get_the_embedded_servers_answers(servers, base_url):
    """Mutated Hessian and XML-RPC calls get the status, content type and body (fault
    or result) the embedded server sends for the same bytes."""
    rng = random.Random(13)
    seeds = [("/hessian", encode_call("add", [1, 2])), ("/hessian", encode_call("div", [1.5, 0.5])),
             ("/RPC2", xmlrpc.client.dumps((1, 2), "add").encode())]
    for _ in range(FUZZ_BODIES):
        path, seed = rng.choice(seeds)
        body = mutate(seed, rng)
        expected = raw(servers[0]["embedded"], "POST", path, body)
        assert raw(base_url, "POST", path, body) == expected, (path, body)


def test_oversize_body_is_413_as_embedded(servers, base_url):
    """A body over the exporter's max_body_size is 413, as on the embedded server."""
    body = encode_call("add", ["x" * 10_000, "y"])
    assert raw(servers[0]["embedded"], "POST", "/hessian", body)[0] == 413
    assert raw(base_url, "POST", "/hessian", body)[0] == 413
    assert raw(base_url, "POST", "/hessian", encode_call("add", [1, 2]))[0] == 200


def test_uvicorn_lifespan_shutdown_destroys_the_context(tmp_path):
    """SIGTERM to uvicorn runs lifespan shutdown: the context's destroy hooks run."""
    port = free_port()
    write_site(tmp_path, free_port())
    proc = start(uvicorn_args(port), tmp_path, port)
    proxy = XMLRPCProxyFactory(service_url=f"http://127.0.0.1:{port}/RPC2")
    try:
        pid = proxy.pid()
    finally:
        proxy.destroy()
    code, _, err = stop(proc)
    assert code in (0, -signal.SIGTERM), err  # uvicorn re-raises the signal once shut down
    assert pid == proc.pid
    assert (tmp_path / f"destroyed-{pid}").exists(), err


@pytest.mark.parametrize("worker", [[], ["-k", EMBEDDED_WORKER]], ids=["sync", "springpython"])
def test_gunicorn_worker_exit_destroys_each_context(tmp_path, worker):
    """Each gunicorn worker starts its own context at boot and destroys it at exit."""
    port = free_port()
    write_site(tmp_path, free_port())
    proc = start(gunicorn_args(port, *worker), tmp_path, port)
    answering_pids(f"http://127.0.0.1:{port}")  # both booted before the SIGTERM (see test_hosting_worker)
    code, _, err = stop(proc)
    assert code == 0, err
    destroyed = sorted(p.name for p in tmp_path.glob("destroyed-*"))
    assert len(destroyed) == 2 and f"destroyed-{proc.pid}" not in destroyed, (destroyed, err)
