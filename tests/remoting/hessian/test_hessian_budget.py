"""The Hessian decode budget: a message of N bytes costs memory of a small constant
times N, in memory and on a real exporter; and what the encoder writes, the decoder
reads."""

from __future__ import annotations

import http.client
import subprocess
import tracemalloc

import pytest
from support import peak_kib

from springpython.errors import ProtocolError
from springpython.remoting.hessian import HessianProxyFactory
from springpython.remoting.hessian._codec import (
    DEFAULT_LIMITS,
    DecodeLimits,
    decode_call,
    decode_reply,
    decode_value,
    encode_call,
    encode_value,
)

MiB = 1024 * 1024
CALL_HEAD = b"H\x02\x00C\x04echo\x91"  # Hessian 2 call of echo with one argument

SERVER = """
import sys
from springpython.remoting.hessian import HessianServiceExporter

class Echo:
    def echo(self, value):
        return value

with HessianServiceExporter(service=Echo(), service_host="127.0.0.1", service_port=0, path="/echo") as exporter:
    print(exporter.port, flush=True)
    sys.stdin.read()
"""


def crafted_call(size: int, prefix: bytes, item: bytes) -> bytes:
    """A call of ``size`` bytes whose argument is a list of ``item`` repeated, after ``prefix``."""
    count = (size - len(CALL_HEAD) - len(prefix) - 5) // len(item)
    return CALL_HEAD + prefix + b"XI" + count.to_bytes(4, "big") + item * count


SHAPES = {
    # a class without fields, then one-byte instances of it: ~100 bytes of objects per byte
    "field-less objects": (b"C\x01X\x90", b"\x60"),
    "empty lists": (b"", b"\x78"),
    "empty maps": (b"", b"HZ"),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_crafted_body_is_refused_within_a_memory_budget(shape):
    """A 2 MiB call made of one-byte containers is a ProtocolError naming the budget,
    and decoding it allocates at most 16 times its size."""
    data = crafted_call(2 * MiB, *SHAPES[shape])
    tracemalloc.start()
    try:
        with pytest.raises(ProtocolError, match=f"of {len(data)} bytes creates more than "
                                                f"{DEFAULT_LIMITS.containers(len(data))} lists, maps and objects"):
            decode_call(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * len(data), f"decoding peaked at {peak / len(data):.1f} times the message size"


def test_containers_within_the_budget_decode():
    """As many containers as the budget allows decode; one more is refused."""
    limits = DecodeLimits(base_containers=10, bytes_per_container=1000)
    value = [[] for _ in range(9)]  # the outer list and nine inner ones: ten containers
    data = encode_value(value)
    assert len(data) < 1000
    assert decode_value(data, limits=limits) == value
    with pytest.raises(ProtocolError, match="more than 10 lists, maps and objects"):
        decode_value(encode_value([*value, []]), limits=limits)


def test_budget_applies_to_replies_and_hessian_1():
    """Replies and Hessian 1 messages have the same budget."""
    limits = DecodeLimits(base_containers=2, bytes_per_container=10**6)
    with pytest.raises(ProtocolError, match="more than 2 lists"):
        decode_reply(b"H\x02\x00R" + encode_value([[], []]), limits=limits)
    with pytest.raises(ProtocolError, match="more than 2 lists"):
        decode_call(encode_call("echo", [[[], []]], version=1), limits=limits)


def test_max_depth_is_configurable():
    """max_depth bounds nesting per decoder."""
    data = encode_value([[[1]]])
    assert decode_value(data, limits=DecodeLimits(max_depth=3)) == [[[1]]]
    with pytest.raises(ProtocolError, match="nested deeper than 2 levels"):
        decode_value(data, limits=DecodeLimits(max_depth=2))


def test_one_byte_longs_share_their_objects():
    """A list of one-byte Hessian longs holds shared objects (no new object per byte)."""
    values = decode_value(b"X\x93\xe0\xe0\xe0")
    assert values == [0, 0, 0] and values[0] is values[1] is values[2]


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("key", [(1, 2), frozenset({"a"})])
def test_encoder_refuses_dict_keys_the_decoder_cannot_read(version, key):
    """A dict key that Hessian writes as a list (tuple, frozenset) is refused when encoding."""
    with pytest.raises(TypeError, match=f"dict key of type {type(key).__name__}.*cannot be a map key"):
        encode_value({key: 1}, version)


@pytest.mark.parametrize("version", [1, 2])
def test_every_other_key_type_round_trips(version):
    """Keys of every other encodable hashable type come back equal."""
    import datetime

    value = {"s": 1, 2: "i", 2.5: None, True: [], b"b": 3,
             datetime.datetime(2020, 1, 2, tzinfo=datetime.timezone.utc): 4}
    assert decode_value(encode_value(value, version), version) == value


def test_exporter_refuses_a_crafted_body_at_the_size_limit(spawn):
    """An 8 MiB call of one-byte field-less objects gets a ProtocolException fault, the
    server child's peak memory grows by less than 128 MiB (unbudgeted: 1.6 GiB), and
    it answers the next call."""
    proc = spawn(["-c", SERVER], stdin=subprocess.PIPE)
    port = int(proc.stdout.readline())
    url = f"http://127.0.0.1:{port}/echo"
    service = HessianProxyFactory(service_url=url)
    try:
        assert service.echo("warm") == "warm"
        before = peak_kib(proc.pid)
        body = crafted_call(8 * MiB - 1024, *SHAPES["field-less objects"])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            conn.request("POST", "/echo", body=body, headers={"Content-Type": "x-application/hessian"})
            response = conn.getresponse()
            reply = decode_reply(response.read())
        finally:
            conn.close()
        assert response.status == 200
        assert reply.fault is not None and reply.fault.code == "ProtocolException"
        assert "lists, maps and objects" in reply.fault.message
        grown = peak_kib(proc.pid) - before
        assert grown < 128 * 1024, f"the server's peak memory grew by {grown} KiB"
        assert service.echo("next") == "next"
    finally:
        service.destroy()
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err


class Nesting:
    def echo(self, value):
        return value

    def nested(self, depth):
        value: list = []
        for _ in range(depth):
            value = [value]
        return value


def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


def test_the_budget_is_a_property_of_the_exporter_and_the_proxy_factory():
    """max_depth, base_containers and bytes_per_container set on the beans (as text,
    as XML gives them) bound what each side decodes: within them calls run, over them
    the exporter answers a ProtocolException fault and the proxy raises ProtocolError."""
    from springpython.errors import RemoteFault
    from springpython.remoting.hessian import HessianServiceExporter

    with HessianServiceExporter(service=Nesting(), service_host="127.0.0.1", service_port=0, path="/n",
                                max_depth="8", base_containers="20", bytes_per_container="1000") as exporter:
        proxy = HessianProxyFactory(service_url=exporter.service_url, max_depth="6")
        try:
            assert proxy.echo(nested(5)) == nested(5)
            with pytest.raises(RemoteFault, match="nested deeper than 8"):
                proxy.echo(nested(12))
            with pytest.raises(RemoteFault, match="more than 20 lists, maps and objects"):
                proxy.echo([[] for _ in range(40)])  # 41 containers: over 20 + a few bytes / 1000
            assert proxy.nested(5) == nested(5)
            with pytest.raises(ProtocolError, match="nested deeper than 6"):
                proxy.nested(7)
        finally:
            proxy.destroy()


@pytest.mark.parametrize("prop", ["max_depth", "base_containers", "bytes_per_container"])
@pytest.mark.parametrize("value", ["0", "-3", "deep", 2.5, True])
def test_a_bad_budget_property_is_a_configuration_error(prop, value):
    """Anything but a positive integer is refused at start, naming the property; the
    exporter listens on nothing."""
    from springpython.errors import ConfigurationError
    from springpython.remoting.hessian import HessianServiceExporter

    exporter = HessianServiceExporter(service=Nesting(), service_host="127.0.0.1", service_port=0,
                                      **{prop: value})
    with pytest.raises(ConfigurationError, match=prop):
        exporter.after_properties_set()
    assert exporter.port in (0, None)
    proxy = HessianProxyFactory(service_url="http://127.0.0.1:1/", **{prop: value})
    with pytest.raises(ConfigurationError, match=prop):
        proxy.after_properties_set()
