"""Pyro5 and Pyro4 proxy factories check every setting at start (after_properties_set),
and through an XML context the error names the file, the line and the object id."""

from __future__ import annotations

import socket

import pytest

from springpython.config import XMLConfig
from springpython.context import ApplicationContext
from springpython.errors import ConfigurationError
from springpython.remoting.pyro import Pyro4ProxyFactory, Pyro5ProxyFactory

GOOD_URL = "PYRO:Calc@127.0.0.1:7766"
FACTORIES = {"Pyro5": Pyro5ProxyFactory, "Pyro4": Pyro4ProxyFactory}


@pytest.fixture(params=sorted(FACTORIES))
def factory(request):
    """The proxy factory class of one Pyro engine."""
    return FACTORIES[request.param]


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"service_url": "PYRO:Calc@127.0.0.1"}, "'PYRO:Calc@127.0.0.1' is malformed: a PYRO URI needs a port"),
        ({"service_url": "htp://x"}, "unknown scheme 'HTP'"),
        ({"service_url": ""}, "it is empty"),
        ({"serializer": "yaml"}, "serializer 'yaml' is not available"),
        ({"serializer": "serpent,json"}, "exactly one"),
        ({"timeout": "soon"}, "timeout"),
        ({"nameserver_port": "ninety"}, "nameserver_port must be an integer"),
        ({"reconnect": "maybe"}, "reconnect"),
        ({"exception_classes": ["no_such_module.Error"]}, "cannot import module 'no_such_module'"),
    ],
)
def test_bad_setting_fails_at_start(factory, props, message):
    """A bad setting is a ConfigurationError from after_properties_set, before any connection."""
    values = {"service_url": GOOD_URL}
    values.update(props)
    proxy = factory(**values)
    with pytest.raises(ConfigurationError, match=message):
        proxy.after_properties_set()
    assert proxy.connections == 0


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"ca_certs": "/nonexistent/ca.pem"}, "cannot load CA certificates"),
        ({"keyfile": "/nonexistent/client.key"}, "keyfile .* needs certfile"),
        ({"ca_certs": "ca.pem", "check_hostname": "perhaps"}, "check_hostname"),
    ],
)
def test_bad_tls_setting_fails_at_start(props, message):
    """A wrong TLS file or TLS setting of a Pyro5 proxy factory fails at start."""
    proxy = Pyro5ProxyFactory(GOOD_URL, **props)
    with pytest.raises(ConfigurationError, match=message):
        proxy.after_properties_set()


def test_pyro4_tls_setting_fails_at_start():
    """TLS settings on a Pyro4 proxy factory fail at start (Pyro4 has no TLS here)."""
    with pytest.raises(ConfigurationError, match="ca_certs set, but Pyro4 has no TLS; use the Pyro5 beans"):
        Pyro4ProxyFactory(GOOD_URL, ca_certs="ca.pem").after_properties_set()


def test_good_settings_pass_without_connecting(factory):
    """Good settings pass the start-up check, and checking opens no connection."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.setblocking(False)
        port = listener.getsockname()[1]
        proxy = factory(f"PYRO:Calc@127.0.0.1:{port}", serializer="json", timeout="2.5", reconnect="false",
                        nameserver_port="9090", exception_classes=["helpers_pyro.ServiceError"])
        proxy.after_properties_set()
        with pytest.raises(BlockingIOError):
            listener.accept()
    assert proxy.connections == 0


XML = """<?xml version="1.0" encoding="UTF-8"?>
<objects xmlns="http://www.springframework.org/springpython/schema/objects/1.1">
    <object id="calculator" class="springpython.remoting.pyro.{cls}">
        <property name="service_url" value="PYRO:Calc@127.0.0.1"/>
    </object>
</objects>
"""


def test_bad_url_in_xml_names_file_line_and_object(factory, tmp_path):
    """A malformed service_url in an XML context fails the context start naming file, line and object id."""
    path = tmp_path / "client.xml"
    path.write_text(XML.format(cls=factory.__name__), encoding="utf-8")
    with pytest.raises(ConfigurationError) as info:
        ApplicationContext(XMLConfig(str(path)))
    error = info.value
    assert error.file == str(path) and error.line == 3 and error.object_id == "calculator"
    assert str(error).startswith(f"{path}:3: object 'calculator': ")
    assert "'PYRO:Calc@127.0.0.1' is malformed: a PYRO URI needs a port" in str(error)
