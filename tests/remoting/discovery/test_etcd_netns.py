"""Discovery across hosts: etcd, a Pyro5 server, an XML-RPC server and a client under
load each on their own host, made as Linux network namespaces by the multi-host HA
test's fixture (tests/remoting/ha/test_ha_netns.py; 127.0.0.2-4 where namespaces
cannot be made). One server host is cut off the network (its link set down; on
loopback, the server process is stopped with SIGSTOP) for longer than the lease:
its registration expires, the pool stops calling it and no idempotent call fails;
once the host is back, the server registers again and gets calls again."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest
from helpers_etcd import HA, HERE, SERVER_XML, SERVICE, LineReader
from test_ha_netns import hosts, run_ip  # noqa: F401 (hosts is a fixture; helpers_etcd put its folder on the path)

from support import python_env

TTL = 2
CLIENT_XML = """<?xml version="1.0" encoding="UTF-8"?>
<objects xmlns="http://www.springframework.org/springpython/schema/objects/1.1">
    <object id="registry" class="springpython.remoting.discovery.EtcdRegistry">
        <property name="endpoints" value="{etcd}"/>
        <property name="ttl" value="{ttl}"/>
    </object>
    <object id="service" class="springpython.remoting.ha.HighAvailabilityProxyFactory">
        <property name="registry" ref="registry"/>
        <property name="service_name" value="{service}"/>
        <property name="idempotent_methods" value="echo, whoami"/>
        <property name="retry_interval" value="0.1"/>
        <property name="max_retry_interval" value="0.4"/>
        <property name="endpoint_properties"><dict><entry key="timeout" value="1"/></dict></property>
    </object>
</objects>
"""


@pytest.fixture
def start():
    """Start processes (in a namespace or not); any still running is killed after the test."""
    started: list[subprocess.Popen] = []

    def run(argv: list[str], **kwargs) -> subprocess.Popen:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=python_env(HA),
                                cwd=HERE, **kwargs)
        started.append(proc)
        return proc

    yield run
    for proc in started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGCONT)
            proc.kill()
        proc.communicate()


def free_port_on(address: str) -> int:
    import socket

    with socket.socket() as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def test_a_host_cut_off_longer_than_the_lease_leaves_the_pool_and_comes_back(hosts, start, tmp_path, capsys):
    """Partition of a server host: no idempotent call fails, the pool drops it once the
    lease has expired, and it gets calls again after it re-registers."""
    etcd_host, pyro_host, xmlrpc_host = hosts.servers
    netns = hosts.mode == "netns"
    client_port, peer_port = (2379, 2380) if netns else (free_port_on(etcd_host.address),
                                                          free_port_on(etcd_host.address))
    etcd_url = f"http://{etcd_host.address}:{client_port}"
    peer = f"http://{etcd_host.address}:{peer_port}"
    start(etcd_host.command(
        "etcd", "--data-dir", str(tmp_path / "etcd"), "--listen-client-urls", etcd_url,
        "--advertise-client-urls", etcd_url, "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
        "--initial-cluster", f"default={peer}", "--log-level", "error", "--logger", "zap"))
    ready = start(etcd_host.command(sys.executable, "-c", (
        "import time, urllib.request\n"
        "for _ in range(400):\n"
        "    try:\n"
        f"        urllib.request.urlopen('{etcd_url}/health', timeout=1).read(); break\n"
        "    except OSError:\n"
        "        time.sleep(0.05)\n"
        "else:\n    raise SystemExit('etcd did not start')\n")))
    assert ready.wait(60) == 0, ready.stderr.read()

    servers = {}
    for host, transport, exporter in [(pyro_host, "pyro5", "springpython.remoting.pyro.Pyro5ServiceExporter"),
                                      (xmlrpc_host, "xmlrpc", "springpython.remoting.xmlrpc.XMLRPCServiceExporter")]:
        xml = tmp_path / f"server-{transport}.xml"
        xml.write_text(SERVER_XML.format(etcd=etcd_url, ttl=TTL, prefix="/springpython/services/",
                                         host_id=transport, delay=0.01, exporter=exporter, service=SERVICE,
                                         host=host.address))
        proc = start(host.command(sys.executable, "-m", "springpython", "run", str(xml)))
        servers[transport] = (host, proc, LineReader(proc))
    urls = {}
    for transport, (_, proc, lines) in servers.items():
        urls[transport] = lines.wait_for(lambda t: t.startswith("exported exporter: "), 60).split(": ", 1)[1]
        lines.wait_for(lambda t: t.startswith("registered exporter: "), 30)

    client_xml = tmp_path / "client.xml"
    client_xml.write_text(CLIENT_XML.format(etcd=etcd_url, ttl=TTL, service=SERVICE))
    client = start(hosts.client.command(sys.executable, str(HA / "ha_load_client.py"), str(client_xml),
                                        "--threads", "4", "--rate", "200", "--max-seconds", "120"),
                   stdin=subprocess.PIPE)
    events = LineReader(client)
    events.wait_for(lambda t: json.loads(t).get("event") == "ready", 60)
    time.sleep(0.5)

    victim_host, victim, _ = servers["pyro5"]
    cut_at = time.monotonic()
    if netns:
        run_ip("-n", victim_host.netns, "link", "set", "eth0", "down")
    else:
        victim.send_signal(signal.SIGSTOP)
    time.sleep(TTL + 2.5)  # the lease (renewed every TTL/3) has surely expired
    if netns:
        run_ip("-n", victim_host.netns, "link", "set", "eth0", "up")
    else:
        victim.send_signal(signal.SIGCONT)
    healed_at = time.monotonic()
    time.sleep(TTL + 1.5)  # a renewal finds the lease gone and registers again

    client.stdin.write(b"stop\n")
    client.stdin.flush()
    summary = json.loads(events.wait_for(lambda t: json.loads(t).get("event") == "summary", 60))
    assert client.wait(60) == 0

    records = summary["records"]
    failures = [r for r in records if r[6] is not None]
    assert all(r[1] == "record" and r[6] in ("ConnectionLostError", "CallTimeoutError") for r in failures), failures
    assert not [r for r in records if r[1] == "echo" and r[6] is not None]
    # the victim answered before the cut and after it re-registered, but nothing it was
    # sent between the lease's end and the healing; the other server answered throughout
    quiet_from = cut_at + TTL + 1.0
    assert [r for r in records if r[4] == "pyro5" and r[3] < cut_at]
    assert not [r for r in records if r[4] == "pyro5" and quiet_from < r[2] < healed_at]
    back = [r for r in records if r[4] == "pyro5" and r[2] > healed_at]
    assert back, "the server did not get calls again after the partition healed"
    assert [r for r in records if r[4] == "xmlrpc" and quiet_from < r[2] < healed_at]
    assert {s["name"] for s in summary["states"]} == {urls["pyro5"], urls["xmlrpc"]}
    err = servers["pyro5"][1]
    err.send_signal(signal.SIGTERM)
    assert err.wait(30) == 0
    assert b"registering again under a new lease" in err.stderr.read()
    with capsys.disabled():
        print(f"\n[discovery multi-host] mode={hosts.mode}: {len(records)} calls, {len(failures)} non-idempotent "
              f"failed in flight, first call after healing {min(r[3] for r in back) - healed_at:.2f} s")
