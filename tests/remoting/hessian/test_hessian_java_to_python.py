"""Java → Python: Caucho's Java HessianProxyFactory calls our HessianServiceExporter
over every Hessian type, faults included, in each request/reply version it speaks."""

from __future__ import annotations

import pytest
from fixtures_hessian import exporter, java_client, java_peers, java_server  # noqa: F401 - pytest fixtures

INTS = [0, 1, -16, 47, 48, -2048, 2047, 2048, -262144, 262143, 262144, 2**31 - 1, -(2**31)]
LONGS = [0, 15, -8, 2047, 262143, 2147483647, 2147483648, 1 << 40, 2**63 - 1, -(2**63)]
DOUBLES = ["0.0", "1.0", "-1.0", "12.0", "300.0", "0.25", "3.125", "1000.5", "0.001", "1.0E300", "-2.5E-300",
           "1.7976931348623157E308", "4.9E-324", "NaN", "Infinity", "-Infinity"]
SAME_CHECKS = [
    "null", "true", "false",
    *[f"int:{v}" for v in INTS], *[f"objint:{v}" for v in INTS],
    *[f"long:{v}" for v in LONGS], *[f"objlong:{v}" for v in LONGS],
    *[f"double:{v}" for v in DOUBLES],
    "string:empty", "string:ascii", "string:latin", "string:euro", "string:emoji", "string:python-repeat",
    "string:long-ascii", "string:long-mixed",
    "bytes:empty", "bytes:small", "bytes:large",
    "date:millis", "date:minute", "date:before-1970",
    "list:empty", "list:mixed", "list:nested", "list:shared",
    "map:empty", "map:mixed", "map:nested",
    "person:echo", "person:make",
]
# What the Python service reports about the value Java sent it.
DESCRIBED = {
    "describe:person": "HessianObject:Person:[('age', 42), ('name', 'Ann')]",
    "describe:long": "long:1099511627776",
    "describe:int": "int:5",
    "describe:bytes": "bytes:b'\\x01\\x02\\x03'",
    "describe:date": "datetime:2020-09-13T12:26:40.123000+00:00",
    "describe:list": "list:[1, 'a']",
    "describe:double": "float:2.5",
    "describe:emoji": "str:'\\ud83d\\ude00'",  # the emoji, as the Java client escapes it
}
MODES = ["default", "h2call"]  # Caucho's default (Hessian 1 call, Hessian 2 reply) and full Hessian 2


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("check", SAME_CHECKS)
def test_value_round_trip(java_client, exporter, mode, check):
    """Java sends a value to the Python service and gets the same value (and Java type) back."""
    status, text = java_client.run(exporter.service_url, check, mode)
    assert status == "OK", text
    assert text.startswith("same "), text


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("check, expected", sorted(DESCRIBED.items()))
def test_python_receives_python_types(java_client, exporter, mode, check, expected):
    """Java values arrive as the matching Python types; a Java bean as a HessianObject dict."""
    status, text = java_client.run(exporter.service_url, check, mode)
    assert (status, text) == ("OK", expected)


@pytest.mark.parametrize("mode", MODES)
def test_utf16_length_and_plain_calls(java_client, exporter, mode):
    """The Python service counts UTF-16 units like Java; plain calls and null returns work."""
    assert java_client.run(exporter.service_url, "string:emoji-length", mode) == ("OK", "4")
    assert java_client.run(exporter.service_url, "add", mode) == ("OK", "5")
    assert java_client.run(exporter.service_url, "nothing", mode) == ("OK", "null")


@pytest.mark.parametrize("mode", MODES)
def test_application_exception_reaches_java_as_fault(java_client, exporter, mode):
    """A Python exception reaches the Java client as HessianServiceException with its message."""
    status, text = java_client.run(exporter.service_url, "fail", mode)
    assert (status, text) == ("ERR", "com.caucho.hessian.io.HessianServiceException: boom \\u00e9")
    assert java_client.run(exporter.service_url, "add", mode) == ("OK", "5")


@pytest.mark.parametrize("mode", MODES)
def test_unknown_method_reaches_java_as_fault(java_client, exporter, mode):
    """A method the Python service lacks is a NoSuchMethodException fault for the Java client."""
    status, text = java_client.run(exporter.service_url, "missing", mode)
    assert status == "ERR"
    assert text == "com.caucho.hessian.io.HessianServiceException: the service has no method named 'missing'"


PARITY_CHECKS = [c for c in SAME_CHECKS if not c.startswith(("int:", "long:", "double:"))] + [
    "string:emoji-length", "add", "nothing", "int:47", "long:2147483648", "double:0.25",
]


@pytest.mark.parametrize("check", PARITY_CHECKS)
def test_hessian1_reply_matches_caucho_server(java_client, java_server, exporter, check):
    """Asked for Hessian 1 replies, our exporter answers exactly as Caucho's server does.

    (Caucho 4.0.38's client reads a Hessian 1 reply with its Hessian 2 parser, so only
    some of these work: the point is that they work or fail identically.)"""
    ours = java_client.run(exporter.service_url, check, "h1reply")
    caucho = java_client.run(java_server.url(), check, "h1reply")
    assert ours == caucho
