"""Registration records and look-up URLs (pure encoding), ``lookup_endpoints`` against
a real etcd, and the configuration mistakes a registry, an exporter or a pool refuses
before anything starts."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest
from helpers_etcd import HERE, Etcd, etcd  # noqa: F401 (etcd is a fixture)

from springpython.config import XMLConfig
from springpython.context import ApplicationContext
from springpython.errors import ConfigurationError, ConnectFailedError
from springpython.remoting.discovery import (
    EtcdRegistry,
    Registration,
    decode_registration,
    encode_registration,
    lookup_endpoints,
    parse_lookup_url,
)
from springpython.remoting.discovery._records import metadata_of
from springpython.remoting.ha import HighAvailabilityProxyFactory
from springpython.remoting.xmlrpc import XMLRPCServiceExporter
from support import free_port, python_env

NS = 'xmlns="http://www.springframework.org/springpython/schema/objects/1.1"'


def test_a_record_round_trips_through_its_json_value():
    """encode_registration and decode_registration agree, and the value is plain JSON."""
    record = Registration("Quotes", "PYRO:Quotes@10.0.0.5:7766", "pyro4", {"zone": "b"}, "/p/Quotes/1")
    value = encode_registration(record)
    assert json.loads(value) == {"service_name": "Quotes", "url": "PYRO:Quotes@10.0.0.5:7766",
                                 "transport": "pyro4", "metadata": {"zone": "b"}}
    assert decode_registration("/p/Quotes/1", value) == record


@pytest.mark.parametrize(("value", "message"), [
    (b"\xff", "not UTF-8 JSON"),
    (b"[1]", "a JSON list, not an object"),
    (b'{"service_name": "Q", "transport": "pyro5"}', "service_name and url must be text"),
    (b'{"service_name": "Q", "url": "u", "transport": "corba"}', "names transport 'corba'"),
    (b'{"service_name": "Q", "url": "u", "transport": "xmlrpc", "metadata": [1]}', "metadata must be a JSON object"),
])
def test_a_value_that_is_no_registration_is_refused_naming_its_key(value, message):
    """Garbage under the prefix is a ValueError that names the key and what is wrong."""
    with pytest.raises(ValueError, match="etcd key '/p/Q/x'") as info:
        decode_registration("/p/Q/x", value)
    assert message in str(info.value)


def test_metadata_is_a_dict_or_tags():
    """A dict stays a dict; tags (text or a list) become {"tags": [...]}; anything else is refused."""
    assert metadata_of({"zone": "a"}) == {"zone": "a"}
    assert metadata_of("b, a") == {"tags": ["a", "b"]}
    assert metadata_of(None) == {}
    with pytest.raises(ValueError, match="metadata must be a dict or a list of tags"):
        metadata_of(42)


@pytest.mark.parametrize(("url", "expected"), [
    ("etcd://10.0.0.2:2379/Quotes", ("http://10.0.0.2:2379", "Quotes")),
    ("etcd://etcd.example/Quotes", ("http://etcd.example:2379", "Quotes")),
    ("etcds://[::1]:2400/Quotes/", ("https://[::1]:2400", "Quotes")),
])
def test_lookup_urls_name_an_etcd_and_a_service(url, expected):
    """etcd:// (and etcds:// for TLS) URLs give the etcd endpoint and the service name."""
    assert parse_lookup_url(url) == expected


@pytest.mark.parametrize("url", ["PYRONAME:Quotes", "etcd:///Quotes", "etcd://h:99999/Q", "etcd://h:2379/",
                                 "etcd://h:2379/a/b", 42])
def test_malformed_lookup_urls_are_refused(url):
    """Anything but etcd://host[:port]/Name is a ValueError saying the expected form."""
    with pytest.raises(ValueError):
        parse_lookup_url(url)


def test_lookup_endpoints_lists_the_registered_endpoints(etcd):
    """lookup_endpoints returns typed records of what is registered under the name, sorted by URL."""
    prefix = f"/lookup-{uuid.uuid4().hex[:8]}/"
    with EtcdRegistry(endpoints=etcd.url, ttl=5, prefix=prefix) as registry:
        registry.register("Quotes", "http://127.0.0.1:9/b", "hessian", {"zone": "b"})
        registry.register("Quotes", "http://127.0.0.1:9/a", "xmlrpc")
        registry.register("Other", "PYRO:Other@127.0.0.1:9", "pyro5")
        found = lookup_endpoints(f"etcd://127.0.0.1:{etcd.client_port}/Quotes", prefix=prefix)
        assert [(r.url, r.transport, dict(r.metadata)) for r in found] == [
            ("http://127.0.0.1:9/a", "xmlrpc", {}), ("http://127.0.0.1:9/b", "hessian", {"zone": "b"}),
        ]
        assert all(r.key.startswith(f"{prefix}Quotes/") for r in found)
    assert lookup_endpoints(f"etcd://127.0.0.1:{etcd.client_port}/Quotes", prefix=prefix) == []


def test_describe_command_lists_the_endpoints_of_an_etcd_url(etcd):
    """springpython describe etcd://host:port/Name prints every registered endpoint, as text and as JSON."""
    prefix = f"/describe-{uuid.uuid4().hex[:8]}/"
    url = f"etcd://127.0.0.1:{etcd.client_port}/Quotes"

    def describe(*extra):
        return subprocess.run([sys.executable, "-m", "springpython", "describe", url, "--prefix", prefix, *extra],
                              capture_output=True, text=True, timeout=60, env=python_env())

    with EtcdRegistry(endpoints=etcd.url, ttl=5, prefix=prefix) as registry:
        registry.register("Quotes", "http://127.0.0.1:9/q", "hessian", {"zone": "b"})
        registry.register("Quotes", "PYRO:Quotes@127.0.0.1:9", "pyro4")
        text = describe()
        assert text.returncode == 0, text.stderr
        assert text.stdout.splitlines() == [
            f"{url}: 2 endpoints registered",
            "  pyro4    PYRO:Quotes@127.0.0.1:9",
            "  hessian  http://127.0.0.1:9/q  {\"zone\": \"b\"}",
        ]
        as_json = describe("--json")
        assert as_json.returncode == 0, as_json.stderr
        assert json.loads(as_json.stdout) == [
            {"url": "PYRO:Quotes@127.0.0.1:9", "transport": "pyro4", "metadata": {}},
            {"url": "http://127.0.0.1:9/q", "transport": "hessian", "metadata": {"zone": "b"}},
        ]
    gone = describe()
    assert gone.returncode == 0 and gone.stdout.splitlines() == [f"{url}: 0 endpoints registered"]
    down = subprocess.run([sys.executable, "-m", "springpython", "describe",
                           f"etcd://127.0.0.1:{free_port()}/Quotes", "--timeout", "1"],
                          capture_output=True, text=True, timeout=60, env=python_env())
    assert down.returncode != 0 and "etcd cannot be reached" in down.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["etcd://"], "is not a look-up URL"),
    (["etcd://127.0.0.1:9/bad name"], "service_name must be letters"),
    (["etcd://127.0.0.1:9/Quotes", "--prefix", ""], "prefix must be a non-empty key path"),
])
def test_describe_command_refuses_a_bad_etcd_look_up_before_connecting(args, message, capsys):
    """A malformed etcd:// URL, service name or empty --prefix is a one-line error, exit 1."""
    from springpython import cli

    assert cli.main(["describe", *args]) == 1
    err = capsys.readouterr().err
    assert message in err and "cannot be reached" not in err


def test_lookup_endpoints_says_when_etcd_cannot_be_reached():
    """Nothing listening: a ConnectFailedError naming the endpoint."""
    port = free_port()
    with pytest.raises(ConnectFailedError, match=f"etcd cannot be reached .*127.0.0.1:{port}"):
        lookup_endpoints(f"etcd://127.0.0.1:{port}/Quotes", timeout=1)


def test_exporter_keeps_serving_when_etcd_is_down_and_registers_once_it_is_up(tmp_path, caplog):
    """etcd down at start: the exporter serves anyway with a WARNING, and is registered when etcd starts."""
    import time

    server = Etcd(tmp_path / "data")
    registry = EtcdRegistry(endpoints=server.url, ttl=2, prefix="/late/", timeout=0.5)
    exporter = XMLRPCServiceExporter(service=HostServiceLike(), service_name="Late", service_host="127.0.0.1",
                                     registry=registry)
    try:
        with caplog.at_level("WARNING", logger="springpython.remoting.discovery"):
            exporter.after_properties_set()
        assert exporter.exported and exporter.registration is not None
        assert any("serving on and registering again" in r.getMessage() for r in caplog.records)
        server.start()
        deadline = time.monotonic() + 10
        while not lookup_endpoints(f"etcd://127.0.0.1:{server.client_port}/Late", prefix="/late/"):
            assert time.monotonic() < deadline, "the exporter did not register once etcd was up"
            time.sleep(0.05)
    finally:
        exporter.destroy()
        registry.destroy()
        server.stop()


class HostServiceLike:
    def ping(self) -> str:
        return "pong"


def context_error(tmp_path, body: str) -> ConfigurationError:
    path = tmp_path / "app.xml"
    path.write_text(f'<?xml version="1.0" encoding="UTF-8"?>\n<objects {NS}>\n{body}\n</objects>\n')
    with pytest.raises(ConfigurationError) as info:
        ApplicationContext(XMLConfig(str(path)))
    return info.value


REGISTRY = '<object id="registry" class="springpython.remoting.discovery.EtcdRegistry">{}</object>'


@pytest.mark.parametrize(("properties", "message"), [
    ('<property name="endpoints" value="etcd.example:2379"/>', "must be http://host:port or https://host:port"),
    ('<property name="ttl" value="1"/>', "ttl must be at least 2 seconds"),
    ('<property name="ttl" value="soon"/>', "ttl must be an integer"),
    ('<property name="prefix" value="/"/>', "prefix must be a non-empty key path"),
    ('<property name="ca_certs" value="/nonexistent/ca.pem"/>', "ca_certs '/nonexistent/ca.pem' is not a readable"),
    ('<property name="password" value="x"/>', "password is set without user"),
])
def test_a_bad_registry_fails_the_context_naming_file_line_and_id(tmp_path, properties, message):
    """Each mistake in a registry is a ConfigurationError with the file, the line and the object id."""
    error = context_error(tmp_path, REGISTRY.format(properties))
    assert message in str(error) and error.object_id == "registry" and error.line == 3


def test_exporter_with_a_registry_that_is_not_one_fails_before_listening(tmp_path):
    """registry must be an EtcdRegistry; the exporter refuses anything else and listens nowhere."""
    port = free_port()
    error = context_error(tmp_path, f'''
        <object id="svc" class="test_etcd_records.HostServiceLike"/>
        <object id="exporter" class="springpython.remoting.xmlrpc.XMLRPCServiceExporter">
            <property name="service" ref="svc"/><property name="service_name" value="Svc"/>
            <property name="service_port" value="{port}"/><property name="registry" ref="svc"/>
        </object>''')
    assert "registry must be an EtcdRegistry" in str(error) and error.object_id == "exporter"
    import socket

    with socket.socket() as s:
        s.bind(("localhost", port))  # nothing was left listening


def _port_is_free(port: int) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("localhost", port))  # raises when something still listens there


def test_metadata_without_a_json_form_fails_the_context_before_listening(etcd, tmp_path):
    """metadata holding an object cannot be registered: a ConfigurationError with file, line
    and id, raised before the exporter listens (its port is free afterwards)."""
    port = free_port()
    error = context_error(tmp_path, REGISTRY.format(f'<property name="endpoints" value="{etcd.url}"/>') + f'''
        <object id="svc" class="test_etcd_records.HostServiceLike"/>
        <object id="exporter" class="springpython.remoting.xmlrpc.XMLRPCServiceExporter">
            <property name="service" ref="svc"/><property name="service_name" value="Svc"/>
            <property name="service_host" value="127.0.0.1"/><property name="service_port" value="{port}"/>
            <property name="registry" ref="registry"/>
            <property name="metadata"><dict><entry key="owner" ref="svc"/></dict></property>
        </object>''')
    assert "metadata must hold only JSON values" in str(error), error
    assert error.object_id == "exporter" and error.line == 5 and str(error.file).endswith("app.xml")
    _port_is_free(port)


class UnknownTransportExporter(XMLRPCServiceExporter):
    """An exporter whose registration etcd's records refuse only once it listens."""

    TRANSPORT = "corba"


def test_a_registration_that_fails_after_listening_stops_the_exporter(etcd):
    """Registering fails although the properties passed their checks: the exporter stops
    listening before the ConfigurationError reaches the caller."""
    port = free_port()
    with EtcdRegistry(endpoints=etcd.url, ttl=2, prefix=f"/fail-{uuid.uuid4().hex[:8]}/") as registry:
        exporter = UnknownTransportExporter(service=HostServiceLike(), service_name="Svc", service_host="127.0.0.1",
                                            service_port=port, registry=registry)
        with pytest.raises(ConfigurationError, match="cannot register .*transport must be one of"):
            exporter.after_properties_set()
        assert not exporter.exported and exporter.registration is None
        assert registry.registrations == []
        _port_is_free(port)


def test_exporter_service_name_must_suit_a_key(tmp_path):
    """A service name with a / (it would change the key layout) is refused."""
    error = context_error(tmp_path, REGISTRY.format("") + '''
        <object id="svc" class="test_etcd_records.HostServiceLike"/>
        <object id="exporter" class="springpython.remoting.xmlrpc.XMLRPCServiceExporter">
            <property name="service" ref="svc"/><property name="service_name" value="a/b"/>
            <property name="registry" ref="registry"/>
        </object>''')
    assert "service_name must be letters, digits" in str(error) and error.object_id == "exporter"


@pytest.mark.parametrize(("properties", "message"), [
    ('<property name="registry" ref="registry"/>', "registry is set without service_name"),
    ('<property name="service_name" value="Svc"/>', "set registry as well"),
    ('<property name="registry" ref="registry"/><property name="service_name" value="Svc"/>'
     '<property name="discovery_url" value="PYRONAME:Svc"/>', "either registry or discovery_url"),
    ('<property name="registry" ref="registry"/><property name="service_name" value="Svc"/>'
     '<property name="endpoint_properties"><dict><entry key="colour" value="red"/></dict></property>',
     "'colour', which is not a property of any proxy factory"),
])
def test_a_pool_with_a_bad_registry_setting_fails_the_context(tmp_path, properties, message):
    """Pool mistakes about registry and service_name are ConfigurationErrors naming the pool."""
    error = context_error(tmp_path, REGISTRY.format("") + f'''
        <object id="pool" class="springpython.remoting.ha.HighAvailabilityProxyFactory">{properties}</object>''')
    assert message in str(error) and error.object_id == "pool"


def _watch_threads() -> int:
    import threading

    return sum(t.name.startswith("springpython-etcd-watch") for t in threading.enumerate())


@pytest.mark.parametrize("mistake", [{"discovery_url": "PYRONAME:Svc"}, {"endpoint_properties": {"colour": "red"}}])
def test_a_pool_that_fails_to_configure_starts_no_watch(etcd, mistake):
    """Each attempt to use a misconfigured pool fails the same way and leaves no etcd
    watch thread behind: five attempts, as many threads as before."""
    with EtcdRegistry(endpoints=etcd.url, ttl=2, prefix="/failing/") as registry:
        before = _watch_threads()
        pool = HighAvailabilityProxyFactory(registry=registry, service_name="Svc", **mistake)
        for _ in range(5):
            with pytest.raises(ConfigurationError):
                pool.ping()
        assert _watch_threads() == before
        assert registry.__dict__["_watches"] == []


def test_without_etcd3gw_the_error_says_which_extra_to_install():
    """etcd3gw missing: configuring a registry says to install springpython[etcd]."""
    code = ("import sys; sys.modules['etcd3gw'] = None\n"
            "from springpython.remoting.discovery import EtcdRegistry\n"
            "from springpython.errors import ConfigurationError\n"
            "try:\n    EtcdRegistry().after_properties_set()\n"
            "except ConfigurationError as exc:\n    print(exc)\n")
    out = subprocess.run([sys.executable, "-c", code], env=python_env(HERE), capture_output=True, text=True,
                         check=True).stdout
    assert "install springpython[etcd]" in out


def test_pool_from_registry_is_destroyed_with_its_watch(etcd):
    """A pool's watch thread ends with the pool (joined, and gone from the registry's
    watches); the registry is reusable by others."""
    with EtcdRegistry(endpoints=etcd.url, ttl=2, prefix="/d/") as registry:
        before = _watch_threads()
        pool = HighAvailabilityProxyFactory(registry=registry, service_name="Nothing")
        with pytest.raises(ConnectFailedError, match="the pool has no endpoints"):
            pool.ping()
        assert _watch_threads() == before + 1 and len(registry.__dict__["_watches"]) == 1
        pool.destroy()
        assert _watch_threads() == before and registry.__dict__["_watches"] == []


def test_an_exporter_hosted_by_a_wsgi_server_does_not_register(etcd, tmp_path, caplog):
    """Under a WSGI/ASGI server each worker would register the same address: a hosted
    exporter with a registry serves, logs a WARNING and registers nothing."""
    from springpython.hosting import wsgi_app

    prefix = f"/hosted-{uuid.uuid4().hex[:8]}/"
    path = tmp_path / "server.xml"
    path.write_text(f'''<?xml version="1.0"?>\n<objects {NS}>
        <object id="registry" class="springpython.remoting.discovery.EtcdRegistry">
            <property name="endpoints" value="{etcd.url}"/><property name="prefix" value="{prefix}"/>
        </object>
        <object id="svc" class="test_etcd_records.HostServiceLike"/>
        <object id="exporter" class="springpython.remoting.xmlrpc.XMLRPCServiceExporter">
            <property name="service" ref="svc"/><property name="service_name" value="Hosted"/>
            <property name="registry" ref="registry"/>
        </object>
    </objects>''')
    app = wsgi_app(path)
    try:
        with caplog.at_level("WARNING", logger="springpython.remoting"):
            app.start()
        [exporter] = app.site.exporters
        assert exporter.exported and exporter.registration is None
        assert any("not registered" in r.getMessage() and "WSGI/ASGI" in r.getMessage() for r in caplog.records)
        assert lookup_endpoints(f"etcd://127.0.0.1:{etcd.client_port}/Hosted", prefix=prefix) == []
    finally:
        app.close()


def test_a_wildcard_listening_address_is_registered_with_a_warning(etcd, caplog):
    """0.0.0.0 listens everywhere but no client can connect to it: registered, with a WARNING."""
    with EtcdRegistry(endpoints=etcd.url, ttl=2, prefix="/wild/") as registry:
        exporter = XMLRPCServiceExporter(service=HostServiceLike(), service_name="Wild", service_host="0.0.0.0",
                                         registry=registry)
        with caplog.at_level("WARNING", logger="springpython.remoting"), exporter:
            assert exporter.registration is not None and "0.0.0.0" in exporter.registration.url
        assert any("other hosts cannot connect to" in r.getMessage() for r in caplog.records)
