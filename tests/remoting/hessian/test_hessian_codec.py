"""The Hessian codec in memory: round trips in both versions, byte-for-byte agreement
with python-hessian's encoder, and clean errors for bad values and bad messages."""

from __future__ import annotations

import datetime
import math
import random

import pytest
from pyhessian.encoder import encode_object
from pyhessian.parser import Parser
from pyhessian.protocol import Binary, Call

from springpython.errors import ProtocolError
from springpython.remoting.hessian import _codec
from springpython.remoting.hessian._codec import (
    MAX_DEPTH,
    HessianObject,
    Long,
    decode_call,
    decode_reply,
    decode_value,
    encode_call,
    encode_call2,
    encode_fault,
    encode_reply,
    encode_value,
)

UTC = datetime.timezone.utc

VALUES = [
    None, True, False, 0, -16, 47, 48, 2047, -2048, 262143, -262144, 2**31 - 1, -(2**31), 2**31, -(2**63),
    2**63 - 1, Long(3), 0.0, -0.0, 1.0, 2.5, 127.0, -32768.0, 0.001, 1e300, math.inf, -math.inf,
    "", "a", "x" * 31, "x" * 32, "x" * 1023, "x" * 1024, "é€😀", "\ud800 lone", "😀" * 0x4000,
    "a" * 0x7FFF + "😀" + "b", "y" * 70000, "é" * 40000,
    b"", b"\x00" * 15, b"\x01" * 16, b"z" * 1023, b"z" * 1024, b"q" * 0x8001, b"w" * 70000,
    datetime.datetime(2020, 9, 13, 12, 26, 40, 123000, tzinfo=UTC),
    datetime.datetime(2020, 9, 13, 12, 26, tzinfo=UTC),
    datetime.datetime(1, 1, 1, tzinfo=UTC),
    [], [1, [2, [3, []]]], list(range(100)), {}, {"a": {"b": [None]}}, {1: "x", 2.5: "y", None: "z"},
    HessianObject("com.example.Person", name="Ann", age=42),
    [HessianObject("P", a=1), HessianObject("P", a=2), HessianObject("Q", b=3)],
    [HessianObject(f"T{i}", v=i) for i in range(20)],
]


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("value", VALUES, ids=[repr(v)[:30] for v in VALUES])
def test_round_trip(version, value):
    """Every supported value decodes to what was encoded, in both versions."""
    back = decode_value(encode_value(value, version), version)
    assert back == value
    if isinstance(value, float) and value == 0.0:
        assert math.copysign(1.0, back) == math.copysign(1.0, value)
    if isinstance(value, HessianObject):
        assert back.type_name == value.type_name


@pytest.mark.parametrize("version", [1, 2])
def test_calls_replies_and_faults_round_trip(version):
    """Calls, replies and faults of both versions decode to what was written."""
    args = [1, "two", [3.0], {"four": b"4"}]
    call = decode_call(encode_call("method", args, version))
    assert (call.method, call.args, call.reply_version) == ("method", args, version)
    assert decode_reply(encode_reply(args, version)).value == args
    fault = decode_reply(encode_fault("ServiceException", "boom 😀", {"d": [1]}, version)).fault
    assert fault == ("ServiceException", "boom 😀", {"d": [1]})
    call2 = decode_call(encode_call2("m😀", args))
    assert (call2.method, call2.args, call2.reply_version) == ("m😀", args, 2)


@pytest.mark.parametrize("version", [1, 2])
def test_references_preserve_sharing_and_cycles(version):
    """Shared and cyclic lists and maps decode with the same sharing."""
    shared = {"k": 1}
    cyclic: list = [shared, shared]
    cyclic.append(cyclic)
    back = decode_value(encode_value(cyclic, version), version)
    assert back[0] is back[1] and back[2] is back
    assert back[0] == {"k": 1}


def test_dates_are_utc():
    """Naive datetimes are UTC, aware ones are converted; decoded dates are aware UTC, in milliseconds."""
    naive = datetime.datetime(2021, 1, 2, 3, 4, 5, 678999)
    assert decode_value(encode_value(naive)) == naive.replace(microsecond=678000, tzinfo=UTC)
    plus = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
    aware = datetime.datetime(2021, 1, 2, 3, 4, 5, tzinfo=plus)
    back = decode_value(encode_value(aware, 1), 1)
    assert back == aware and back.tzinfo is UTC and back.hour == 21


PYHESSIAN_CASES = [
    (), (1, -7, 2**31 - 1), (2.5, 1e-9, True, False, None), ("plain", "é€", "😀 two 😀", "x" * 20000),
    ((1, (2, ("three",))),), (Binary(b"\x00\x01\xff" * 100),), (datetime.datetime(2020, 1, 2, 3, 4, 5),),
    ((1, 2), "shared"),
]


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("args", PYHESSIAN_CASES, ids=[repr(a)[:30] for a in PYHESSIAN_CASES])
def test_calls_agree_with_pyhessian_byte_for_byte(version, args):
    """Our call bytes equal python-hessian's for the values it encodes correctly.

    Where it differs it is not correct: lists get length -1, untyped maps no type,
    dates lose their milliseconds and ints over 32 bits overflow."""
    assert encode_call("method", args, version) == encode_object(Call("method", list(args), version=version))


def test_shared_tuple_reference_agrees_with_pyhessian():
    """A tuple met twice is written as a reference exactly as python-hessian writes it."""
    inner = (1, 2)
    args = [inner, inner]
    assert encode_call("m", args) == encode_object(Call("m", args, version=2))


def test_pyhessian_reads_what_we_write():
    """python-hessian's parser reads our replies (the types it knows) back to the same values."""
    value = [1, "é😀", 2.5, None, True, {"k": "v"}]
    parsed = Parser().parse_string(encode_reply(value, 1)).value
    assert list(parsed[:5]) == value[:5] and parsed[5] == {"k": "v"}


def test_pyhessian_markers_are_accepted():
    """python-hessian's Binary and long markers encode as binary and long."""
    assert decode_value(encode_value(Binary(b"abc"))) == b"abc"
    assert encode_value(Long(1), 1) == b"L" + (1).to_bytes(8, "big")


@pytest.mark.parametrize(
    "value, error, match",
    [
        (object(), TypeError, "cannot encode object"),
        (2**64, ValueError, "64 bits"),
        (-(2**63) - 1, ValueError, "64 bits"),
        (complex(1, 2), TypeError, "cannot encode complex"),
        ({"k": object()}, TypeError, "cannot encode object"),
    ],
)
def test_unencodable_values_are_refused(value, error, match):
    """A value Hessian cannot carry raises TypeError/ValueError naming it."""
    for version in (1, 2):
        with pytest.raises(error, match=match):
            encode_value(value, version)


def test_too_deep_values_are_refused():
    """Encoding a structure nested deeper than MAX_DEPTH raises ValueError, not RecursionError."""
    deep: list = []
    for _ in range(MAX_DEPTH + 5):
        deep = [deep]
    for version in (1, 2):
        with pytest.raises(ValueError, match="nested deeper"):
            encode_value(deep, version)


def test_method_name_must_be_text():
    """An empty or non-string method name is refused."""
    with pytest.raises(ValueError):
        encode_call("", [])


@pytest.mark.parametrize("version", [1, 2])
def test_every_truncation_is_a_protocol_error(version):
    """Every proper prefix of a call and of a reply raises ProtocolError, nothing else."""
    value = [1, "é😀", b"bin", 2**40, 2.5, {"k": [None, True]}, HessianObject("P", a=1),
             datetime.datetime(2020, 1, 1, tzinfo=UTC), "x" * 40]
    call = encode_call("m", value, version) if version == 1 else encode_call2("m", value)
    reply = encode_reply(value, version)
    for message, decode in ((call, decode_call), (reply, decode_reply)):
        for end in range(len(message)):
            with pytest.raises(ProtocolError):
                decode(message[:end])


BOMBS = [
    ("v2 open lists", b"H\x02\x00C\x01m\x91" + b"W" * 100_000),
    ("v2 short lists", b"H\x02\x00C\x01m\x91" + b"\x79" * 100_000),
    ("v2 maps", b"H\x02\x00C\x01m\x91" + b"H\x01k" * 50_000),
    ("v1 lists", b"c\x01\x00m\x00\x01m" + b"V" * 100_000),
    ("v1 maps", b"c\x01\x00m\x00\x01m" + b"MS\x00\x01k" * 50_000),
    ("v2 refs of refs", b"H\x02\x00C\x01m\x91" + b"Q" * 100_000),
    ("v2 class definitions", b"H\x02\x00C\x01m\x91" + b"C\x01P\x90" * 50_000),
]


@pytest.mark.parametrize("name, body", BOMBS, ids=[b[0] for b in BOMBS])
def test_depth_bombs_are_protocol_errors(name, body):
    """Deeply nested messages raise a clean ProtocolError, never RecursionError."""
    with pytest.raises(ProtocolError):
        decode_call(body)


HUGE = [
    ("v2 list of 2^31-1", b"H\x02\x00C\x01m\x91XI\x7f\xff\xff\xff\x91"),
    ("v2 typed list of 2^31-1", b"H\x02\x00C\x01m\x91V\x01tI\x7f\xff\xff\xff"),
    ("v2 argument count", b"H\x02\x00C\x01mI\x7f\xff\xff\xff\x91"),
    ("v2 string of 65535", b"H\x02\x00C\x01m\x91S\xff\xff" + b"a" * 10),
    ("v2 string chunks", b"H\x02\x00C\x01m\x91" + b"R\xff\xff" + b"a" * 100),
    ("v2 binary of 65535", b"H\x02\x00C\x01m\x91B\xff\xff" + b"a" * 10),
    ("v2 class of 2^31-1 fields", b"H\x02\x00C\x01m\x91C\x01PI\x7f\xff\xff\xff"),
    ("v2 negative list", b"H\x02\x00C\x01m\x91XI\xff\xff\xff\xff"),
    ("v2 reference far away", b"H\x02\x00C\x01m\x91QI\x7f\xff\xff\xff"),
    ("v2 object of unknown class", b"H\x02\x00C\x01m\x91O\x9f"),
    ("v2 type reference unknown", b"H\x02\x00C\x01m\x91V\x95\x91\x91"),
    ("v1 string of 65535", b"c\x01\x00m\x00\x01mS\xff\xff" + b"a" * 10 + b"z"),
    ("v1 binary of 65535", b"c\x01\x00m\x00\x01mB\xff\xff" + b"a" * 10 + b"z"),
    ("v1 list declared 2^31-1", b"c\x01\x00m\x00\x01mVl\x7f\xff\xff\xff"),
    ("v1 reference far away", b"c\x01\x00m\x00\x01mR\x7f\xff\xff\xffz"),
    ("v1 method name of 65535", b"c\x01\x00m\xff\xffm"),
    ("v1 type of 65535", b"c\x01\x00m\x00\x01mMt\xff\xffP"),
    ("date past year 9999", b"H\x02\x00C\x01m\x91J\x7f\xff\xff\xff\xff\xff\xff\xff"),
    ("invalid utf-8", b"H\x02\x00C\x01m\x91\x02\xff\xfe"),
    ("unhashable key", b"H\x02\x00C\x01m\x91H\x78\x91Z"),
    ("unknown tag", b"H\x02\x00C\x01m\x91\x40"),
    ("envelope", b"H\x02\x00E"),
    ("version 3", b"c\x03\x00m\x00\x01mz"),
    ("trailing bytes", b"c\x01\x00m\x00\x01mzzz"),
    ("not hessian", b"GET / HTTP/1.1\r\n"),
]


@pytest.mark.parametrize("name, body", HUGE, ids=[h[0] for h in HUGE])
def test_bad_declared_lengths_and_garbage_are_protocol_errors(name, body):
    """Huge declared lengths, bad references and garbage raise ProtocolError without allocating."""
    with pytest.raises(ProtocolError):
        decode_call(body)


def test_random_and_mutated_messages_only_raise_protocol_errors():
    """20,000 random and mutated messages either decode or raise ProtocolError."""
    rng = random.Random(20261121)
    seeds = [
        encode_call("m", [1, "é😀", [2**40, {"k": b"v"}], HessianObject("P", a=2.5)], 1),
        encode_call2("m", [1, "é😀", [2**40, {"k": b"v"}], HessianObject("P", a=2.5)]),
        encode_reply([datetime.datetime(2020, 1, 1, tzinfo=UTC), "x" * 50, None], 2),
        encode_reply([datetime.datetime(2020, 1, 1, tzinfo=UTC), "x" * 50, None], 1),
        encode_fault("ServiceException", "boom", {"d": 1}, 2),
    ]
    outcomes = {"decoded": 0, "refused": 0}
    for i in range(20_000):
        if i % 4 == 0:
            body = bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 64)))
        else:
            body = bytearray(rng.choice(seeds))
            for _ in range(rng.randrange(1, 6)):
                position = rng.randrange(len(body))
                action = rng.randrange(3)
                if action == 0:
                    body[position] = rng.getrandbits(8)
                elif action == 1:
                    del body[position]
                else:
                    body.insert(position, rng.getrandbits(8))
            body = bytes(body)
        decode = decode_call if body[:1] in (b"c", b"C") or body[:4] == b"H\x02\x00C" else decode_reply
        try:
            decode(body)
            outcomes["decoded"] += 1
        except ProtocolError:
            outcomes["refused"] += 1
    assert outcomes["refused"] > 10_000 and outcomes["decoded"] > 100


def test_decoding_never_names_a_python_class():
    """A typed map naming a Python class decodes to a HessianObject holding only the name as text."""
    body = encode_value(HessianObject("os.system", command="true"), 1)
    back = decode_value(body, 1)
    assert type(back) is HessianObject and back.type_name == "os.system"
    assert not hasattr(_codec, "cls_factory") and "pyhessian.parser" not in _codec.__dict__
