"""Fixtures of the Hessian tests, imported by the test modules that use them: Caucho's
Java peers (built and started once per test process, stopped at exit) and the Python
interop service exported on 127.0.0.1 port 0.

(A conftest.py here would shadow the suite's top-level ``conftest`` module.)"""

from __future__ import annotations

import pytest
from helpers_hessian import PythonInteropService, java_build, shared_java_client, shared_java_server

from springpython.remoting.hessian import HessianServiceExporter


@pytest.fixture(scope="session")
def java_peers():
    """``(hessian.jar, compiled classes)``: the jar installed with apt-get when missing and
    root (else a loud failure), the Java peers compiled once and cached by their sources' hash."""
    return java_build()


@pytest.fixture(scope="session")
def java_server(java_peers):
    """Caucho's HessianSkeleton serving InteropServiceImpl over HTTP (/interop, /chunked, /secure)."""
    return shared_java_server()


@pytest.fixture(scope="session")
def java_client(java_peers):
    """Caucho's HessianProxyFactory, running named checks against a URL on request."""
    return shared_java_client()


@pytest.fixture
def exporter():
    """The Python interop service exported at http://127.0.0.1:<port>/interop."""
    with HessianServiceExporter(
        service=PythonInteropService(), service_host="127.0.0.1", service_port=0, path="/interop"
    ) as exp:
        yield exp
