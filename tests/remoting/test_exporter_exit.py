"""Lifecycle of remoting objects outside a with-context: exporters started by a
context keep a script serving after its main code ends (the chapter's server.py);
programmatic ones do not; proxy factories close as context managers."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import time
import xmlrpc.client

from support import python_env

SCRIPT = """
import logging
from springpython.config import XMLConfig
from springpython.context import ApplicationContext

class Service:
    def get_data(self, param):
        return "You got remote data => %s" % param

logging.basicConfig(level=logging.INFO)
context = ApplicationContext(XMLConfig({xml!r}))
print(context.get_object("exporter").service_url, flush=True)
"""

XML = """<?xml version="1.0" encoding="UTF-8"?>
<objects xmlns="http://www.springframework.org/springpython/schema/objects/1.1">
    <object id="service" class="Service"/>
    <object id="exporter" class="springpython.remoting.xmlrpc.XMLRPCServiceExporter">
        <property name="service" ref="service"/>
        <property name="service_host" value="127.0.0.1"/>
        <property name="service_port" value="0"/>
    </object>
</objects>
"""


def read_until(proc: subprocess.Popen, text: str, timeout: float) -> str:
    """What the child wrote to stderr up to the first line containing ``text``; fails
    when the child ends or ``timeout`` seconds pass first. Reads the pipe itself, past
    the file object's buffer, so a line already written is never left waiting there."""
    fd = proc.stderr.fileno()
    deadline = time.monotonic() + timeout
    seen = b""
    while text.encode() not in seen.rpartition(b"\n")[0]:
        left = deadline - time.monotonic()
        assert left > 0, f"no line with {text!r} from the child within {timeout}s; stderr so far:\n{seen.decode()}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 65536)
            assert chunk, f"the child ended (rc={proc.wait()}) before a line with {text!r}:\n{seen.decode()}"
            seen += chunk
    return seen.decode()


def test_script_keeps_serving_until_interrupted(tmp_path):
    """A script whose main code ends keeps serving its context's exporter; Ctrl-C stops it with exit 0 and frees the port."""
    (tmp_path / "server.xml").write_text(XML)
    script = tmp_path / "server.py"
    script.write_text(SCRIPT.format(xml=str(tmp_path / "server.xml")))
    proc = subprocess.Popen([sys.executable, str(script)], env=python_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), proc.stderr.read() if proc.poll() is not None else url
        # the main code has ended and the exit hook waits: only now is Ctrl-C a stop, not an error in the script
        before = read_until(proc, f"serving {url} until interrupted", timeout=60)
        with xmlrpc.client.ServerProxy(url) as client:
            assert client.get_data("Hello") == "You got remote data => Hello"
        assert proc.poll() is None
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    err = before + err
    assert proc.returncode == 0, err
    assert "interrupted: stopping" in err
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_programmatic_exporter_does_not_hold_the_process(tmp_path):
    """An exporter set up in code (no context) does not keep the process alive at exit."""
    code = (
        "from springpython.remoting.xmlrpc import XMLRPCServiceExporter\n"
        "e = XMLRPCServiceExporter(service=object(), service_host='127.0.0.1', service_port=0)\n"
        "e.after_properties_set()\n"
        "print(e.service_url)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], env=python_env(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("http://127.0.0.1:")


def test_proxy_factory_is_a_context_manager():
    """Leaving a proxy factory's with-block closes its connections."""
    from springpython.remoting.xmlrpc import XMLRPCProxyFactory, XMLRPCServiceExporter

    class Echo:
        def echo(self, value):
            return value

    with XMLRPCServiceExporter(Echo(), service_host="127.0.0.1", service_port=0) as exporter:
        with XMLRPCProxyFactory(service_url=exporter.service_url) as proxy:
            assert proxy.echo(5) == 5
            assert proxy.connections == 1
        assert proxy.connections == 0
