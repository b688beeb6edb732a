"""Start and stop hosting servers as child processes (a plain module, imported by name)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from support import ROOT, python_env, wait_for_port


def start(args: list[str], cwd: Path, port: int, env: dict[str, str] | None = None) -> subprocess.Popen:
    """A child process serving on 127.0.0.1:port, returned once it accepts connections."""
    proc = subprocess.Popen([sys.executable, *args], cwd=cwd, env=env or python_env(cwd),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_port("127.0.0.1", port, proc=proc)
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    return proc


def stop(proc: subprocess.Popen) -> tuple[int, str, str]:
    """SIGTERM the process and wait for it; its exit status and output."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    return proc.returncode, out, err


#: springpython's gunicorn worker class, for gunicorn's -k.
EMBEDDED_WORKER = "springpython.hosting.worker.EmbeddedWorker"


def gunicorn_args(port: int, *extra: str) -> list[str]:
    return ["-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "--no-control-socket",
            "-c", "python:springpython.hosting.gunicorn_config", *extra,
            'springpython.hosting:wsgi_app("server.xml")']


def uvicorn_args(port: int) -> list[str]:
    return ["-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", str(port), "--lifespan", "on",
            "--log-level", "warning"]


SERVICE = '''\
import os
import time
from pathlib import Path

import service  # the sample's Calculator: add, div, pid


class Calculator(service.Calculator):
    def hold(self, directory, seconds):
        """Say busy-PID in ``directory``, then answer after ``seconds``."""
        Path(directory, f"busy-{os.getpid()}").write_text("")
        time.sleep(seconds)
        return os.getpid()


class Marker:
    """Writes destroyed-PID into ``directory`` when the context shuts down."""

    def __init__(self, directory):
        self.directory = directory

    def destroy(self):
        Path(self.directory, f"destroyed-{os.getpid()}").write_text("")
'''

SERVER_XML = '''\
<?xml version="1.0" encoding="UTF-8"?>
<objects xmlns="http://www.springframework.org/springpython/schema/objects/1.1">
    <object id="calculator" class="hosted_service.Calculator"/>
    <object id="marker" class="hosted_service.Marker" destroy-method="destroy">
        <constructor-arg><value>{directory}</value></constructor-arg>
    </object>
    <object id="hessian" class="springpython.remoting.hessian.HessianServiceExporter">
        <property name="service" ref="calculator"/>
        <property name="service_host"><value>127.0.0.1</value></property>
        <property name="service_port"><value>{port}</value></property>
        <property name="path"><value>/hessian</value></property>
        <property name="max_body_size"><value>4096</value></property>
    </object>
    <object id="xmlrpc" class="springpython.remoting.xmlrpc.XMLRPCServiceExporter">
        <property name="service" ref="calculator"/>
        <property name="service_host"><value>127.0.0.1</value></property>
        <property name="service_port"><value>{port}</value></property>
        <property name="path"><value>/RPC2</value></property>
        <property name="max_body_size"><value>4096</value></property>
    </object>
</objects>
'''


def write_site(directory: Path, port: int) -> Path:
    """server.xml, hosted_service.py and app.py in ``directory``; the context file."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "samples" / "hosting" / "service.py", directory / "service.py")
    (directory / "hosted_service.py").write_text(SERVICE)
    (directory / "app.py").write_text('from springpython.hosting import asgi_app\napp = asgi_app("server.xml")\n')
    xml = directory / "server.xml"
    xml.write_text(SERVER_XML.format(directory=directory, port=port))
    return xml


def answering_pids(base_url: str, count: int = 2) -> set[int]:
    """The pids of ``count`` processes, each seen answering ``pid()`` on a new
    connection to ``base_url``'s /hessian (within 30 seconds)."""
    from springpython.remoting.hessian import HessianProxyFactory

    pids: set[int] = set()
    deadline = time.monotonic() + 30
    while len(pids) < count and time.monotonic() < deadline:
        proxy = HessianProxyFactory(service_url=f"{base_url}/hessian")  # a new connection each time
        try:
            pids.add(proxy.pid())
        finally:
            proxy.destroy()
    assert len(pids) == count, pids
    return pids


def slow_call(base_url: str, directory: Path, seconds: float) -> tuple[threading.Thread, list[int], Any]:
    """An XML-RPC ``hold(directory, seconds)`` running in a thread, returned once the
    service says it started: the thread, the list its answer goes to, and its proxy
    (to destroy)."""
    from springpython.remoting.xmlrpc import XMLRPCProxyFactory

    proxy = XMLRPCProxyFactory(service_url=f"{base_url}/RPC2")
    answers: list[int] = []
    caller = threading.Thread(target=lambda: answers.append(proxy.hold(str(directory), seconds)))
    caller.start()
    deadline = time.monotonic() + 20
    while not list(directory.glob("busy-*")) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert list(directory.glob("busy-*")), "the slow call never started"
    return caller, answers, proxy
