"""High availability across hosts: three server hosts each running ``springpython run``,
one client host running a pool under steady load; one server is SIGKILLed mid-load and
restarted later.

The hosts are Linux network namespaces made for this test (a bridge in a "switch"
namespace, a veth pair per host, addresses in a private 10.200.x.0/24 that exists
only inside those namespaces: nothing is added to the machine's own network). Where
namespaces cannot be made (not root, no iproute2, a container without the
capability) the same scenario runs on 127.0.0.2-4. The mode is printed and recorded
as the ``ha_hosts_mode`` property; ``SPRINGPYTHON_HA_HOSTS=loopback`` forces the
fallback."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from helpers_ha import LineReader

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
PREFIX = "spha"
NS_NAME = re.compile(rf"^{PREFIX}(\d+)x[0-9a-f]{{4}}-\w+$")
SERVER_IDS = ("s1", "s2", "s3")
VICTIM = "s2"
THREADS = 6
RATE = 200
SERVICE_DELAY = 0.015  # each call takes this long on the server, so calls are in flight when it is killed
RETRY_INTERVAL = 0.1
MAX_RETRY_INTERVAL = 0.4
CALLS_PER_PHASE = 200

SERVER_XML = """<?xml version="1.0" encoding="UTF-8"?>
<objects xmlns="http://www.springframework.org/springpython/schema/objects/1.1">
    <object id="service" class="helpers_ha.HostService">
        <constructor-arg value="{host_id}"/>
        <constructor-arg value="{delay}"/>
    </object>
    <object id="exporter" class="springpython.remoting.pyro.PyroServiceExporter">
        <property name="service_name" value="HA"/>
        <property name="service" ref="service"/>
        <property name="service_host" value="{address}"/>
        <property name="service_port" value="{port}"/>
    </object>
</objects>
"""

CLIENT_XML = """<?xml version="1.0" encoding="UTF-8"?>
<objects xmlns="http://www.springframework.org/springpython/schema/objects/1.1">
    <object id="service" class="springpython.remoting.ha.HighAvailabilityProxyFactory">
        <property name="strategy" value="round_robin"/>
        <property name="retry_interval" value="{retry}"/>
        <property name="max_retry_interval" value="{max_retry}"/>
        <property name="idempotent_methods" value="echo, whoami"/>
        <property name="service_pool"><list>{refs}</list></property>
    </object>
{members}
</objects>
"""


def run_ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=30)


def remove_leftover_namespaces() -> None:
    """Delete namespaces left by an earlier run of this test whose process no longer exists."""
    for name in netns_names():
        match = NS_NAME.match(name)
        if not match or _alive(int(match.group(1))):
            continue
        for pid in run_ip("netns", "pids", name, check=False).stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        run_ip("netns", "del", name, check=False)


def netns_names() -> set[str]:
    return {line.split()[0] for line in run_ip("netns", "list", check=False).stdout.splitlines() if line.split()}


def plant_leftover() -> str:
    """A namespace named as if made by a run that has died (its pid no longer exists)."""
    dead = subprocess.Popen(["true"])
    dead.wait()
    name = f"{PREFIX}{dead.pid}x{secrets.token_hex(2)}-sw"
    run_ip("netns", "add", name)
    return name


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, killed but not yet reaped, counts as dead)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] != "Z"


def namespaces_work() -> str | None:
    """None if this machine lets us make network namespaces, else why not."""
    if os.environ.get("SPRINGPYTHON_HA_HOSTS") == "loopback":
        return "SPRINGPYTHON_HA_HOSTS=loopback"
    if not sys.platform.startswith("linux"):
        return f"platform {sys.platform}"
    if shutil.which("ip") is None:
        return "no 'ip' command (iproute2)"
    probe = f"{PREFIX}{os.getpid()}x{secrets.token_hex(2)}-probe"
    made = run_ip("netns", "add", probe, check=False)
    if made.returncode != 0:
        return f"ip netns add failed: {made.stderr.strip()}"
    try:
        entered = subprocess.run(["ip", "netns", "exec", probe, sys.executable, "-c", "pass"],
                                 capture_output=True, text=True, timeout=30)
    finally:
        run_ip("netns", "del", probe, check=False)
    if entered.returncode != 0:
        return f"ip netns exec failed: {entered.stderr.strip()}"
    return None


@dataclass
class Host:
    """One test host: its id, address, and the namespace it lives in (None on loopback)."""

    host_id: str
    address: str
    netns: str | None

    def command(self, *argv: str) -> list[str]:
        return ["ip", "netns", "exec", self.netns, *argv] if self.netns else list(argv)


@dataclass
class Hosts:
    """The three server hosts and the client host, in one of the two modes."""

    mode: str
    detail: str
    servers: list[Host]
    client: Host
    namespaces: list[str] = field(default_factory=list)

    def close(self) -> None:
        for name in reversed(self.namespaces):
            for pid in run_ip("netns", "pids", name, check=False).stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            run_ip("netns", "del", name, check=False)
        self.namespaces.clear()


def make_netns_hosts() -> Hosts:
    """A switch namespace with a bridge, and four host namespaces wired to it."""
    tag = f"{PREFIX}{os.getpid()}x{secrets.token_hex(2)}"
    subnet = f"10.200.{secrets.randbelow(256)}"
    hosts = Hosts("netns", "", [], Host("client", f"{subnet}.100", None))
    try:
        switch = f"{tag}-sw"
        run_ip("netns", "add", switch)
        hosts.namespaces.append(switch)
        run_ip("-n", switch, "link", "add", "br0", "type", "bridge")
        run_ip("-n", switch, "link", "set", "br0", "up")
        plan = [(host_id, f"{subnet}.{n + 1}") for n, host_id in enumerate(SERVER_IDS)] + [("c", f"{subnet}.100")]
        for host_id, address in plan:
            name = f"{tag}-{host_id}"
            run_ip("netns", "add", name)
            hosts.namespaces.append(name)
            run_ip("-n", switch, "link", "add", f"p{host_id}", "type", "veth", "peer", "name", "eth0", "netns", name)
            run_ip("-n", switch, "link", "set", f"p{host_id}", "master", "br0", "up")
            run_ip("-n", name, "addr", "add", f"{address}/24", "dev", "eth0")
            run_ip("-n", name, "link", "set", "eth0", "up")
            run_ip("-n", name, "link", "set", "lo", "up")
            host = Host(host_id, address, name)
            if host_id == "c":
                hosts.client = host
            else:
                hosts.servers.append(host)
        hosts.detail = f"namespaces {tag}-{{sw,s1,s2,s3,c}}, subnet {subnet}.0/24 on a private bridge"
        return hosts
    except BaseException:
        hosts.close()
        raise


@pytest.fixture
def hosts(record_property, capsys):
    """Four hosts: network namespaces when the machine allows, else 127.0.0.2-4; always cleaned up.

    Before making its own namespaces it removes those of earlier runs that died (and
    checks that it does, on a planted one)."""
    why_not = namespaces_work()
    made = None
    if why_not is None:
        leftover = plant_leftover()
        remove_leftover_namespaces()
        assert leftover not in netns_names(), f"the leftover namespace {leftover} was not removed"
        try:
            made = make_netns_hosts()
        except subprocess.CalledProcessError as exc:  # e.g. no veth or bridge support in this kernel
            why_not = f"{' '.join(exc.cmd)} failed: {exc.stderr.strip()}"
    if made is None:
        made = Hosts(
            "loopback", f"127.0.0.2-4 (namespaces unavailable: {why_not})",
            [Host(host_id, f"127.0.0.{n + 2}", None) for n, host_id in enumerate(SERVER_IDS)],
            Host("client", "127.0.0.1", None),
        )
    record_property("ha_hosts_mode", made.mode)
    record_property("ha_hosts_detail", made.detail)
    with capsys.disabled():
        print(f"\n[HA multi-host] mode={made.mode}: {made.detail}")
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def processes():
    """Start processes (possibly inside a namespace); any still running is killed after the test."""
    started: list[subprocess.Popen] = []
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), str(HERE), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"

    def start(argv: list[str], stdin: int | None = None) -> subprocess.Popen:
        proc = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                cwd=HERE)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


class Server:
    """``springpython run server.xml`` on one host."""

    def __init__(self, host: Host, directory: Path, start) -> None:
        self.host = host
        self.xml = directory / f"server-{host.host_id}.xml"
        self.start_process = start
        self.port = 0
        self.url = ""
        self.proc: subprocess.Popen | None = None
        self.lines: LineReader | None = None

    def launch(self) -> None:
        self.xml.write_text(SERVER_XML.format(host_id=self.host.host_id, delay=SERVICE_DELAY,
                                              address=self.host.address, port=self.port))
        self.proc = self.start_process(self.host.command(sys.executable, "-m", "springpython", "run", str(self.xml)))
        self.lines = LineReader(self.proc)

    def wait_serving(self) -> None:
        assert self.lines is not None
        line = self.lines.wait_for(lambda text: text.startswith("exported exporter:"), timeout=60)
        self.url = line.split(": ", 1)[1]
        self.port = int(self.url.rsplit(":", 1)[1])
        self.lines.wait_for(lambda text: text.startswith("serving 1 service(s)"), timeout=30)

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)


def test_pool_survives_a_server_killed_and_restarted_under_load(hosts, processes, tmp_path, record_property, capsys):
    """Under load, SIGKILL of one server costs at most the calls in flight on it; the pool leaves and rejoins it."""
    servers = [Server(host, tmp_path, processes) for host in hosts.servers]
    for server in servers:
        server.launch()
    for server in servers:
        server.wait_serving()
    by_id = {s.host.host_id: s for s in servers}
    victim = by_id[VICTIM]

    refs = "".join(f'<ref object="{s.host.host_id}"/>' for s in servers)
    members = "\n".join(
        f'    <object id="{s.host.host_id}" class="springpython.remoting.pyro.PyroProxyFactory">'
        f'<property name="service_url" value="{s.url}"/><property name="timeout" value="10"/></object>'
        for s in servers
    )
    client_xml = tmp_path / "client.xml"
    client_xml.write_text(CLIENT_XML.format(retry=RETRY_INTERVAL, max_retry=MAX_RETRY_INTERVAL, refs=refs,
                                            members=members))
    client = processes(
        hosts.client.command(sys.executable, str(HERE / "ha_load_client.py"), str(client_xml),
                             "--threads", str(THREADS), "--rate", str(RATE), "--max-seconds", "120"),
        stdin=subprocess.PIPE,
    )
    events = LineReader(client)

    def event(kind: str, **match) -> dict:
        def wanted(line: str) -> bool:
            data = json.loads(line)
            return data.get("event") == kind and all(
                data.get(k) >= v if k == "calls" else data.get(k) == v for k, v in match.items()
            )

        return json.loads(events.wait_for(wanted, timeout=60))

    event("ready")
    event("progress", calls=CALLS_PER_PHASE)

    killed_at = time.monotonic()
    victim.proc.send_signal(signal.SIGKILL)
    victim.proc.wait(timeout=30)
    down = event("down", endpoint=victim.url)
    calls_at_down = event("progress", calls=0)["calls"]
    event("progress", calls=calls_at_down + CALLS_PER_PHASE)

    victim.launch()  # same address and port as before
    victim.wait_serving()
    back_at = time.monotonic()
    up = event("up", endpoint=victim.url)
    calls_at_up = event("progress", calls=0)["calls"]
    event("progress", calls=calls_at_up + CALLS_PER_PHASE)

    client.stdin.write(b"stop\n")
    client.stdin.flush()
    summary = event("summary")
    assert client.wait(timeout=60) == 0, client.stderr.read()
    for server in servers:
        assert server.stop() == 0

    records = summary["records"]
    seqs = sorted(r[0] for r in records)
    answers = [r for r in records if r[6] is None]
    failures = [r for r in records if r[6] is not None]

    # Every call has exactly one outcome: an answer carrying its own sequence number, or one error.
    assert seqs == list(range(len(records)))
    assert all(r[5] == r[0] for r in answers)
    # Only non-idempotent calls in flight on the killed server failed, each with a clear error.
    assert all(r[1] == "record" for r in failures), failures
    assert all(r[6] in ("ConnectionLostError", "CallTimeoutError") for r in failures), failures
    assert all(victim.url in r[7] and "it may have run" in r[7] for r in failures), failures
    assert len(failures) <= THREADS
    # A failed record() was not replayed anywhere; no record() ran twice on the servers still holding data.
    recorded = [seq for seqs_ in summary["recorded"].values() if isinstance(seqs_, list) for seq in seqs_]
    assert len(recorded) == len(set(recorded))
    assert not {r[0] for r in failures} & set(recorded)
    survivors = {by_id[h].url for h in SERVER_IDS if h != VICTIM}
    for r in answers:
        if r[1] == "record" and by_id[r[4]].url in survivors:
            assert r[0] in summary["recorded"][by_id[r[4]].url]

    # The pool stopped sending to the dead host: marked down after the kill, then only probes until it returned.
    stop_sending = down["at"] - killed_at
    assert stop_sending >= 0
    down_for = up["at"] - down["at"]
    probes = up["attempts"] - down["attempts"]
    assert 1 <= probes <= THREADS + down_for / RETRY_INTERVAL  # probes only, not its share of the load
    assert not [r for r in answers if r[4] == VICTIM and killed_at < r[2] and r[3] < back_at]
    # ...and sends to it again once it is back.
    rejoined = [r for r in answers if r[4] == VICTIM and r[2] >= back_at]
    assert rejoined
    rejoin = min(r[3] for r in rejoined) - back_at
    after = [r for r in answers if r[2] >= up["at"]]
    assert {r[4] for r in after} == set(SERVER_IDS)

    report = {
        "mode": hosts.mode,
        "calls": len(records),
        "answers": len(answers),
        "errors_non_idempotent_in_flight": len(failures),
        "errors_idempotent": sum(r[1] == "echo" for r in failures),
        "stop_sending_to_dead_host_s": round(stop_sending, 4),
        "probes_while_down": probes,
        "down_for_s": round(down_for, 3),
        "rejoin_after_restart_s": round(rejoin, 4),
    }
    for key, value in report.items():
        record_property(f"ha_{key}", value)
    with capsys.disabled():
        print(f"[HA multi-host] {json.dumps(report)}")
