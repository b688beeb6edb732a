"""Bad input on the wire: the exporter answers every malformed, truncated, too deep or
too large request with a Hessian fault or an HTTP error, and keeps serving; a fuzz
run of thousands of random and mutated bodies proves it at scale."""

from __future__ import annotations

import http.client
import random

import pytest

from springpython.remoting.hessian import HessianObject, HessianProxyFactory, HessianServiceExporter
from springpython.remoting.hessian._codec import decode_reply, encode_call, encode_call2

CONTENT_TYPE = "x-application/hessian"


class Echo:
    def echo(self, value):
        return value

    def add(self, a, b):
        return a + b


@pytest.fixture
def small_exporter():
    """An exporter whose request bodies are limited to 4 KiB."""
    with HessianServiceExporter(
        service=Echo(), service_host="127.0.0.1", service_port=0, path="/echo", max_body_size=4096
    ) as exp:
        yield exp


@pytest.fixture
def raw(small_exporter):
    """A plain http.client connection to the exporter (keep-alive, reopened when closed)."""
    conn = http.client.HTTPConnection("127.0.0.1", small_exporter.port, timeout=10)
    yield conn
    conn.close()


def post(conn: http.client.HTTPConnection, body: bytes, method: str = "POST") -> tuple[int, bytes]:
    conn.request(method, "/echo", body=body, headers={"Content-Type": CONTENT_TYPE})
    response = conn.getresponse()
    return response.status, response.read()


def assert_still_serving(exporter: HessianServiceExporter) -> None:
    factory = HessianProxyFactory(service_url=exporter.service_url)
    try:
        assert factory.add(20, 22) == 42
    finally:
        factory.destroy()


def test_put_is_405(raw, small_exporter):
    """A PUT gets 405 naming POST (a GET is the API page); the server keeps serving."""
    status, body = post(raw, b"", method="PUT")
    assert status == 405 and b"POST" in body
    assert post(raw, encode_call("add", [1, 2]))[0] == 200
    assert_still_serving(small_exporter)


@pytest.mark.parametrize(
    "body", [b"", b"\x00garbage", b"GET / HTTP/1.1", b"\xff" * 100], ids=["empty", "nul", "http", "ff"]
)
def test_not_hessian_is_400(raw, small_exporter, body):
    """A body that is not a Hessian call at all gets HTTP 400."""
    status, text = post(raw, body)
    assert status == 400 and b"not a Hessian call" in text
    assert_still_serving(small_exporter)


CALL_V1 = encode_call("echo", [[1, "two", {"k": b"v"}]], 1)
CALL_C2 = encode_call("echo", [[1, "two", {"k": b"v"}]], 2)
CALL_V2 = encode_call2("echo", [[1, "two", {"k": b"v"}]])


@pytest.mark.parametrize(
    "body, version",
    [
        (CALL_V1[:-5], 1),
        (CALL_C2[:-5], 2),
        (CALL_V2[:-5], 2),
        (b"c\x01\x00m\x00\x04echo" + b"V" * 3000, 1),
        (b"H\x02\x00C\x04echo\x91" + b"W" * 3000, 2),
        (b"c\x02\x00m\x00\x04echoS\xff\xffabcz", 2),
        (b"H\x02\x00C\x04echo\x91XI\x7f\xff\xff\xff", 2),
        (b"c\x01\x00x", 1),
        (b"H\x02\x00E", 2),
    ],
    ids=["v1-truncated", "c2-truncated", "v2-truncated", "v1-deep", "v2-deep", "long-string", "huge-list",
         "v1-no-method", "envelope"],
)
def test_malformed_calls_get_protocol_faults(raw, small_exporter, body, version):
    """Malformed, truncated and deeply nested calls get a ProtocolException fault in the version asked for."""
    status, payload = post(raw, body)
    assert status == 200
    assert payload[:1] == (b"r" if version == 1 else b"H")
    fault = decode_reply(payload).fault
    assert fault is not None and fault.code == "ProtocolException"
    assert post(raw, CALL_V2)[0] == 200
    assert_still_serving(small_exporter)


def test_oversize_body_is_413(raw, small_exporter):
    """A body over max_body_size gets 413 and the server keeps serving."""
    status, text = post(raw, encode_call("echo", ["x" * 10_000]))
    assert status == 413 and b"4096" in text
    raw.close()
    assert post(raw, encode_call("add", [1, 2]))[0] == 200
    assert_still_serving(small_exporter)


def test_typed_object_names_no_python_class(raw):
    """A typed map naming a Python callable arrives as a plain HessianObject, nothing is imported or run."""
    status, payload = post(raw, encode_call("echo", [HessianObject("os.system", command="touch /tmp/pwned")]))
    value = decode_reply(payload).value
    assert status == 200 and type(value) is HessianObject and value.type_name == "os.system"


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    import resource

    return pages * resource.getpagesize()


@pytest.mark.slow
def test_fuzz_thousands_of_bodies(small_exporter):
    """3,000 random and mutated bodies each get a fault, a reply or a 4xx; memory stays bounded; a good call works."""
    rng = random.Random(5)
    seeds = [
        encode_call("echo", [[1, "é😀", 2**40, {"k": b"v"}, HessianObject("P", a=2.5)]], 1),
        encode_call("echo", [[1, "é😀", 2**40, {"k": b"v"}, HessianObject("P", a=2.5)]], 2),
        encode_call2("echo", [[1, "é😀", 2**40, {"k": b"v"}, HessianObject("P", a=2.5)]]),
        encode_call("add", [1, 2], 2),
        encode_call2("add", [1, 2]),
    ]

    def body() -> bytes:
        kind = rng.randrange(10)
        if kind == 0:
            return bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 200)))
        if kind == 1:
            return rng.choice(seeds)[: rng.randrange(1, 40)] + b"W" * rng.randrange(100, 3000)
        if kind == 2:
            return rng.choice(seeds) + bytes(rng.getrandbits(8) for _ in range(rng.randrange(4000, 6000)))
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randrange(1, 8)):
            position = rng.randrange(len(data))
            action = rng.randrange(3)
            if action == 0:
                data[position] = rng.getrandbits(8)
            elif action == 1:
                del data[position]
            else:
                data[position:position] = bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 5)))
        return bytes(data)

    conn = http.client.HTTPConnection("127.0.0.1", small_exporter.port, timeout=10)
    seen: dict[str, int] = {}

    def run(count: int) -> None:
        for _ in range(count):
            status, payload = post(conn, body())
            if status == 200:
                reply = decode_reply(payload)  # must be a well-formed reply or fault
                key = f"fault:{reply.fault.code}" if reply.fault else "reply"
            else:
                assert status in (400, 413), (status, payload[:200])
                key = f"http:{status}"
                if status == 413:
                    conn.close()
            seen[key] = seen.get(key, 0) + 1

    try:
        run(300)  # warm-up: caches, worker threads
        before = _rss_bytes()
        run(3000)
        grown = _rss_bytes() - before
    finally:
        conn.close()
    assert grown < 40 * 1024 * 1024, f"RSS grew by {grown} bytes over 3,000 bad requests"
    assert {"fault:ProtocolException", "http:400", "http:413"} <= set(seen), seen
    assert_still_serving(small_exporter)
