"""Fuzzing the decoders that read what a peer sends: the Hessian decoder, the XML-RPC
call parser and the HTTP request reader. Each gets 50,000 inputs from a seeded
generator (mutations of real messages: flipped, inserted, deleted, repeated and
spliced bytes, plus protocol tokens), and a smaller hypothesis run (derandomized)
of inputs it shrinks on failure. Only the documented error types may come out,
and a real server fed a sample of the same bytes keeps serving."""

from __future__ import annotations

import datetime
import http.client
import socket
import xmlrpc.client
from typing import Callable

import pytest
from fuzzing import INPUTS, SEED, mutants, run_all
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from springpython.errors import HTTPRequestError, ProtocolError
from springpython.remoting.hessian import HessianServiceExporter
from springpython.remoting.hessian._codec import decode_call, decode_reply, encode_call, encode_call2, encode_reply
from springpython.remoting.http import HTTPServer, Response
from springpython.remoting.http_reader import NEED_DATA, SEND_CONTINUE, ParsedRequest, RequestReader
from springpython.remoting.xmlrpc import XMLRPCServiceExporter
from springpython.remoting.xmlrpc._parser import MalformedCallError, UnsafeXMLError, loads_call

HYPOTHESIS = settings(max_examples=300, derandomize=True, deadline=None, database=None,
                      suppress_health_check=[HealthCheck.too_slow])

ARGS = [
    [1, -2, 2**40, 3.5, True, None],
    ["text", "é\U0001F600", b"\x00\xff" * 20],
    [[1, [2, [3, []]]], {"a": {"b": [1, 2]}, "c": []}],
    [datetime.datetime(2020, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)],
    ["x" * 300, list(range(40)), {str(i): i for i in range(20)}],
]
HESSIAN_SEEDS = ([encode_call("add", args, version=v) for args in ARGS for v in (1, 2)]
                 + [encode_call2("add", args) for args in ARGS]
                 + [encode_reply(args, version=v) for args in ARGS for v in (1, 2)])
HESSIAN_TOKENS = [bytes([b]) for b in b"CHMORVXYZcmrzNTFIDLSsBbdxlt[]\x90\x91\x55\x56\x60\x70\x78\x7f\xc8\xd4\xe0\xf8"]

XMLRPC_SEEDS = [xmlrpc.client.dumps(tuple(args), "add", allow_none=True).encode()
                for args in ([1, "two", 3.0, True, None], [[1, [2, [3]]], {"k": {"v": [1]}}],
                             [xmlrpc.client.Binary(b"\x00\x01"), xmlrpc.client.DateTime(0)], ["<&>" * 5])]
XMLRPC_TOKENS = [b"<value>", b"</value>", b"<array><data>", b"</data></array>", b"<struct>", b"<member>",
                 b"<name>", b"<int>", b"<i8>", b"<double>", b"<bigdecimal>", b"<biginteger>", b"<nil/>",
                 b"<base64>", b"<dateTime.iso8601>", b"<boolean>2</boolean>", b"&#0;", b"&amp;", b"&x;",
                 b"<!DOCTYPE x>", b"<!ENTITY a 'b'>", b"<?xml version='1.0' encoding='utf-16'?>", b"\xff\xfe",
                 b"<methodName>", b"</methodCall>", b"9" * 5000, b"]]>", b"<![CDATA["]

HTTP_SEEDS = [
    b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
    b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nT: v\r\n\r\n",
    b"GET /echo?q=1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi"
    b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n",
]
HTTP_TOKENS = [b"\r\n", b"\n", b"\r", b" ", b"\t", b":", b"\x0b", b"\x00", b"Content-Length: ", b"-0",
               b"Transfer-Encoding: chunked\r\n", b"Transfer-Encoding: \x0bchunked\r\n", b"Content-Length: 99999999999\r\n",
               b"ffffffffffffffffff\r\n", b"0\r\n\r\n", b"HTTP/2.0", b"Expect: 100-continue\r\n", b"\r\n\r\n",
               b"Host: a\r\nHost: b\r\n", b" folded\r\n"]


# -- the decoders --------------------------------------------------------------------
def hessian_decode(data: bytes) -> None:
    try:
        decode_call(data)
    finally:
        try:
            decode_reply(data)
        except ProtocolError:
            pass


def xmlrpc_decode(data: bytes) -> None:
    loads_call(data)
    loads_call(data, use_builtin_types=True)


def http_read(data: bytes, cut: int = 7) -> None:
    """Feed ``data`` in pieces of ``cut`` bytes, take every event, then say EOF."""
    reader = RequestReader(max_body_size=1000, max_head_size=2000, max_headers=20)
    for start in range(0, len(data), cut):
        reader.receive(data[start:start + cut])
        while True:
            event = reader.next_event()
            if event is NEED_DATA:
                break
            assert event is SEND_CONTINUE or isinstance(event, ParsedRequest), event
    reader.receive_eof()


class Calculator:
    def add(self, *args: object) -> object:
        return len(args)


def posts_keep_serving(port: int, path: str, bodies: list[bytes], check: Callable[[], None]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        for body in bodies:
            conn.request("POST", path, body=body)
            response = conn.getresponse()
            response.read()
            assert response.status < 500, (response.status, body[:200])
    finally:
        conn.close()
    check()


def test_hessian_decoder_fuzz():
    """50,000 mutated Hessian calls and replies: only ProtocolError; an exporter fed 200 of them keeps serving."""
    sample = run_all(mutants(HESSIAN_SEEDS, HESSIAN_TOKENS, INPUTS, SEED), hessian_decode, (ProtocolError,))
    with HessianServiceExporter(service=Calculator(), service_host="127.0.0.1", service_port=0, path="/calc") as exp:
        def check() -> None:
            from springpython.remoting.hessian import HessianProxyFactory

            proxy = HessianProxyFactory(service_url=exp.service_url)
            try:
                assert proxy.add(1, 2) == 2
            finally:
                proxy.destroy()

        posts_keep_serving(exp.port, "/calc", sample, check)


def test_xmlrpc_parser_fuzz():
    """50,000 mutated XML-RPC calls: only UnsafeXMLError or MalformedCallError; an exporter fed 200 keeps serving."""
    sample = run_all(mutants(XMLRPC_SEEDS, XMLRPC_TOKENS, INPUTS, SEED + 1), xmlrpc_decode,
                     (UnsafeXMLError, MalformedCallError))
    with XMLRPCServiceExporter(Calculator(), service_host="127.0.0.1", service_port=0) as exp:
        def check() -> None:
            with xmlrpc.client.ServerProxy(exp.service_url) as proxy:
                assert proxy.add(1, 2) == 2

        posts_keep_serving(exp.port, "/RPC2", sample, check)


def test_http_request_reader_fuzz():
    """50,000 mutated request streams, fed in pieces: only HTTPRequestError; a server fed 200 keeps serving."""
    sample = run_all(mutants(HTTP_SEEDS, HTTP_TOKENS, INPUTS, SEED + 2), http_read, (HTTPRequestError,))
    with HTTPServer("127.0.0.1", 0, max_body_size=1000) as srv:
        srv.mount("/echo", lambda request: Response(200, request.body))
        for data in sample:
            with socket.create_connection(("127.0.0.1", srv.port), timeout=30) as sock:
                sock.sendall(data)
                sock.shutdown(socket.SHUT_WR)  # EOF: the server answers what it has, then closes
                try:
                    while sock.recv(65536):
                        pass
                except ConnectionResetError:
                    pass  # a bad request's connection may end in a reset: still an end
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
        try:
            conn.request("POST", "/echo", body=b"still here")
            assert conn.getresponse().read() == b"still here"
        finally:
            conn.close()


# -- hypothesis: structured inputs it can shrink ----------------------------------------
def _spliced(seeds: list[bytes], tokens: list[bytes]) -> st.SearchStrategy[bytes]:
    piece = st.one_of(st.binary(max_size=16), st.sampled_from(tokens))
    return st.builds(lambda seed, at, pieces: seed[:at] + b"".join(pieces) + seed[at:],
                     st.sampled_from(seeds), st.integers(0, 400), st.lists(piece, max_size=6))


@HYPOTHESIS
@given(_spliced(HESSIAN_SEEDS, HESSIAN_TOKENS))
def test_hessian_decoder_hypothesis(data):
    """Hessian messages with inserted bytes and tags raise only ProtocolError."""
    run_all(iter([data]), hessian_decode, (ProtocolError,))


@HYPOTHESIS
@given(_spliced(XMLRPC_SEEDS, XMLRPC_TOKENS))
def test_xmlrpc_parser_hypothesis(data):
    """XML-RPC calls with inserted bytes and tags raise only UnsafeXMLError or MalformedCallError."""
    run_all(iter([data]), xmlrpc_decode, (UnsafeXMLError, MalformedCallError))


@HYPOTHESIS
@given(_spliced(HTTP_SEEDS, HTTP_TOKENS), st.integers(1, 64))
def test_http_request_reader_hypothesis(data, cut):
    """Request streams with inserted bytes, cut anywhere, raise only HTTPRequestError."""
    run_all(iter([data]), lambda d: http_read(d, cut), (HTTPRequestError,))


def test_the_fuzzer_reports_an_undocumented_exception_with_its_input():
    """An exception outside the documented ones fails the run, naming the input that raised it."""
    def broken(data: bytes) -> None:
        if data == b"bad":
            raise KeyError("not documented")
        raise ProtocolError("documented")

    assert run_all(iter([b"ok"]), broken, (ProtocolError,)) == [b"ok"]
    with pytest.raises(AssertionError, match="input 1 b'bad' raised KeyError"):
        run_all(iter([b"ok", b"bad"]), broken, (ProtocolError,))

