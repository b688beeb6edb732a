"""asyncio and the hosting servers: async proxies call exporters hosted by real
gunicorn and uvicorn processes; under uvicorn an ``async def`` service method runs on
the server's own event loop; samples/asyncio runs as its README says."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers_hosting import gunicorn_args, start, stop, uvicorn_args
from support import ROOT, free_port, python_env

from springpython.errors import RemoteFault
from springpython.remoting.hessian import AsyncHessianProxyFactory
from springpython.remoting.xmlrpc import AsyncXMLRPCProxyFactory

SAMPLE = ROOT / "samples" / "asyncio"
CALLS = 50
NAP_MS = 50

SERVER_XML = '''\
<?xml version="1.0" encoding="UTF-8"?>
<objects xmlns="http://www.springframework.org/springpython/schema/objects/1.1">
    <object id="kitchen" class="service.Kitchen"/>
    <object id="hessian" class="springpython.remoting.hessian.HessianServiceExporter">
        <property name="service" ref="kitchen"/>
        <property name="service_port"><value>{port}</value></property>
        <property name="path"><value>/hessian</value></property>
    </object>
    <object id="xmlrpc" class="springpython.remoting.xmlrpc.XMLRPCServiceExporter">
        <property name="service" ref="kitchen"/>
        <property name="service_port"><value>{port}</value></property>
        <property name="path"><value>/RPC2</value></property>
    </object>
</objects>
'''


@pytest.fixture(scope="module")
def hosted(tmp_path_factory):
    """The sample's Kitchen (HTTP exporters only) under gunicorn (2 workers) and uvicorn: base URLs."""
    directory = tmp_path_factory.mktemp("hosted-async")
    (directory / "service.py").write_text((SAMPLE / "service.py").read_text())
    (directory / "server.xml").write_text(SERVER_XML.format(port=free_port()))
    (directory / "app.py").write_text('from springpython.hosting import asgi_app\napp = asgi_app("server.xml")\n')
    g_port, u_port = free_port(), free_port()
    procs = {"gunicorn": start(gunicorn_args(g_port), directory, g_port),
             "uvicorn": start(uvicorn_args(u_port), directory, u_port)}
    yield {"gunicorn": f"http://127.0.0.1:{g_port}", "uvicorn": f"http://127.0.0.1:{u_port}"}
    for proc in procs.values():
        stop(proc)


PROXIES = {"hessian": (AsyncHessianProxyFactory, "/hessian"), "xmlrpc": (AsyncXMLRPCProxyFactory, "/RPC2")}


@pytest.mark.parametrize("server", ["gunicorn", "uvicorn"])
@pytest.mark.parametrize("protocol", sorted(PROXIES))
def test_async_proxies_call_hosted_async_services(hosted, server, protocol):
    """An async proxy calls the plain and the async def methods of a hosted exporter; a
    remote exception keeps the contract."""
    cls, path = PROXIES[protocol]

    async def main() -> tuple[int, str, str]:
        async with cls(service_url=hosted[server] + path) as proxy:
            total = await proxy.add(20, 22)
            dish = await proxy.cook("soup", 1)
            with pytest.raises(TypeError) as caught:
                await proxy.add(1, "x")
            assert isinstance(caught.value, RemoteFault)
            return total, dish, await proxy.where()

    total, dish, thread = asyncio.run(main())
    assert (total, dish) == (42, "soup after 1 ms")
    if server == "uvicorn":
        assert thread == "MainThread"  # awaited on uvicorn's own loop
    else:
        assert thread.startswith("springpython-loop-")  # a sync worker: the exporter's loop


@pytest.mark.parametrize("protocol", sorted(PROXIES))
def test_fifty_concurrent_awaits_overlap_under_uvicorn(hosted, protocol):
    """50 concurrent awaits of a 50 ms coroutine served by uvicorn overlap on its loop:
    well under the 2.5 s of one after another."""
    cls, path = PROXIES[protocol]

    async def main() -> float:
        async with cls(service_url=hosted["uvicorn"] + path) as proxy:
            await proxy.add(1, 1)
            start_time = time.perf_counter()
            dishes = await asyncio.gather(*(proxy.cook("tea", NAP_MS) for _ in range(CALLS)))
            assert dishes == [f"tea after {NAP_MS} ms"] * CALLS
            return time.perf_counter() - start_time

    elapsed = asyncio.run(main())
    assert elapsed < CALLS * NAP_MS / 1000 / 3, f"{CALLS} concurrent calls took {elapsed:.2f}s"


@pytest.fixture
def sample(tmp_path) -> Path:
    """A copy of samples/asyncio with its ports replaced by free ones."""
    http_port, pyro_port = free_port(), free_port()
    for name in ("server.xml", "client.xml", "service.py", "client.py", "app.py"):
        text = (SAMPLE / name).read_text().replace("8000", str(http_port)).replace("7000", str(pyro_port))
        (tmp_path / name).write_text(text)
    return tmp_path


@pytest.mark.parametrize("host", ["embedded", "uvicorn"])
def test_the_sample_runs_as_its_readme_says(sample, host):
    """The sample client awaits 50 dishes at once on each transport, in under a second,
    against the embedded server and against uvicorn."""
    port = int((sample / "server.xml").read_text().split("<property name=\"service_port\"><value>")[1].split("<")[0])
    args = (["-m", "springpython", "run", "server.xml"] if host == "embedded"
            else uvicorn_args(port))
    proc = start(args, sample, port)
    try:
        result = subprocess.run([sys.executable, "client.py"], cwd=sample, env=python_env(sample),
                                capture_output=True, text=True, timeout=60)
    finally:
        stop(proc)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for name in ("hessian", "xmlrpc", "pyro"):
        assert f"CLIENT: {name} add(20, 22) = 42" in lines
        assert f"CLIENT: {name} cooked 50 dishes of 50 ms in under a second" in lines


def test_sample_readme_names_the_commands():
    """The README shows the commands the test runs."""
    readme = (SAMPLE / "README.md").read_text()
    for command in ("springpython run server.xml", "uvicorn app:app", "python client.py"):
        assert command in readme
