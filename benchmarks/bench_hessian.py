"""Hessian benchmarks: calls per second of ``HessianProxyFactory`` against
python-hessian's ``HessianProxy`` calling the same (our) server, and of our
``HessianServiceExporter`` against Caucho's Java server answering the same client.

Every server runs in its own process (ours in a child Python, Caucho's in a JVM),
so the figures measure the client in one row group and the server in the other.
Cases: a short call (``add(1, 2)``) and a 10 KB string echoed both ways, each
sequential and from 8 threads (a connection or ``HessianProxy`` per thread), over
HTTP and HTTPS. Needs a JDK and Caucho's jar (``libhessian-java``) for the Java rows.

``python3 -m benchmarks.bench_hessian serve [certfile keyfile]`` is the child
process: it exports the benchmark service and prints its port."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable

from benchmarks._harness import Result, best_time, rate, rate_threads

GROUP = "hessian"
ROOT = Path(__file__).resolve().parent.parent
TEXT_10K = ("Hessian is a compact binary protocol. " * 300)[:10_000]
THREADS = 8


class BenchService:
    """The benchmark service: a short call and an echo."""

    def add(self, a: int, b: int) -> int:
        return a + b

    def echoString(self, value: str) -> str:
        return value


def serve(argv: list[str]) -> None:
    """Child-process entry: export BenchService on 127.0.0.1:0 and run until stdin closes."""
    from springpython.remoting.hessian import HessianServiceExporter

    tls = {"certfile": argv[0], "keyfile": argv[1]} if len(argv) >= 2 else {}
    with HessianServiceExporter(
        service=BenchService(), service_host="127.0.0.1", service_port=0, path="/interop", **tls
    ) as exporter:
        print(f"PORT {exporter.port}", flush=True)
        sys.stdin.read()


class _Child:
    """A server in a child process that prints ``PORT n`` and stops when stdin closes."""

    def __init__(self, command: list[str], env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
        )
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.close()
            raise RuntimeError(f"benchmark server {command[:3]}… did not start: {line!r}")
        self.port = int(line.split()[1])

    def close(self) -> None:
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()


def _java_peer(pki, workdir: Path) -> tuple[list[str], list[str]]:
    """Commands for Caucho's server over HTTP and HTTPS (the tests' Java peer, compiled once)."""
    sys.path.insert(0, str(ROOT / "tests" / "remoting" / "hessian"))
    try:
        from helpers_hessian import (
            STORE_PASSWORD,
            compile_java_peers,
            ensure_hessian_jar,
            java_command,
            write_keystore,
        )
    finally:
        sys.path.pop(0)
    jar = ensure_hessian_jar()
    classes = compile_java_peers(jar)
    keystore = write_keystore(pki, workdir / "server.p12")
    http = java_command(classes, jar, "HessianJavaServer", quick=False)
    https = java_command(classes, jar, "HessianJavaServer", str(keystore), STORE_PASSWORD, quick=False)
    return http, https


def _our_factory(url: str, ca: str | None) -> Callable[[], object]:
    from springpython.remoting.hessian import HessianProxyFactory

    return HessianProxyFactory(service_url=url, ca_certs=ca)


def _pyhessian_factory(url: str, ca: str | None) -> object:
    from pyhessian.client import HessianProxy

    context = ssl.create_default_context(cafile=ca) if ca else None
    return HessianProxy(url, context=context, timeout=30)


def _measure(
    make_proxy: Callable[[], object], payload: str | None, seconds: float, threaded: bool
) -> float:
    proxies: list = []

    def make_call() -> Callable[[], object]:
        proxy = make_proxy()
        proxies.append(proxy)
        if payload is None:
            def call() -> object:
                return proxy.add(1, 2)
        else:
            def call() -> object:
                return proxy.echoString(payload)
        return call

    try:
        if threaded:
            return rate_threads(make_call, THREADS, seconds)
        return rate(make_call(), seconds)
    finally:
        from springpython.remoting.hessian import HessianProxyFactory

        for proxy in proxies:
            if isinstance(proxy, HessianProxyFactory):
                proxy.destroy()


def _warm_up(url: str, ca: str | None, seconds: float) -> None:
    """Call a server until its JIT (the JVM's) and caches are warm, before any measurement."""
    def make() -> Callable[[], object]:
        proxy = _our_factory(url, ca)
        made.append(proxy)

        def call() -> object:
            proxy.add(1, 2)
            return proxy.echoString(TEXT_10K)

        return call

    made: list = []
    try:
        rate_threads(make, THREADS, seconds)
    finally:
        for proxy in made:
            proxy.destroy()


def _codec_rows(quick: bool) -> list[Result]:
    """Our codec against python-hessian's on the 10 KB string, in memory."""
    from pyhessian.encoder import encode_object
    from pyhessian.parser import Parser
    from pyhessian.protocol import Call

    from springpython.remoting.hessian._codec import decode_reply, encode_call, encode_reply

    rows = []
    repeat = 3 if quick else 7
    reply = encode_reply(TEXT_10K, 1)
    ours = best_time(lambda: [decode_reply(reply) for _ in range(100)], repeat) / 100
    theirs = best_time(lambda: Parser().parse_string(reply), repeat)
    rows.append(Result(f"{GROUP} codec", "decode a 10 KB string reply", 1 / ours, 1 / theirs, "per s", 10.0,
                       baseline_name="pyhessian Parser"))
    ours = best_time(lambda: [encode_call("echoString", [TEXT_10K]) for _ in range(100)], repeat) / 100
    theirs = best_time(
        lambda: [encode_object(Call("echoString", [TEXT_10K], version=2)) for _ in range(100)], repeat
    ) / 100
    rows.append(Result(f"{GROUP} codec", "encode a 10 KB string call", 1 / ours, 1 / theirs, "per s", 2.0,
                       baseline_name="pyhessian encode_object"))
    return rows


def run(quick: bool = False) -> list[Result]:
    """Measure every case; each row pairs our figure with its same-run baseline."""
    from springpython.pki import write_sample_pki

    seconds = 0.4 if quick else 1.5
    results: list[Result] = _codec_rows(quick)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    with tempfile.TemporaryDirectory(prefix="bench-hessian-") as tmp:
        workdir = Path(tmp)
        pki = write_sample_pki(workdir / "pki")
        ca = str(pki.ca_chain)
        java_http, java_https = _java_peer(pki, workdir)
        ours_cmd = [sys.executable, "-m", "benchmarks.bench_hessian", "serve"]
        servers: list[_Child] = []
        try:
            ours_http = _Child(ours_cmd, env)
            servers.append(ours_http)
            ours_https = _Child(ours_cmd + [str(pki.server_cert), str(pki.server_key)], env)
            servers.append(ours_https)
            java_plain = _Child(java_http)
            servers.append(java_plain)
            java_tls = _Child(java_https)
            servers.append(java_tls)
            for server, tls_ca, warm in ((ours_http, None, 1.0), (ours_https, ca, 1.0),
                                         (java_plain, None, 3.0), (java_tls, ca, 3.0)):
                scheme = "https" if tls_ca else "http"  # the JVM's JIT needs the longer warm-up
                _warm_up(f"{scheme}://127.0.0.1:{server.port}/interop", tls_ca, warm if quick else 2 * warm)
            for scheme, ours_server, java_server, tls_ca in (
                ("http", ours_http, java_plain, None),
                ("https", ours_https, java_tls, ca),
            ):
                ours_url = f"{scheme}://127.0.0.1:{ours_server.port}/interop"
                java_url = f"{scheme}://127.0.0.1:{java_server.port}/interop"
                for payload, label in ((None, "short call"), (TEXT_10K, "10 KB string")):
                    for threaded in (False, True):
                        mode = f"{THREADS} threads" if threaded else "sequential"
                        case = f"{label}, {scheme}, {mode}"
                        ours = _measure(lambda: _our_factory(ours_url, tls_ca), payload, seconds, threaded)
                        theirs = _measure(lambda: _pyhessian_factory(ours_url, tls_ca), payload, seconds, threaded)
                        if payload is None:
                            target = 1.2 if scheme == "http" else 4.0
                        else:
                            target = 10.0
                        results.append(Result(f"{GROUP} client", case, ours, theirs, "calls/s", target,
                                              baseline_name="pyhessian HessianProxy"))
                        # the JVM's figures vary with JIT and GC: the better of two runs, in its favour
                        java = max(
                            _measure(lambda: _our_factory(java_url, tls_ca), payload, seconds, threaded)
                            for _ in range(2)
                        )
                        results.append(Result(f"{GROUP} server", case, ours, java, "calls/s", 0.5,
                                              baseline_name="Caucho Java server"))
        finally:
            for server in reversed(servers):
                server.close()
    return results


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "serve":
        serve(sys.argv[2:])
    else:
        from benchmarks._harness import print_table

        print_table(run(quick="--quick" in sys.argv))
