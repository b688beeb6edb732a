"""HighAvailabilityProxyFactory configured in XML: pools of <ref>s and of inner
<object>s, text values coerced, pools inside pools, and bad values reported with
file, line and object id."""

from __future__ import annotations

import pytest
from helpers_ha import HostService

from springpython.config import XMLConfig
from springpython.context import ApplicationContext
from springpython.errors import ConfigurationError
from springpython.remoting.ha import HighAvailabilityProxyFactory
from springpython.remoting.pyro import PyroProxyFactory, PyroServiceExporter

HOST = "127.0.0.1"
HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<objects xmlns="http://www.springframework.org/springpython/schema/objects/1.1">
"""


@pytest.fixture
def urls():
    """Three Pyro5 servers of HostService('h0'..'h2'); their service URLs."""
    exporters = [
        PyroServiceExporter(service_name="HA", service=HostService(f"h{i}"), service_host=HOST, service_port=0)
        for i in range(3)
    ]
    try:
        for exporter in exporters:
            exporter.after_properties_set()
        yield [e.service_url for e in exporters]
    finally:
        for exporter in exporters:
            exporter.destroy()


def context(tmp_path, body: str) -> ApplicationContext:
    path = tmp_path / "context.xml"
    path.write_text(HEAD + body + "</objects>\n")
    return ApplicationContext(XMLConfig(str(path)))


def members(urls: list[str], ids) -> str:
    return "\n".join(
        f'    <object id="{id_}" class="springpython.remoting.pyro.PyroProxyFactory">'
        f'<property name="service_url" value="{url}"/></object>'
        for id_, url in zip(ids, urls)
    )


def test_pool_of_refs_configured_with_text_values(tmp_path, urls):
    """A pool of <ref>s with every setting given as text behaves as configured."""
    refs = "".join(f'<ref object="m{i}"/>' for i in range(3))
    ctx = context(tmp_path, f"""
    <object id="service" class="springpython.remoting.ha.HighAvailabilityProxyFactory">
        <property name="strategy" value="failover"/>
        <property name="retry_interval" value="0.5"/>
        <property name="max_retry_interval" value="4"/>
        <property name="idempotent" value="false"/>
        <property name="idempotent_methods" value="echo, whoami"/>
        <property name="service_pool"><list>{refs}</list></property>
    </object>
{members(urls, ("m0", "m1", "m2"))}""")
    with ctx:
        service = ctx.get_object("service")
        assert isinstance(service, HighAvailabilityProxyFactory)
        assert {service.whoami() for _ in range(4)} == {"h0"}
        assert service.endpoints == [ctx.get_object(f"m{i}") for i in range(3)]
        assert repr(service) == "<HighAvailabilityProxyFactory failover 3/3 endpoints up>"
        assert service.echo(4) == ["h0", 4]
    assert service.connections == 0


def test_pool_of_inner_objects(tmp_path, urls):
    """service_pool may list inner <object>s; the default strategy is round_robin."""
    inner = "".join(
        f'<object class="springpython.remoting.pyro.PyroProxyFactory">'
        f'<property name="service_url" value="{url}"/></object>'
        for url in urls
    )
    with context(tmp_path, f"""
    <object id="service" class="springpython.remoting.ha.HighAvailabilityProxyFactory">
        <property name="service_pool"><list>{inner}</list></property>
    </object>""") as ctx:
        service = ctx.get_object("service")
        assert [service.whoami() for _ in range(3)] == ["h0", "h1", "h2"]
        assert all(isinstance(p, PyroProxyFactory) for p in service.endpoints)


def test_pool_of_pools_in_xml(tmp_path, urls):
    """A pool may be an endpoint of another pool."""
    with context(tmp_path, f"""
{members(urls, ("a", "b", "c"))}
    <object id="primary" class="springpython.remoting.ha.HighAvailabilityProxyFactory">
        <property name="service_pool"><list><ref object="a"/><ref object="b"/></list></property>
    </object>
    <object id="service" class="springpython.remoting.ha.HighAvailabilityProxyFactory">
        <property name="strategy" value="failover"/>
        <property name="service_pool"><list><ref object="primary"/><ref object="c"/></list></property>
    </object>""") as ctx:
        service = ctx.get_object("service")
        assert sorted(service.whoami() for _ in range(4)) == ["h0", "h0", "h1", "h1"]


@pytest.mark.parametrize(
    ("prop", "expected"),
    [
        ('<property name="strategy" value="random"/>', "strategy must be one of round_robin, failover, got 'random'"),
        ('<property name="retry_interval" value="soon"/>', "retry_interval must be a number of seconds, got 'soon'"),
        ('<property name="idempotent" value="sometimes"/>', "idempotent must be true or false, got 'sometimes'"),
        ('<property name="discovery_url" value="PYROLOC://h:1/x"/>', "is not a name server look-up"),
        ('<property name="service_pool" value="PYRO:HA@h:1"/>', "service_pool must be a list of proxy factories"),
    ],
)
def test_bad_values_name_file_line_and_object(tmp_path, prop, expected):
    """A bad pool property stops the context with file:line, the object id and what was expected."""
    body = f"""
    <object id="member" class="collections.UserDict"/>
    <object id="pool" class="springpython.remoting.ha.HighAvailabilityProxyFactory">
        <property name="service_pool"><list><ref object="member"/></list></property>
        {prop}
    </object>"""
    with pytest.raises(ConfigurationError) as info:
        context(tmp_path, body)
    message = str(info.value)
    assert f"{tmp_path / 'context.xml'}:5: object 'pool'" in message
    assert expected in message
