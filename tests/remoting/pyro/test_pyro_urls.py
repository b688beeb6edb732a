"""Parsing of Pyro service URLs (pure, no network)."""

from __future__ import annotations

import pytest

from springpython.errors import ConfigurationError
from springpython.remoting.pyro import parse_service_url


@pytest.mark.parametrize(
    ("url", "uri"),
    [
        ("PYROLOC://localhost:7766/ServiceName", "PYRO:ServiceName@localhost:7766"),
        ("PYROLOC://127.0.0.1:7000/ServiceName", "PYRO:ServiceName@127.0.0.1:7000"),
        ("pyroloc://example.org/Svc", "PYRO:Svc@example.org:7766"),
        ("PYROLOC://[::1]:7001/Svc", "PYRO:Svc@[::1]:7001"),
        ("PYRO:ServiceName@127.0.0.1:7000", "PYRO:ServiceName@127.0.0.1:7000"),
        ("PYRO:obj_1a2b@[::1]:9999", "PYRO:obj_1a2b@[::1]:9999"),
        ("  PYRO:Svc@host-name.example:1  ", "PYRO:Svc@host-name.example:1"),
        ("PYRONAME:example.service", "PYRONAME:example.service"),
        ("PYRONAME:example.service@nshost", "PYRONAME:example.service@nshost:9090"),
        ("PYRONAME:example.service@nshost:9999", "PYRONAME:example.service@nshost:9999"),
        ("PYROMETA:tag.a,tag.b", "PYROMETA:tag.a,tag.b"),
        ("PYROMETA:tag.a@10.0.0.1:9091", "PYROMETA:tag.a@10.0.0.1:9091"),
    ],
)
def test_accepted_forms_become_pyro_uris(url, uri):
    """Every accepted form turns into the URI Pyro 4 and 5 understand."""
    assert parse_service_url(url).uri() == uri


def test_pyroloc_is_a_direct_address():
    """The chapter's PYROLOC URL is parsed into kind, name, host and port."""
    parsed = parse_service_url("PYROLOC://localhost:7766/ServiceName")
    assert (parsed.kind, parsed.name, parsed.host, parsed.port) == ("PYRO", "ServiceName", "localhost", 7766)


def test_lookup_without_location_takes_the_configured_name_server():
    """A PYRONAME URL without a location gets the proxy's name server host and port."""
    parsed = parse_service_url("PYRONAME:svc")
    assert parsed.uri("127.0.0.1", 4321) == "PYRONAME:svc@127.0.0.1:4321"
    assert parsed.uri("nshost") == "PYRONAME:svc@nshost"
    assert parse_service_url("PYRONAME:svc@a:1").uri("b", 2) == "PYRONAME:svc@a:1"


def test_pyrometa_tags():
    """A PYROMETA URL carries its tags as a set."""
    assert parse_service_url("PYROMETA:a,b,a").tags == {"a", "b"}
    assert parse_service_url("PYRO:x@h:1").tags == frozenset()


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("", "empty"),
        (None, "empty"),
        (7766, "not text"),
        ("localhost:7766/ServiceName", "unknown scheme"),
        ("ServiceName", "no scheme"),
        ("HTTP://localhost:7766/ServiceName", "unknown scheme 'HTTP'"),
        ("PYROLOC://localhost:7766", "//host[:port]/Name"),
        ("PYROLOC:localhost:7766/ServiceName", "//host[:port]/Name"),
        ("PYROLOC://localhost:77x6/ServiceName", "port '77x6'"),
        ("PYROLOC://localhost:0/ServiceName", "port '0'"),
        ("PYROLOC://localhost:70000/ServiceName", "port '70000'"),
        ("PYROLOC://bad host:1/ServiceName", "//host[:port]/Name"),
        ("PYRO:ServiceName", "PYRO:Name@host:port"),
        ("PYRO:ServiceName@localhost", "needs a port"),
        ("PYRO:@localhost:1", "PYRO:Name@host:port"),
        ("PYRO:Service Name@localhost:1", "PYRO:Name@host:port"),
        ("PYRO:svc@[::1:5", "unclosed"),
        ("PYRO:svc@./u:/tmp/sock", "Unix domain"),
        ("PYRONAME:", "needs a name"),
        ("PYROMETA:,", "tag list"),
        ("PYRONAME:a b", "needs a name"),
    ],
)
def test_malformed_urls_name_the_url_and_the_forms(url, why):
    """A malformed URL raises ConfigurationError quoting the URL, the reason and the accepted forms."""
    with pytest.raises(ConfigurationError) as info:
        parse_service_url(url)
    message = str(info.value)
    assert repr(url) in message
    assert why in message
    assert "PYROLOC://host[:port]/Name" in message
