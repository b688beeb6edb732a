"""Replies in the Hessian 2.0 draft form (``r 2 0 … z``) that Caucho Hessian 3.1.x
servers send to a ``c 2 0`` call, from a server written here from that protocol form:
values and faults reach the proxy as they do from Caucho 4 (``H 2 0 R``)."""

from __future__ import annotations

import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from springpython.errors import RemoteFault
from springpython.remoting.hessian import HessianProxyFactory
from springpython.remoting.hessian._codec import decode_call, decode_reply


def draft_string(text: str) -> bytes:
    """A Hessian 2 string: short form (length byte 0x00-0x1f) or ``S`` b16 length."""
    data = text.encode()
    return bytes([len(text)]) + data if len(text) < 32 else b"S" + struct.pack(">H", len(text)) + data


def draft_int(value: int) -> bytes:
    """A Hessian 2 int: one byte 0x80-0xbf for -16..47, else ``I`` b32."""
    return bytes([0x90 + value]) if -16 <= value <= 47 else b"I" + struct.pack(">i", value)


def draft_reply(value: bytes) -> bytes:
    """Caucho 3.1.x's reply: ``r`` 2 0, the value, ``z``."""
    return b"r\x02\x00" + value + b"z"


def draft_fault(code: str, message: str) -> bytes:
    """Caucho 3.1.x's fault: ``r`` 2 0 ``f``, the code and message pairs, ``z`` ending the fault and the reply."""
    pairs = draft_string("code") + draft_string(code) + draft_string("message") + draft_string(message)
    return b"r\x02\x00f" + pairs + b"zz"


class Caucho31Handler(BaseHTTPRequestHandler):
    """Answers add(a, b) and describe(text) in the 2.0 draft form; anything else is a fault."""

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        call = decode_call(self.rfile.read(int(self.headers["Content-Length"])))
        assert call.reply_version == 2, "the proxy asks for a Hessian 2 reply, as Caucho's client does"
        if call.method == "add":
            body = draft_reply(draft_int(call.args[0] + call.args[1]))
        elif call.method == "describe":
            body = draft_reply(draft_string(f"{call.args[0]!s} in the draft form"))
        else:
            body = draft_fault("NoSuchMethodException", f"no method {call.method}")
        self.send_response(200)
        self.send_header("Content-Type", "application/x-hessian")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def caucho31():
    """A server answering in Caucho Hessian 3.1.x's reply form, on a port the system picks."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Caucho31Handler)
    thread = threading.Thread(target=server.serve_forever, name="caucho31")
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join()


def test_draft_reply_values_reach_the_proxy(caucho31):
    """Values replied as r 2 0 ... z (small and large ints, short and long strings) are returned by the proxy."""
    proxy = HessianProxyFactory(service_url=caucho31)
    try:
        assert proxy.add(2, 3) == 5
        assert proxy.add(40000, 2) == 40002
        assert proxy.describe("x") == "x in the draft form"
        assert proxy.describe("y" * 40) == "y" * 40 + " in the draft form"
    finally:
        proxy.destroy()


def test_draft_fault_is_a_remote_fault(caucho31):
    """A fault replied as r 2 0 f ... z is a RemoteFault with Caucho's code and message."""
    proxy = HessianProxyFactory(service_url=caucho31)
    try:
        with pytest.raises(RemoteFault, match="no method nosuch") as info:
            proxy.nosuch()
        assert info.value.code == "NoSuchMethodException"
    finally:
        proxy.destroy()


def test_draft_list_and_map_end_with_lowercase_z():
    """In the draft a variable-length list and a map end with z, as in Hessian 1."""
    value = b"H" + draft_string("k") + b"W" + draft_int(1) + draft_int(2) + b"z" + b"z"
    assert decode_reply(draft_reply(value)).value == {"k": [1, 2]}
