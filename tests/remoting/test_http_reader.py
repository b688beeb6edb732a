"""The sans-IO request reader: framing, limits, 100-continue, and strict RFC 9112 errors."""

from __future__ import annotations

import pytest

from springpython.errors import HTTPRequestError, ProtocolError
from springpython.remoting.http_reader import NEED_DATA, SEND_CONTINUE, ParsedRequest, RequestReader

HEAD = b"POST /calc?x=1 HTTP/1.1\r\nHost: h\r\nX-A: one\r\nx-a: two\r\n"


def read_all(data: bytes, max_body_size: int = 1000) -> list[ParsedRequest]:
    reader = RequestReader(max_body_size)
    reader.receive(data)
    out = []
    while isinstance(event := reader.next_event(), ParsedRequest):
        out.append(event)
    assert event is NEED_DATA
    return out


def error_of(data: bytes, max_body_size: int = 1000) -> HTTPRequestError:
    with pytest.raises(HTTPRequestError) as info:
        read_all(data, max_body_size)
    return info.value


def test_request_fields():
    """Method, path, query, version, lower-case headers (repeats joined) and the body come out."""
    [request] = read_all(HEAD + b"Content-Length: 3\r\n\r\nabc")
    assert request == ParsedRequest("POST", "/calc", "x=1", "HTTP/1.1",
                                    {"host": "h", "x-a": "one, two", "content-length": "3"}, b"abc")


def test_byte_at_a_time_equals_all_at_once():
    """Fed one byte at a time, the reader yields the same pipelined requests as fed at once."""
    data = (HEAD + b"Content-Length: 3\r\n\r\nabc" + HEAD + b"Transfer-Encoding: chunked\r\n\r\n"
            b"2;name=\"q \\\" v\"\r\nde\r\n1\r\nf\r\n0\r\nTrailer: t\r\n\r\n")
    reader, out = RequestReader(1000), []
    for byte in data:
        reader.receive(bytes([byte]))
        while isinstance(event := reader.next_event(), ParsedRequest):
            out.append(event)
    assert out == read_all(data)
    assert [r.body for r in out] == [b"abc", b"def"]


def test_empty_lines_before_a_request_are_skipped():
    """CRLFs before a request line are ignored (RFC 9112 2.2)."""
    assert read_all(b"\r\n\r\nGET / HTTP/1.0\r\n\r\n")[0].method == "GET"


def test_expect_continue_asked_once_only_when_the_body_is_missing():
    """SEND_CONTINUE comes once, before the body, and not when the body is already there."""
    reader = RequestReader(1000)
    reader.receive(b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
    assert reader.next_event() is SEND_CONTINUE
    assert reader.next_event() is NEED_DATA
    reader.receive(b"hi")
    assert reader.next_event().body == b"hi"
    assert len(read_all(b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi")) == 1


def test_eof_between_requests_is_fine_in_the_middle_is_an_error():
    """EOF with nothing pending is a clean end; inside a head or body it is a 400."""
    reader = RequestReader(1000)
    reader.receive_eof()
    for partial in (b"POST / HT", b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab",
                    b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"):
        reader = RequestReader(1000)
        reader.receive(partial)
        assert reader.next_event() is NEED_DATA
        with pytest.raises(HTTPRequestError, match="connection closed") as info:
            reader.receive_eof()
        assert info.value.status == 400


SMUGGLING = {
    "bare LF in a header": b"POST / HTTP/1.1\r\nHost: x\nContent-Length: 5\r\n\r\nhello",
    "bare LF in the request line": b"POST / HTTP/1.1\nHost: x\r\n\r\n",
    "bare LF ends a head": b"POST / HTTP/1.1\r\nHost: x\n\n",
    "bare CR in a header": b"POST / HTTP/1.1\r\nHost: x\rContent-Length: 5\r\n\r\nhello",
    "VT before chunked": b"POST / HTTP/1.1\r\nTransfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n",
    "NUL in a value": b"POST / HTTP/1.1\r\nHost: x\x00y\r\n\r\n",
    "DEL in a value": b"POST / HTTP/1.1\r\nHost: x\x7fy\r\n\r\n",
    "space before colon": b"POST / HTTP/1.1\r\nContent-Length : 5\r\n\r\nhello",
    "tab before colon": b"POST / HTTP/1.1\r\nContent-Length\t: 5\r\n\r\nhello",
    "folded line": b"POST / HTTP/1.1\r\nHost: x\r\n Content-Length: 5\r\n\r\nhello",
    "chunk size -0": b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-0\r\n\r\n",
    "chunk size 0x5": b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n",
    "chunk size +5": b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n+5\r\nhello\r\n0\r\n\r\n",
    "chunk size 5_0": b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5_0\r\n",
    "chunk size with space": b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n 5\r\nhello\r\n0\r\n\r\n",
    "chunk size 17 digits": b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + b"0" * 16 + b"5\r\nhello\r\n",
    "chunk size bare LF": b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
    "chunk ext control": b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;a\x01\r\nhello\r\n0\r\n\r\n",
    "chunk without CRLF": b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
    "trailer bare LF": b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: b\n\r\n",
    "CL and TE": b"POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "TE in HTTP/1.0": b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "CL twice": b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
    "CL list": b"POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\nhello",
    "CL sign": b"POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\nhello",
    "TE twice": b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "two spaces in the request line": b"POST  / HTTP/1.1\r\n\r\n",
}


@pytest.mark.parametrize("data", SMUGGLING.values(), ids=SMUGGLING.keys())
def test_ambiguous_framing_is_a_400_and_the_reader_stays_dead(data):
    """Every shape a front end could frame differently is a 400, and no request follows it."""
    reader = RequestReader(1000)
    reader.receive(data + b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n")
    with pytest.raises(HTTPRequestError) as first:
        while reader.next_event() is not NEED_DATA:
            pass
    assert first.value.status == 400 and isinstance(first.value, ProtocolError)
    with pytest.raises(HTTPRequestError) as again:
        reader.next_event()
    assert again.value is first.value


@pytest.mark.parametrize(
    "data, status, message",
    [
        (b"POST / HTTP/1.1\r\nContent-Length: 1001\r\n\r\n", 413, "1001 bytes exceeds the limit of 1000"),
        (b"POST / HTTP/1.1\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n", 413, "exceeds the limit"),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3e9\r\n", 413, "chunked request body exceeds"),
        (b"POST / HTTP/1.1\r\nX: " + b"a" * 70000, 431, "request head exceeds"),
        (b"POST / HTTP/1.1\r\n" + b"X: a\r\n" * 101 + b"\r\n", 431, "more than 100 header fields"),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "unsupported Transfer-Encoding"),
        (b"POST / HTTP/2.0\r\n\r\n", 505, "unsupported version"),
    ],
)
def test_limits_and_unsupported_features(data, status, message):
    """Limits are 413/431 before the body is read; unsupported codings and versions 501/505."""
    error = error_of(data)
    assert error.status == status and message in str(error)
