"""Fuzzing the Pyro decode budget (:mod:`springpython.remoting.pyro._budget`), the look a
daemon takes at a call before Pyro decodes it: 50,000 mutated calls per checked
serializer, and a real daemon fed a sample of them."""

from __future__ import annotations

import marshal
import socket

import Pyro5.protocol
import Pyro5.serializers
from fuzzing import INPUTS, SEED, mutants, run_all
from helpers_pyro import ENGINE_WIRES, handshaken

from springpython.remoting.pyro import Pyro5ProxyFactory, Pyro5ServiceExporter
from springpython.remoting.pyro._budget import DecodeBudget, refusal

ARGS = [
    [1, -2, 2**40, 3.5, True, None],
    ["text", "é\U0001F600", "\x00\xff" * 20],
    [[1, [2, [3, []]]], {"a": {"b": [1, 2]}, "c": []}],
    ["x" * 300, list(range(40)), {str(i): i for i in range(20)}],
]


def pyro_call_seeds() -> dict[str, list[bytes]]:
    """Real call data of Pyro5's serializers (what the budget looks at before Pyro decodes)."""
    serializers = Pyro5.serializers.serializers
    calls = [("Calc", "add", tuple(args), {}) for args in ARGS]
    return {name: [serializers[name].dumpsCall(*call) for call in calls] for name in ("serpent", "json", "marshal")}


PYRO_TOKENS = [b"[", b"]", b"(", b")", b"{", b"}", b",", b"'", b'"', b"\\", b"[\xff\xff\xff\x7f", b"r\x00\x00\x00\x00",
               b"\xdb\x01\x00\x00\x00", b"c", b"\xe3", b"(\x02\x00\x00\x00", b"1e999", b"0x"]


def test_pyro_decode_budget_fuzz():
    """50,000 mutated Pyro5 calls per checked serializer (serpent, json, marshal): the budget's look
    returns a reason or None and never raises; a Pyro5 exporter fed 200 of them keeps serving."""
    budget = DecodeBudget(max_items=2000, max_depth=50)
    samples: list[tuple[str, bytes]] = []
    for offset, (serializer, seeds) in enumerate(sorted(pyro_call_seeds().items())):
        def look(data: bytes, serializer: str = serializer) -> None:
            reason = refusal(serializer, data, budget)
            assert reason is None or isinstance(reason, str)
            if reason is None and serializer == "marshal":
                try:  # what the walk lets through, marshal reads without surprises
                    marshal.loads(data)
                except (ValueError, EOFError, TypeError):
                    pass

        samples += [(serializer, data) for data in
                    run_all(mutants(seeds, PYRO_TOKENS, INPUTS, SEED + 10 + offset), look, ())]
    wire = ENGINE_WIRES["Pyro5"]
    with Pyro5ServiceExporter(service=Calculator(), service_name="Calc", service_host="127.0.0.1", service_port=0,
                              serializer="serpent,json,marshal") as exporter:
        url = exporter.service_url
        for serializer, data in samples[::3]:
            sock = handshaken(wire, url, 30)
            try:
                sock.sendall(wire.message(Pyro5.protocol.MSG_INVOKE, data, 1, serializer))
                sock.shutdown(socket.SHUT_WR)  # EOF: the daemon answers what it has, then closes
                sock.settimeout(30)
                while sock.recv(65536):
                    pass
            except OSError:
                pass  # the daemon may close at once: what matters is that it serves on
            finally:
                sock.close()
        proxy = Pyro5ProxyFactory(service_url=url)
        try:
            assert proxy.add(1, 2) == 2
        finally:
            proxy.destroy()


class Calculator:
    def add(self, *args: object) -> object:
        return len(args)
