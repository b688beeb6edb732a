"""Caucho's Java HessianProxyFactory calls a HessianServiceExporter hosted by real
gunicorn (2 workers) and uvicorn: values, faults and unknown methods arrive as they
do from the embedded server."""

from __future__ import annotations

import os
import sys

import pytest
from helpers_hosting import gunicorn_args, start, stop, uvicorn_args
from support import ROOT, free_port, python_env

HESSIAN_TESTS = ROOT / "tests" / "remoting" / "hessian"
sys.path.insert(0, str(HESSIAN_TESTS))  # the Java peers' fixtures and the interop service live there
from fixtures_hessian import java_client, java_peers  # noqa: E402,F401 - pytest fixtures

SERVER_XML = '''\
<?xml version="1.0" encoding="UTF-8"?>
<objects xmlns="http://www.springframework.org/springpython/schema/objects/1.1">
    <object id="interop" class="helpers_hessian.PythonInteropService"/>
    <object id="exporter" class="springpython.remoting.hessian.HessianServiceExporter">
        <property name="service" ref="interop"/>
        <property name="path"><value>/interop</value></property>
    </object>
</objects>
'''


@pytest.fixture(scope="module", params=["gunicorn", "uvicorn"])
def hosted_url(request, tmp_path_factory) -> str:
    """The interop service's URL on a gunicorn or uvicorn process."""
    directory = tmp_path_factory.mktemp(f"java-{request.param}")
    (directory / "server.xml").write_text(SERVER_XML)
    (directory / "app.py").write_text('from springpython.hosting import asgi_app\napp = asgi_app("server.xml")\n')
    env = python_env(directory)
    env["PYTHONPATH"] = os.pathsep.join([env["PYTHONPATH"], str(HESSIAN_TESTS)])
    port = free_port()
    args = gunicorn_args(port) if request.param == "gunicorn" else uvicorn_args(port)
    proc = start(args, directory, port, env=env)
    yield f"http://127.0.0.1:{port}/interop"
    stop(proc)


@pytest.mark.parametrize("mode", ["default", "h2call"])
@pytest.mark.parametrize("check", ["string:emoji", "list:mixed", "map:nested", "person:echo", "date:millis"])
def test_java_values_round_trip(java_client, hosted_url, mode, check):
    """Java sends a value to the hosted Python service and gets the same value back."""
    status, text = java_client.run(hosted_url, check, mode)
    assert status == "OK" and text.startswith("same "), text


def test_java_gets_faults(java_client, hosted_url):
    """A Python exception and an unknown method reach Java as HessianServiceException."""
    assert java_client.run(hosted_url, "fail") == ("ERR", "com.caucho.hessian.io.HessianServiceException: boom \\u00e9")
    assert java_client.run(hosted_url, "missing") == (
        "ERR", "com.caucho.hessian.io.HessianServiceException: the service has no method named 'missing'")
    assert java_client.run(hosted_url, "add") == ("OK", "5")
