"""Services and helpers shared by the Pyro tests."""

from __future__ import annotations

import socket
import threading
import time
from types import SimpleNamespace
from typing import Any, Callable, Iterator

import Pyro4
import Pyro4.message
import Pyro4.util
import Pyro5.client
import Pyro5.protocol
import Pyro5.serializers

from springpython.context import DisposableObject, InitializingObject, ObjectPostProcessor
from springpython.remoting.pyro import Pyro4ProxyFactory, Pyro4ServiceExporter, Pyro5ProxyFactory, Pyro5ServiceExporter


class ServiceError(Exception):
    """An application exception type the tests expect to arrive unchanged."""


class Service:
    """The chapter's service, plus methods that exercise errors, blocking and properties."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = threading.Event()
        self._size = 3

    def get_data(self, param):
        return "You got remote data => %s" % param

    def echo(self, value):
        return value

    def fail(self, message):
        raise ServiceError(message)

    def divide(self, a, b):
        return a / b

    def block(self):
        """Wait until the test releases it (used for call timeouts)."""
        self.entered.set()
        self.release.wait(30)
        return "released"

    @property
    def size(self):
        return self._size

    @size.setter
    def size(self, value):
        self._size = value

    def _private(self):
        return "secret"

    def __secret(self):
        return "mangled"


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Poll ``predicate`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not become true within {timeout}s")
        time.sleep(0.01)


def port_is_free(host: str, port: int, reuse: bool) -> bool:
    """Whether a plain socket can bind (and listen on) host:port right now."""
    with socket.socket() as sock:
        if reuse:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
            sock.listen(1)
        except OSError:
            return False
    return True


def read_line(proc, timeout: float = 60.0) -> str:
    """A child process's next stdout line; fail (with its stderr) if none comes in time."""
    import select

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            line = proc.stdout.readline()
            if line:
                return line.rstrip("\n")
        if proc.poll() is not None:
            break
    proc.kill()
    out, err = proc.communicate()
    raise AssertionError(f"no output line from the child:\n{out}\n{err}")


def pyro_threads() -> list[str]:
    """Names of the daemon threads springpython runs now."""
    return [t.name for t in threading.enumerate() if t.name.startswith("springpython-pyro")]



class Inspector(ObjectPostProcessor):
    """A post-processor that looks at every object the way lifecycle code does."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def post_process_before_initialization(self, obj, obj_name):
        repr(obj)
        str(obj)
        isinstance(obj, (InitializingObject, DisposableObject))
        self.seen.append(obj_name)
        return obj

    def post_process_after_initialization(self, obj, obj_name):
        repr(obj)
        return obj


def exporters(cls: type, host: str = "127.0.0.1") -> Iterator[Callable[..., Any]]:
    """For a fixture: a function that exports a service with ``cls`` (started), all
    destroyed, newest first, when the fixture ends."""
    made: list = []

    def make(service: Any = None, name: str = "ServiceName", port: Any = 0, **props: Any) -> Any:
        exporter = cls(
            service=Service() if service is None else service,
            service_name=name,
            service_host=host,
            service_port=port,
            **props,
        )
        made.append(exporter)
        exporter.after_properties_set()
        return exporter

    yield make
    for exporter in reversed(made):
        exporter.destroy()


def proxy_factories(default_cls: type) -> Iterator[Callable[..., Any]]:
    """For a fixture: a function that makes proxy factories for a URL, all destroyed
    when the fixture ends."""
    made: list = []

    def make(url: str, cls: type = default_cls, **props: Any) -> Any:
        proxy = cls(service_url=url, **props)
        made.append(proxy)
        return proxy

    yield make
    for proxy in made:
        proxy.destroy()



def pyro5_message(msg_type: int, data: bytes, seq: int, serializer: str = "serpent") -> bytes:
    """A Pyro5 message of ``data`` as sent in ``serializer``."""
    serializer_id = Pyro5.serializers.serializers[serializer].serializer_id
    return bytes(Pyro5.protocol.SendingMessage(msg_type, 0, seq, serializer_id, data).data)


def pyro4_message(msg_type: int, data: bytes, seq: int, serializer: str = "serpent") -> bytes:
    """A Pyro4 message of ``data`` as sent in ``serializer``."""
    serializer_id = Pyro4.util.get_serializer(serializer).serializer_id
    return bytes(Pyro4.message.Message(msg_type, data, serializer_id, 0, seq).to_bytes())


#: What a test needs to speak each engine's wire protocol on a plain socket, and its beans.
ENGINE_WIRES = {
    "Pyro5": SimpleNamespace(
        Exporter=Pyro5ServiceExporter, ProxyFactory=Pyro5ProxyFactory, Proxy=Pyro5.client.Proxy,
        message=pyro5_message, CONNECT=Pyro5.protocol.MSG_CONNECT, INVOKE=Pyro5.protocol.MSG_INVOKE,
        connect=lambda obj: Pyro5.serializers.serializers["serpent"].dumps({"handshake": "hello", "object": obj}),
        call=lambda obj, method, *args: Pyro5.serializers.serializers["serpent"].dumpsCall(obj, method, args, {}),
    ),
    "Pyro4": SimpleNamespace(
        Exporter=Pyro4ServiceExporter, ProxyFactory=Pyro4ProxyFactory, Proxy=Pyro4.Proxy,
        message=pyro4_message, CONNECT=Pyro4.message.MSG_CONNECT, INVOKE=Pyro4.message.MSG_INVOKE,
        connect=lambda obj: Pyro4.util.get_serializer("serpent").dumps({"handshake": "hello", "object": obj}),
        call=lambda obj, method, *args: Pyro4.util.get_serializer("serpent").dumpsCall(obj, method, args, {}),
    ),
}


def connect(url: str, timeout: float) -> socket.socket:
    """A plain socket connected to the daemon of a ``PYRO:`` URL."""
    host, port = url.rsplit("@", 1)[1].rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=timeout)


def handshaken(engine: Any, url: str, timeout: float) -> socket.socket:
    """A plain socket on which the Pyro handshake (in serpent) is done."""
    sock = connect(url, timeout)
    obj = url.split(":", 1)[1].split("@", 1)[0]
    sock.sendall(engine.message(engine.CONNECT, engine.connect(obj), 0))
    assert sock.recv(65536), "no answer to the handshake"
    return sock
