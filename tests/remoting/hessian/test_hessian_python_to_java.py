"""Python → Java: our HessianProxyFactory calls Caucho's HessianSkeleton (served by
the JDK's HTTP server) over every Hessian type, faults included."""

from __future__ import annotations

import datetime
import math

import pytest
from fixtures_hessian import java_peers, java_server  # noqa: F401 - pytest fixtures

from springpython.errors import NoSuchMethodError, RemoteFault
from springpython.remoting.hessian import HessianObject, HessianProxyFactory
from springpython.remoting.hessian._codec import Long, encode_value

UTC = datetime.timezone.utc
LONG_MIXED = "x\u00e9\u20ac\U0001F600" * 9000 + "y" + "\U0001F600" * 20000
# 0x7fff ASCII characters then an emoji: the first chunk boundary falls inside the pair
BOUNDARY = "a" * 0x7FFF + "\U0001F600" + "b" * 10

ECHO_CASES = [
    ("echo", None),
    ("echoBool", True),
    ("echoBool", False),
    *[("echoInt", v) for v in (0, 1, -16, 47, 48, -2048, 2047, 2048, -262144, 262143, 262144,
                                 2**31 - 1, -(2**31))],
    *[("echoLong", v) for v in (0, 5, -8, 15, 2047, 262143, 2**31 - 1, 2**31, 2**40, 2**63 - 1, -(2**63))],
    *[("echoDouble", v) for v in (0.0, 1.0, -1.0, 12.0, 300.0, 0.25, 3.125, 1000.5, 0.001, -2.5e-300,
                                    1e300, 5e-324, math.inf, -math.inf)],
    ("echoString", ""),
    ("echoString", "hello"),
    ("echoString", "caf\u00e9"),
    ("echoString", "\u20ac"),
    ("echoString", "\U0001F600"),
    ("echoString", "a\U0001F600b"),
    ("echoString", "lone \ud800 surrogate"),
    ("echoString", "x" * 10_000),
    ("echoString", LONG_MIXED),
    ("echoString", BOUNDARY),
    ("echoBytes", b""),
    ("echoBytes", b"\x00\x01\xff"),
    ("echoBytes", bytes(range(256)) * 400),
    ("echoDate", datetime.datetime(2020, 9, 13, 12, 26, 40, 123000, tzinfo=UTC)),
    ("echoDate", datetime.datetime(2020, 9, 13, 12, 26, tzinfo=UTC)),
    ("echoDate", datetime.datetime(1940, 1, 1, 0, 0, 0, 1000, tzinfo=UTC)),
    ("echoList", []),
    ("echoList", [1, "a", None, True, 2.5]),
    ("echoList", [[1, 2], [], "x", list(range(20))]),
    ("echoMap", {}),
    ("echoMap", {"a": 1, "b": None, 7: "seven", "list": [1, 2]}),
    ("echoMap", {"inner": {"deep": {}}, "bytes": b"\x00"}),
    ("echo", [{"k": [1, {"n": None}]}, -7, "\U0001F600"]),
]


def _ident(case):
    method, value = case
    text = repr(value)
    return f"{method}-{text[:30]}"


@pytest.fixture(params=[2, 1], ids=["hessian2-reply", "hessian1-reply"])
def proxy(request, java_server):
    """Our client for the Java server, asking for Hessian 2 (Caucho's default) or 1 replies."""
    factory = HessianProxyFactory(service_url=java_server.url(), hessian_version=request.param, timeout=20)
    yield factory
    factory.destroy()


@pytest.mark.parametrize("case", ECHO_CASES, ids=[_ident(c) for c in ECHO_CASES])
def test_echo_round_trip(proxy, case):
    """Every type travels to Caucho's server and back unchanged."""
    method, value = case
    result = getattr(proxy, method)(value)
    assert result == value
    assert type(result) is (Long if method == "echoLong" else type(value))


def test_nan_round_trip(proxy):
    """NaN survives the round trip."""
    assert math.isnan(proxy.echoDouble(math.nan))


def test_negative_zero_keeps_its_sign_in_hessian1(java_server):
    """-0.0 keeps its sign in Hessian 1 replies (Caucho's Hessian 2 writer sends 0.0)."""
    factory = HessianProxyFactory(service_url=java_server.url(), hessian_version=1)
    try:
        assert math.copysign(1.0, factory.echoDouble(-0.0)) == -1.0
    finally:
        factory.destroy()


def test_java_long_keeps_its_type(proxy):
    """A Java long arrives as Long (an int) and goes back as a long; Long(5) sends a small long."""
    value = proxy.echo(Long(5))
    assert value == 5 and type(value) is Long
    assert proxy.describe(Long(5)) == "java.lang.Long:5"
    assert proxy.describe(5) == "java.lang.Integer:5"


def test_tuple_arrives_as_list(proxy):
    """A tuple is sent as a Hessian list and comes back as a list."""
    assert proxy.echoList((1, "two", (3,))) == [1, "two", [3]]


def test_naive_date_is_taken_as_utc(proxy):
    """A naive datetime is UTC; replies are aware datetimes in UTC with millisecond precision."""
    result = proxy.echoDate(datetime.datetime(2021, 3, 4, 5, 6, 7, 891234))
    assert result == datetime.datetime(2021, 3, 4, 5, 6, 7, 891000, tzinfo=UTC)
    assert result.tzinfo is UTC


def test_aware_date_is_converted_to_utc(proxy):
    """An aware datetime in another zone arrives as the same instant, in UTC."""
    plus2 = datetime.timezone(datetime.timedelta(hours=2))
    result = proxy.echoDate(datetime.datetime(2021, 3, 4, 5, 6, 7, tzinfo=plus2))
    assert result == datetime.datetime(2021, 3, 4, 3, 6, 7, tzinfo=UTC)
    assert proxy.describe(datetime.datetime(1970, 1, 1, 1, 0, 0, 5000, tzinfo=plus2)) == "java.util.Date:-3599995"


def test_java_counts_utf16_units(proxy):
    """Java sees a non-BMP character as two UTF-16 code units, and sends them back whole."""
    assert proxy.stringLength("a\U0001F600b") == 4
    assert proxy.stringLength(LONG_MIXED) == len(LONG_MIXED.encode("utf-16-le")) // 2
    assert proxy.repeat("\U0001F600", 3) == "\U0001F600" * 3
    assert proxy.describe("\U0001F600") == "java.lang.String:\U0001F600"


@pytest.mark.parametrize(
    "value, described",
    [
        (5, "java.lang.Integer:5"),
        (2**40, "java.lang.Long:1099511627776"),
        (2.5, f"java.lang.Double:{4612811918334230528}"),
        ("s", "java.lang.String:s"),
        (True, "java.lang.Boolean:true"),
        (b"abc", "byte[]:3"),
        ([1, "a"], "java.util.ArrayList:[1, a]"),
        ({"k": 1}, "java.util.HashMap:{k=1}"),
        (HessianObject("Person", name="Ann", age=42), "Person:Person(Ann, 42)"),
        (None, "null"),
    ],
)
def test_java_sees_java_types(proxy, value, described):
    """Each Python type arrives in Java as the matching Java type."""
    assert proxy.describe(value) == described


def test_shared_and_cyclic_structures(proxy):
    """Shared lists stay shared and a list containing itself comes back as such."""
    inner = [1]
    result = proxy.echo([inner, inner])
    assert result == [[1], [1]] and result[0] is result[1]
    cyclic: list = []
    cyclic.append(cyclic)
    back = proxy.echo(cyclic)
    assert back[0] is back


def test_java_object_arrives_as_dict(proxy):
    """A Java bean comes back as a HessianObject (a dict) naming its Java class; none is sent back as one."""
    person = proxy.makePerson("Bob", 7)
    assert isinstance(person, dict) and person == {"name": "Bob", "age": 7}
    assert person.type_name == "Person"
    assert proxy.echoPerson(person) == person
    assert proxy.echoPerson(HessianObject("Person", name="Ann", age=42)).type_name == "Person"


def test_null_reply(proxy):
    """A method returning null returns None."""
    assert proxy.nothing() is None


def test_application_exception_is_a_fault(proxy):
    """A Java exception arrives as RemoteFault with code ServiceException, message and the exception as detail."""
    with pytest.raises(RemoteFault) as caught:
        proxy.fail("boom \u00e9 \U0001F600")
    fault = caught.value
    assert fault.code == "ServiceException" and fault.remote_type == "java.lang.IllegalStateException"
    assert "boom \u00e9 \U0001F600" in str(fault)
    assert isinstance(fault.detail, HessianObject)
    assert fault.detail.type_name == "java.lang.IllegalStateException"
    assert fault.detail["detailMessage"] == "boom \u00e9 \U0001F600"
    # Throwable.cause points back at the exception: the reference numbering matches Caucho's
    assert fault.detail["cause"] is fault.detail
    assert proxy.add(1, 2) == 3


def test_unknown_method_is_a_fault(proxy):
    """Calling a method the Java service lacks raises NoSuchMethodError (code NoSuchMethodException);
    the connection stays usable."""
    with pytest.raises(NoSuchMethodError) as caught:
        proxy.noSuchMethod(1)
    assert caught.value.code == "NoSuchMethodException"
    assert "noSuchMethod" in str(caught.value)
    assert proxy.add(2, 3) == 5
    assert proxy.connections == 1


def test_wrong_argument_count_is_a_fault(proxy):
    """Too few arguments for a Java method fault cleanly; the next call works."""
    with pytest.raises(RemoteFault):
        proxy.add(1)
    assert proxy.add(4, 5) == 9


def test_unencodable_argument_is_refused_locally(proxy):
    """An argument Hessian cannot carry raises TypeError before anything is sent."""
    with pytest.raises(TypeError, match="cannot encode object"):
        proxy.echo(object())
    with pytest.raises(ValueError, match="64 bits"):
        proxy.echo(2**64)
    assert proxy.add(1, 1) == 2


def test_keeps_one_connection_per_thread(java_server):
    """Sequential calls reuse one kept-alive connection; destroy() closes it."""
    factory = HessianProxyFactory(service_url=java_server.url())
    for i in range(20):
        assert factory.add(i, 1) == i + 1
    assert factory.connections == 1
    factory.destroy()
    assert factory.connections == 0
    assert factory.add(1, 1) == 2
    factory.destroy()


def test_basic_authentication(java_server):
    """username/password (or credentials in the URL) pass the Java server's HTTP basic check; without them: HTTP 401."""
    with_props = HessianProxyFactory(service_url=java_server.url("/secure"), username="user", password="secret")
    in_url = HessianProxyFactory(service_url=f"http://user:secret@127.0.0.1:{java_server.port}/secure")
    without = HessianProxyFactory(service_url=java_server.url("/secure"))
    try:
        assert with_props.add(1, 2) == 3
        assert in_url.add(3, 4) == 7
        with pytest.raises(RemoteFault) as caught:
            without.add(1, 2)
        assert caught.value.code == 401
    finally:
        for factory in (with_props, in_url, without):
            factory.destroy()


ENCODE_CASES = [
    None, True, False, 0, -16, 47, 48, -2048, 2047, 2048, -262144, 262143, 262144, 2**31 - 1, -(2**31),
    2**31, 2**40, -(2**63), 2**63 - 1,
    0.0, 1.0, -128.0, 127.0, -32768.0, 32767.0, 40000.0, 0.001, 2.5, 1000.5, 1e300, math.inf,
    "", "a", "x" * 31, "x" * 32, "x" * 1023, "x" * 1024, "x" * 0x8000, "x" * 0x8001, "\U0001F600" * 5,
    BOUNDARY, LONG_MIXED,
    b"", b"x" * 15, b"x" * 16, b"x" * 1023, b"x" * 1024, b"x" * 8000,
    datetime.datetime(2020, 9, 13, 12, 26, 40, 123000, tzinfo=UTC),
    datetime.datetime(2020, 9, 13, 12, 26, tzinfo=UTC),
    [], [1, 2, 3, 4, 5, 6, 7], list(range(8)), [[], [[]]], {"k": [1, "v"]}, {},
    HessianObject("Person", name="Ann", age=42),
    [HessianObject("Person", name="Ann", age=42), HessianObject("Person", name="Bob", age=7)],
]


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("value", ENCODE_CASES, ids=[repr(v)[:30] for v in ENCODE_CASES])
def test_encoder_agrees_with_caucho_byte_for_byte(java_server, version, value):
    """Caucho's own writer, given the value our client sent, produces exactly our bytes."""
    factory = HessianProxyFactory(service_url=java_server.url())
    try:
        assert factory.encode(version, value) == encode_value(value, version)
    finally:
        factory.destroy()


@pytest.mark.parametrize("value", [b"x" * 0x8000, b"x" * 0x8001, b"y" * 70000], ids=["32k", "32k+1", "70k"])
def test_large_binary_agrees_with_caucho_in_hessian1(java_server, value):
    """Binaries over 8 KiB agree byte for byte in Hessian 1 (Caucho's Hessian 2 writer
    cuts them where its 8 KiB output buffer happens to fill; both forms decode alike)."""
    factory = HessianProxyFactory(service_url=java_server.url())
    try:
        assert factory.encode(1, value) == encode_value(value, 1)
        assert factory.encode(2, value) != encode_value(value, 2)
        assert factory.echoBytes(value) == value
    finally:
        factory.destroy()


def test_shared_references_agree_with_caucho(proxy):
    """References to a list met twice are written as Caucho writes them."""
    inner = ["shared"]
    for version in (1, 2):
        assert proxy.encode(version, [inner, inner]) == encode_value([inner, inner], version)


def test_chunked_replies(java_server):
    """Replies in chunked transfer encoding (the JDK server's /chunked) are read whole, kept alive."""
    factory = HessianProxyFactory(service_url=java_server.url("/chunked"))
    try:
        for text in ("short", "é😀" * 20000):
            assert factory.echoString(text) == text
        assert factory.add(1, 2) == 3
        assert factory.connections == 1
    finally:
        factory.destroy()
