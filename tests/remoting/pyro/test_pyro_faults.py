"""The exception contract on Pyro5 and Pyro4: a service's exception arrives as the
contract's exception, an unknown method as NoSuchMethodError, nothing named on the
wire is instantiated, and a SystemExit in a service leaves the daemon serving."""

from __future__ import annotations

import threading

import Pyro4
import Pyro5.server
import pytest
from helpers_pyro import Service, ServiceError, exporters, proxy_factories

from springpython.errors import NoSuchMethodError, RemoteFault
from springpython.remoting import faults
from springpython.remoting.pyro import (
    Pyro4ProxyFactory,
    Pyro4ServiceExporter,
    Pyro5ProxyFactory,
    Pyro5ServiceExporter,
)

HOST = "127.0.0.1"
ENGINES = {
    "Pyro5": (Pyro5ServiceExporter, Pyro5ProxyFactory),
    "Pyro4": (Pyro4ServiceExporter, Pyro4ProxyFactory),
}


class Tripwire(Exception):
    """An exception class whose constructor counts its instances."""

    made = 0

    def __init__(self, *args):
        type(self).made += 1
        super().__init__(*args)


class Faulty(Service):
    """A service that raises what the tests need."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def trip(self):
        raise Tripwire("tripped")

    def leave(self, kind):
        self.calls += 1
        raise {"exit": SystemExit, "interrupt": KeyboardInterrupt}[kind]("bye")

    def broken_attribute(self):
        return None.mul  # an AttributeError of the service's own


@pytest.fixture(params=sorted(ENGINES))
def engine(request):
    """The (exporter class, proxy factory class) of one Pyro engine."""
    return ENGINES[request.param]


@pytest.fixture
def export(engine):
    """Exporters of the engine under test on 127.0.0.1:0."""
    yield from exporters(engine[0], HOST)


@pytest.fixture
def proxies(engine):
    """Proxy factories of the engine under test."""
    yield from proxy_factories(engine[1])


def test_builtin_exception_is_the_builtin_and_a_remote_fault(export, proxies):
    """ZeroDivisionError raised by the service is caught by `except ZeroDivisionError` and carries the server traceback."""
    service = proxies(export().service_url)
    with pytest.raises(ZeroDivisionError) as info:
        service.divide(1, 0)
    fault = info.value
    assert isinstance(fault, RemoteFault)
    assert fault.remote_type == "builtins.ZeroDivisionError"
    assert fault.message == "division by zero"
    assert "return a / b" in fault.remote_traceback and "ZeroDivisionError" in fault.remote_traceback
    assert service.echo("after") == "after"


def test_unlisted_application_exception_is_a_remote_fault(export, proxies):
    """An application exception not in exception_classes arrives as a plain RemoteFault naming its type."""
    service = proxies(export().service_url)
    with pytest.raises(RemoteFault) as info:
        service.fail("no such order 17")
    assert not isinstance(info.value, ServiceError)
    assert info.value.remote_type == "helpers_pyro.ServiceError"
    assert str(info.value) == "no such order 17"


def test_listed_application_exception_is_recreated(export, proxies):
    """An application exception listed in exception_classes is both that class and a RemoteFault."""
    service = proxies(export().service_url, exception_classes=["helpers_pyro.ServiceError"])
    with pytest.raises(ServiceError, match="^out of stock$") as info:
        service.fail("out of stock")
    assert isinstance(info.value, RemoteFault)


def test_nothing_named_on_the_wire_is_instantiated(export, proxies):
    """A class named by the server is not constructed on the client, even when its module is imported."""
    service = proxies(export(Faulty()).service_url)
    before = Tripwire.made
    with pytest.raises(RemoteFault) as info:
        service.trip()
    assert Tripwire.made == before + 1  # once, on the server; never on the client
    assert not isinstance(info.value, Tripwire)
    assert info.value.remote_type == faults.type_name(Tripwire)


@pytest.mark.parametrize("method", ["mul", "size", "release"])
def test_unknown_method_is_no_such_method_error(export, proxies, method):
    """A name the service does not expose as a method is NoSuchMethodError naming it, not an internal class."""
    service = proxies(export().service_url)
    with pytest.raises(NoSuchMethodError) as info:
        getattr(service, method)(1)
    text = str(info.value)
    assert repr(method) in text
    assert "Exposed" not in text and "_Adapter" not in text
    assert isinstance(info.value, AttributeError)
    assert service.echo("still") == "still"


def test_service_attribute_error_stays_attribute_error(export, proxies):
    """An AttributeError the service raises itself is not mistaken for an unknown method."""
    service = proxies(export(Faulty()).service_url)
    with pytest.raises(AttributeError) as info:
        service.broken_attribute()
    assert not isinstance(info.value, NoSuchMethodError)
    assert info.value.remote_type == "builtins.AttributeError"


@pytest.mark.parametrize("kind", ["exit", "interrupt"])
def test_system_exit_in_a_service_is_a_remote_fault(export, proxies, kind):
    """SystemExit/KeyboardInterrupt raised by the service come back as RemoteFault; the daemon keeps serving."""
    faulty = Faulty()
    service = proxies(export(faulty).service_url)
    expected = {"exit": "builtins.SystemExit", "interrupt": "builtins.KeyboardInterrupt"}[kind]
    for _ in range(20):
        with pytest.raises(RemoteFault) as info:
            service.leave(kind)
        assert not isinstance(info.value, (SystemExit, KeyboardInterrupt))
        assert info.value.remote_type == expected and str(info.value) == "bye"
    assert faulty.calls == 20
    assert service.echo("served") == "served"
    assert proxies(service.service_url).echo("new client") == "new client"


def test_pickle_serializer_follows_the_contract():
    """With Pyro4's pickle (which rebuilds classes itself) a service exception still arrives as the contract's."""
    with Pyro4ServiceExporter(service=Service(), service_name="P", service_host=HOST, service_port=0,
                              serializer="pickle") as exporter:
        proxy = Pyro4ProxyFactory(exporter.service_url, serializer="pickle")
        try:
            with pytest.raises(ZeroDivisionError) as info:
                proxy.divide(1, 0)
            assert isinstance(info.value, RemoteFault)
            assert "return a / b" in info.value.remote_traceback
            with pytest.raises(RemoteFault) as unlisted:
                proxy.fail("x")
            assert not isinstance(unlisted.value, ServiceError)
        finally:
            proxy.destroy()


class _PlainDaemon:
    """A plain Pyro daemon (no springpython) serving one object in a thread."""

    def __init__(self, daemon, obj):
        self.daemon = daemon
        self.uri = str(daemon.register(obj, "Plain"))
        self.thread = threading.Thread(target=daemon.requestLoop, name="plain-pyro", daemon=True)
        self.thread.start()

    def close(self):
        self.daemon.shutdown()
        self.thread.join(10)


@Pyro5.server.expose
@Pyro4.expose
class PlainCalc:
    """A service written for Pyro directly."""

    def add(self, a, b):
        return a + b

    def broken(self):
        return None.mul


@pytest.fixture
def plain(engine):
    """A plain daemon of the engine under test serving PlainCalc; yields its URI."""
    daemon = (Pyro5.server.Daemon if engine[1] is Pyro5ProxyFactory else Pyro4.Daemon)(host=HOST, port=0)
    served = _PlainDaemon(daemon, PlainCalc())
    yield served.uri
    served.close()


def test_unknown_method_on_a_plain_daemon(plain, proxies):
    """On a plain Pyro daemon an unknown method is NoSuchMethodError too; the object's own AttributeError is not."""
    service = proxies(plain)
    assert service.add(1, 2) == 3
    with pytest.raises(NoSuchMethodError, match="'mul'"):
        service.mul(1)
    with pytest.raises(AttributeError) as info:
        service.broken()
    assert not isinstance(info.value, NoSuchMethodError)
