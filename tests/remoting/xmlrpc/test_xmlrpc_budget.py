"""The XML-RPC decode budget: nesting and element counts per byte are bounded, so a
body of N bytes costs memory and time linear in N; over budget is a clean fault."""

from __future__ import annotations

import http.client
import subprocess
import tracemalloc
import xmlrpc.client

import pytest
from support import peak_kib

from springpython.remoting.xmlrpc._parser import (
    DEFAULT_LIMITS,
    DecodeBudgetError,
    DecodeLimits,
    MalformedCallError,
    getparser,
    loads_call,
)

MiB = 1024 * 1024
HEAD = (b"<?xml version='1.0'?><methodCall><methodName>count</methodName><params><param>"
        b"<value><array><data>")
TAIL = b"</data></array></value></param></params></methodCall>"


def crafted(size: int, item: bytes) -> bytes:
    """A call of about ``size`` bytes whose argument is an array of ``item`` repeated."""
    return HEAD + item * ((size - len(HEAD) - len(TAIL)) // len(item)) + TAIL


def deep(levels: int) -> bytes:
    return HEAD + b"<value><array><data>" * levels + b"</data></array></value>" * levels + TAIL


# Shapes that a small body would like to blow up: containers, the smallest elements.
ACCEPTED = {
    "empty structs": b"<value><struct></struct></value>",
    "empty arrays": b"<value><array><data/></array></value>",
    "bare values": b"<value/>",
    "nils": b"<value><nil/></value>",
}


@pytest.mark.parametrize("shape", sorted(ACCEPTED))
def test_the_densest_real_values_decode_within_six_times_their_size(shape):
    """A 2 MiB array of the smallest values decodes, allocating at most 6 times the body size."""
    data = crafted(2 * MiB, ACCEPTED[shape])
    tracemalloc.start()
    try:
        params, method = loads_call(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert method == "count" and len(params[0]) > 2 * MiB // 40
    assert peak < 6 * len(data), f"decoding peaked at {peak / len(data):.1f} times the message size"


def test_more_elements_than_the_budget_is_refused_as_it_goes_over():
    """Elements beyond base_elements + one per bytes_per_element are a DecodeBudgetError."""
    data = crafted(2 * MiB, b"<a/>")
    allowed = DEFAULT_LIMITS.base_elements + len(data) // DEFAULT_LIMITS.bytes_per_element
    with pytest.raises(DecodeBudgetError, match=f"more than {allowed} elements in its first {len(data)} bytes"):
        loads_call(data)
    limits = DecodeLimits(base_elements=10, bytes_per_element=10**6)
    with pytest.raises(DecodeBudgetError, match="more than 10 elements"):
        loads_call(crafted(300, b"<value/>"), limits=limits)


def test_nesting_is_bounded_and_configurable():
    """Arrays and structs nested past max_depth are refused; the limit is per parser."""
    with pytest.raises(DecodeBudgetError, match="nested deeper than 200"):
        loads_call(deep(100_000))
    assert loads_call(deep(198))[1] == "count"  # with the argument's own array: 199
    with pytest.raises(DecodeBudgetError, match="nested deeper than 3"):
        loads_call(deep(3), limits=DecodeLimits(max_depth=3))


def test_namespaced_containers_count_towards_the_depth():
    """``<x:array>`` is an array to the unmarshaller, so it counts as one for the depth too."""
    levels = b"<value><x:array><data>" * 5
    with pytest.raises(DecodeBudgetError, match="nested deeper than 3"):
        loads_call(HEAD + levels, limits=DecodeLimits(max_depth=3))


def test_replies_have_the_same_budget():
    """The client's reply parser keeps to the budget too, counted over the bytes fed so far."""
    parser, _ = getparser(limits=DecodeLimits(max_depth=2))
    with pytest.raises(DecodeBudgetError):
        parser.feed(b"<methodResponse><params><param><value><array><data><value><array><data>"
                    b"<value><array><data>")


@pytest.mark.parametrize("body", [b"<methodCall><params><param><value><bigdecimal>x</bigdecimal>",
                                  b"<?xml version='1.0' encoding='no-such'?><methodCall/>",
                                  b"<methodCall><params></value></params></methodCall>",
                                  b"</methodCall>" * 3])
def test_malformed_calls_raise_one_error_type(body):
    """Whatever is wrong with the bytes, loads_call raises MalformedCallError (or UnsafeXMLError)."""
    with pytest.raises(MalformedCallError):
        loads_call(body)


SERVER = """
import sys
from springpython.remoting.xmlrpc import XMLRPCServiceExporter

class Counter:
    def count(self, values):
        return len(values)

with XMLRPCServiceExporter(Counter(), service_host="127.0.0.1", service_port=0) as exporter:
    print(exporter.port, flush=True)
    sys.stdin.read()
"""


def test_crafted_bodies_at_the_size_limit_cost_the_server_little(spawn, tmp_path):
    """8 MiB bodies of the smallest elements and of deep nesting: clean faults or answers, the server's
    peak memory grows by less than 16 times the body, and it keeps serving."""
    script = tmp_path / "xmlrpc_server.py"
    script.write_text(SERVER)
    proc = spawn([script], stdin=subprocess.PIPE)
    port = int(proc.stdout.readline())
    try:
        before = peak_kib(proc.pid)
        size = 8 * MiB - 4096
        bodies = {"elements": crafted(size, b"<a/>"), "values": crafted(size, b"<value/>"),
                  "deep": deep(size // 44)}
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            answers = {}
            for name, body in bodies.items():
                conn.request("POST", "/RPC2", body=body, headers={"Content-Type": "text/xml"})
                reply = conn.getresponse()
                assert reply.status == 200
                try:
                    answers[name] = xmlrpc.client.loads(reply.read())[0][0]
                except xmlrpc.client.Fault as fault:
                    answers[name] = (fault.faultCode, fault.faultString)
        finally:
            conn.close()
        growth = peak_kib(proc.pid) - before
        assert answers["elements"][0] == -32600 and "elements in its first" in answers["elements"][1]
        assert answers["deep"] == (-32600, "invalid request: XML-RPC arrays and structs nested deeper than 200")
        assert answers["values"] == (size - len(HEAD) - len(TAIL)) // len(b"<value/>")
        assert growth * 1024 < 16 * size, f"the server's peak memory grew by {growth} KiB"
        with xmlrpc.client.ServerProxy(f"http://127.0.0.1:{port}/RPC2") as proxy:
            assert proxy.count([1, 2]) == 2
    finally:
        proc.communicate("", timeout=30)


@pytest.mark.parametrize("reply", [
    b"<methodResponse><params><param><value><bigdecimal>x</bigdecimal></value></param></params></methodResponse>",
    b"<methodResponse><params><param>" + b"<value><array><data>" * 300,
])
def test_a_malformed_or_over_budget_reply_is_a_protocol_error(reply):
    """A reply the unmarshaller cannot take (a bad <bigdecimal>, nesting past the budget) is a ProtocolError."""
    from springpython.errors import ProtocolError
    from springpython.remoting.http import HTTPServer, Response
    from springpython.remoting.xmlrpc import XMLRPCProxyFactory

    with HTTPServer("127.0.0.1", 0) as srv:
        srv.mount("/RPC2", lambda request: Response(200, reply, "text/xml"))
        proxy = XMLRPCProxyFactory(service_url=srv.url("/RPC2"))
        try:
            with pytest.raises(ProtocolError, match="malformed answer to add"):
                proxy.add(1, 2)
        finally:
            proxy.destroy()
