"""The decode budget of Pyro calls, on both engines and in each serializer a daemon
reads: a message that would expand far beyond its size while decoded (many items,
deep nesting, marshal references that double at each level, a marshal list claiming
2³¹ items) is answered with an error before Pyro decodes it, the server's peak memory
stays close to the message's size, and the daemon keeps serving."""

from __future__ import annotations

import subprocess

import pytest
from helpers_pyro import ENGINE_WIRES, handshaken, proxy_factories, read_line

from springpython.errors import RemoteFault
from springpython.remoting.pyro._budget import DecodeBudget, refusal

MiB = 1024 * 1024
SIZE = 8 * MiB - 4096  # just under the default max_message_size, with the header and annotations

SERVER = """
import sys
from springpython.remoting.pyro import {engine}ServiceExporter as Exporter

class Service:
    def echo(self, value):
        return value

exporter = Exporter(service=Service(), service_name="S", service_host="127.0.0.1", service_port=0,
                    serializer="serpent,json,marshal")
exporter.after_properties_set()
print(exporter.service_url, flush=True)
sys.stdin.read()
exporter.destroy()
"""


def marshal_doubling(depth: int) -> bytes:
    """marshal call data whose argument is a list of two references to one list of two
    references to ... ``depth`` levels: 2**depth items once walked, a few bytes each level."""
    out = bytearray(b"\xa9\x04\xda\x01S\xda\x04echo\xa9\x01")  # ('S', 'echo', (ARG,) ...; refs 0-3
    out += b"\xdb\x02\x00\x00\x00" * depth + b"\xe9\x00\x00\x00\x00"  # nested [x, ...] flagged; 0 innermost
    for level in range(depth, 0, -1):
        out += b"r" + (level + 3).to_bytes(4, "little")  # ... each list's second item: its first, again
    return bytes(out + b"{0")  # kwargs {}


CRAFTED = {
    "serpent-items": ("serpent", lambda: b"('S','echo',([" + b"0," * ((SIZE - 40) // 2) + b"],),{})"),
    "serpent-nesting": ("serpent", lambda: b"('S','echo',(" + b"[" * 100_000 + b"]" * 100_000 + b",),{})"),
    "json-items": ("json", lambda: b'{"object":"S","method":"echo","params":[[' + b"0," * ((SIZE - 80) // 2)
                   + b'0]],"kwargs":{}}'),
    "json-nesting": ("json", lambda: b'{"object":"S","method":"echo","params":[' + b"[" * 1_000_000
                     + b"]" * 1_000_000 + b'],"kwargs":{}}'),
    "marshal-claimed-list": ("marshal", lambda: b"\xa9\x04\xda\x01S\xda\x04echo[\xff\xff\xff\x7f"),
    "marshal-doubling-references": ("marshal", lambda: marshal_doubling(60)),
    "marshal-nesting": ("marshal", lambda: b"\xa9\x04\xda\x01S\xda\x04echo\xa9\x01" + b"[\x01\x00\x00\x00" * 100_000
                        + b"N{0"),
}


def status_kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def cpu_seconds(pid: int) -> float:
    import os

    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.fixture(params=sorted(ENGINE_WIRES))
def engine(request):
    return request.param


@pytest.fixture
def proxies(engine):
    made = proxy_factories(ENGINE_WIRES[engine].ProxyFactory)
    yield next(made)
    next(made, None)


def test_crafted_calls_are_refused_within_their_size(engine, spawn, proxies):
    """Each crafted call gets an error naming the budget, the server's peak memory grows
    by less than 5 times the largest message and its CPU by under 5 s for all of
    them together, and a normal call is answered after each."""
    wire = ENGINE_WIRES[engine]
    proc = spawn(["-c", SERVER.format(engine=engine)], stdin=subprocess.PIPE)
    url = read_line(proc)
    normal = proxies(url)
    assert normal.echo("warm") == "warm"
    before, cpu = status_kib(proc.pid, "VmHWM"), cpu_seconds(proc.pid)
    for shape, (serializer, body) in CRAFTED.items():
        sock = handshaken(wire, url, 30)
        try:
            sock.sendall(wire.message(wire.INVOKE, body(), 1, serializer))
            reply = b""
            while chunk := sock.recv(65536):
                reply += chunk
        finally:
            sock.close()
        assert b"max_items" in reply or b"max_depth" in reply or b"marshal" in reply, (shape, reply[:300])
        assert normal.echo(shape) == shape
    grown = status_kib(proc.pid, "VmHWM") - before
    assert grown < 5 * SIZE // 1024, f"the server's peak memory grew by {grown} KiB"
    assert cpu_seconds(proc.pid) - cpu < 5.0
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err


@pytest.mark.parametrize("serializer", ["serpent", "json", "marshal"])
def test_a_configured_budget_refuses_over_it_and_passes_within_it(engine, serializer, proxies):
    """max_items and max_depth are exporter properties: a call within them runs, one
    over them is a RemoteFault naming the property, and the proxy goes on."""
    wire = ENGINE_WIRES[engine]
    exporter = wire.Exporter(service=Echo(), service_name="S", service_host="127.0.0.1", service_port=0,
                             serializer=serializer, max_items=3000, max_depth=20)
    exporter.after_properties_set()
    try:
        proxy = proxies(exporter.service_url, serializer=serializer)
        assert proxy.echo(list(range(2000))) == list(range(2000))
        with pytest.raises(RemoteFault, match="max_items"):
            proxy.echo(list(range(5000)))
        if serializer == "marshal":  # the text decoders bound nesting themselves
            nested: list = []
            for _ in range(30):
                nested = [nested]
            with pytest.raises(RemoteFault, match="max_depth"):
                proxy.echo(nested)
        assert proxy.echo("after") == "after"
    finally:
        exporter.destroy()


class Echo:
    def echo(self, value):
        return value


def test_marshal_walk_accepts_what_marshal_writes():
    """Every structure marshal writes (versions 2 to 4, shared objects included) is
    within a budget it fits, and truncated data is refused, never an exception."""
    import marshal
    import random

    rnd = random.Random(7)

    def make(depth: int = 0):
        if depth > 4 or rnd.random() < 0.4:
            return rnd.choice([None, True, 1, -2**70, 1.5, 2j, "s", "ü" * 3, "x" * 300, b"b", ..., frozenset({1})])
        items = [make(depth + 1) for _ in range(rnd.randint(0, 4))]
        return rnd.choice([list, tuple, lambda i: {str(k): v for k, v in enumerate(i)}])(items)

    budget = DecodeBudget()
    for _ in range(500):
        shared = make()
        value = [make(), shared, shared]
        for version in (2, 3, 4):
            data = marshal.dumps(value, version)
            assert refusal("marshal", data, budget) is None, value
            assert refusal("marshal", data[:-1], budget) is not None
