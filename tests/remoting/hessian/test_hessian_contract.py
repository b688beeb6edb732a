"""The remoting contract over Hessian: remote exceptions by the one table, certificate
refusals that say the call did not run, and the proxy factory's settings checked at
start by the base class's ``_check``."""

from __future__ import annotations

import pytest

from springpython.errors import (
    ConfigurationError,
)
from springpython.remoting.hessian import HessianProxyFactory, HessianServiceExporter
from springpython.remoting.proxy import RemoteProxy


class Calculator:
    """Divides, and counts how often it ran."""

    def __init__(self) -> None:
        self.calls = 0

    def div(self, a, b):
        self.calls += 1
        return a / b


@pytest.fixture
def calculator():
    return Calculator()


@pytest.fixture
def exported(calculator):
    """Calculator exported over plain HTTP on 127.0.0.1 port 0."""
    with HessianServiceExporter(service=calculator, service_host="127.0.0.1", service_port=0,
                                path="/calc") as exporter:
        yield exporter


def test_settings_are_checked_by_the_base_hook():
    """HessianProxyFactory checks its settings in _check; after_properties_set is the base class's."""
    assert "after_properties_set" not in vars(HessianProxyFactory)
    assert HessianProxyFactory.after_properties_set is RemoteProxy.after_properties_set
    for props, message in (
        ({"service_url": "htp://localhost:8080/"}, "service_url must be http://host:port/path"),
        ({"service_url": "http://localhost:8080/", "connect_timeout": "never"}, "connect_timeout"),
        ({"service_url": "http://localhost:8080/", "certfile": "/c.pem"}, "is not https://"),
        ({"service_url": "http://localhost:8080/", "cert_reqs": "maybe"}, "cert_reqs"),
    ):
        with pytest.raises(ConfigurationError, match=message):
            HessianProxyFactory(**props).after_properties_set()
