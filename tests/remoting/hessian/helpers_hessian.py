"""Helpers for the Hessian tests: the Java peers (Caucho's implementation on the
machine's JDK) and the Python service that mirrors the Java one."""

from __future__ import annotations

import atexit
import datetime
import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from springpython.remoting.hessian import _codec

HERE = Path(__file__).resolve().parent
JAVA_SOURCES = HERE / "java"
HESSIAN_JAR = Path("/usr/share/java/hessian.jar")
# Java 17 closes java.lang/java.util to reflection; Caucho's serializer needs them.
JAVA_OPTIONS = [
    "--add-opens", "java.base/java.lang=ALL-UNNAMED",
    "--add-opens", "java.base/java.util=ALL-UNNAMED",
    "-Dsun.net.httpserver.nodelay=true",
]
# Tests start the JVMs often and call them little: favour start-up over peak speed.
QUICK_START = ["-XX:TieredStopAtLevel=1", "-Xshare:auto"]


class JavaPeerError(AssertionError):
    """A Java peer could not be built or started."""


def ensure_hessian_jar() -> Path:
    """Caucho's jar from Debian's libhessian-java; installed here if missing and root."""
    if HESSIAN_JAR.exists():
        return HESSIAN_JAR
    if os.geteuid() != 0:
        raise JavaPeerError(
            f"{HESSIAN_JAR} is missing: install Debian's libhessian-java (apt-get install libhessian-java)"
        )
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "libhessian-java"]):
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise JavaPeerError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    if not HESSIAN_JAR.exists():
        raise JavaPeerError(f"libhessian-java is installed but {HESSIAN_JAR} is still missing")
    return HESSIAN_JAR


def compile_java_peers(jar: Path) -> Path:
    """Compile the Java peers once into a directory keyed by the sources' hash."""
    for tool in ("javac", "java"):
        if shutil.which(tool) is None:
            raise JavaPeerError(f"{tool} is not on PATH: install a JDK (default-jdk-headless)")
    sources = sorted(JAVA_SOURCES.glob("*.java"))
    digest = hashlib.sha256(str(jar.resolve()).encode())
    for source in sources:
        digest.update(source.name.encode() + source.read_bytes())
    target = JAVA_SOURCES / "classes" / digest.hexdigest()[:16]
    marker = target / ".compiled"
    if marker.exists():
        return target
    target.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["javac", "-encoding", "UTF-8", "-nowarn", "-d", str(target), "-cp", str(jar), *map(str, sources)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise JavaPeerError(f"javac failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    marker.write_text("ok\n")
    return target


def java_command(classes: Path, jar: Path, main: str, *args: str, quick: bool = True) -> list[str]:
    options = JAVA_OPTIONS + (QUICK_START if quick else [])
    return ["java", *options, "-cp", os.pathsep.join([str(classes), str(jar)]), main, *args]


def _stop(proc: subprocess.Popen) -> None:
    """End a peer by closing its stdin (its signal to exit); kill it if it lingers."""
    try:
        proc.stdin.close()
    except OSError:
        pass  # it is already gone
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    proc.stdout.close()


STORE_PASSWORD = "changeit"


def write_keystore(pki, path: Path) -> Path:
    """A PKCS#12 keystore with the sample server key, certificate and chain (for HttpsServer)."""
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

    from springpython.pki import load_cert, load_key

    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"server", load_key(pki.server_key), load_cert(pki.server_cert), [load_cert(pki.ca_signing_cert)],
            BestAvailableEncryption(STORE_PASSWORD.encode()),
        )
    )
    return path


def write_truststore(pki, path: Path) -> Path:
    """A PKCS#12 truststore holding the sample root CA, written by the JDK's keytool."""
    done = subprocess.run(
        ["keytool", "-importcert", "-noprompt", "-alias", "sample-root", "-file", str(pki.ca_root_cert),
         "-keystore", str(path), "-storetype", "PKCS12", "-storepass", STORE_PASSWORD],
        capture_output=True, text=True,
    )
    if done.returncode != 0:
        raise JavaPeerError(f"keytool failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return path


def trusting(command: list[str], truststore: Path) -> list[str]:
    """``command`` (a java command line) with ``truststore`` as the JVM's trusted CAs."""
    options = [f"-Djavax.net.ssl.trustStore={truststore}", "-Djavax.net.ssl.trustStoreType=PKCS12",
               f"-Djavax.net.ssl.trustStorePassword={STORE_PASSWORD}"]
    return [command[0], *options, *command[1:]]


class JavaServer:
    """Caucho's HessianSkeleton behind the JDK's HTTP server, in a child JVM."""

    def __init__(self, command: list[str], scheme: str = "http") -> None:
        self.errors = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")
        self.proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.errors, text=True
        )
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.close()
            raise JavaPeerError(f"the Java server did not start: {line!r} {self.stderr()}")
        self.port = int(line.split()[1])
        self.scheme = scheme

    def url(self, path: str = "/interop", host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def stderr(self) -> str:
        self.errors.seek(0)
        return self.errors.read()[-4000:]

    def close(self) -> None:
        _stop(self.proc)
        self.errors.close()


class JavaClient:
    """Caucho's HessianProxyFactory in a child JVM, running named checks on request."""

    def __init__(self, command: list[str]) -> None:
        self.errors = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")
        self.proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.errors, text=True,
            encoding="utf-8",
        )
        self._lock = threading.Lock()
        self._next = 0
        line = self.proc.stdout.readline()
        if line.strip() != "READY":
            self.close()
            raise JavaPeerError(f"the Java client did not start: {line!r} {self.stderr()}")

    def run(self, url: str, check: str, mode: str = "default") -> tuple[str, str]:
        """Run ``check`` against ``url``; ``("OK", text)`` or ``("ERR", "Class: message")``."""
        with self._lock:
            self._next += 1
            ident = str(self._next)
            self.proc.stdin.write(f"{ident} {mode} {url} {check}\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        if not line:
            raise JavaPeerError(f"the Java client died: {self.stderr()}")
        got_id, status, text = (line.rstrip("\n").split(" ", 2) + [""])[:3]
        assert got_id == ident, f"out-of-step Java client reply {line!r}"
        return status, text

    def stderr(self) -> str:
        self.errors.seek(0)
        return self.errors.read()[-4000:]

    def close(self) -> None:
        _stop(self.proc)
        self.errors.close()


def _describe(value: object) -> str:
    if isinstance(value, _codec.HessianObject):
        return f"HessianObject:{value.type_name}:{sorted(value.items())}"
    if isinstance(value, datetime.datetime):
        return f"datetime:{value.isoformat()}"
    if isinstance(value, bytes):
        return f"bytes:{value!r}"
    return f"{type(value).__name__}:{value!r}"


class PythonInteropService:
    """The Python twin of the Java ``InteropServiceImpl`` (without ``missing``)."""

    def echo(self, value):
        return value

    echoInt = echoLong = echoDouble = echoBool = echoString = echoBytes = echo
    echoDate = echoList = echoMap = echoPerson = echo

    def makePerson(self, name, age):
        return _codec.HessianObject("Person", name=name, age=age)

    def describe(self, value):
        return _describe(value)

    def stringLength(self, value):
        return len(value.encode("utf-16-le")) // 2

    def repeat(self, unit, count):
        return unit * count

    def add(self, a, b):
        return a + b

    def nothing(self):
        return None

    def fail(self, message):
        raise ValueError(message)

    def encode(self, version, value):
        return _codec.encode_value(value, version)

    def _hidden(self):
        return "never reachable"


# -- peers shared by every test module of the process (started once, stopped at exit) --


@functools.cache
def java_build() -> tuple[Path, Path]:
    """``(hessian.jar, compiled classes)``, found, installed or compiled once per process."""
    jar = ensure_hessian_jar()
    return jar, compile_java_peers(jar)


@functools.cache
def shared_java_server() -> JavaServer:
    """Caucho's HessianSkeleton over HTTP, started once per test process."""
    jar, classes = java_build()
    server = JavaServer(java_command(classes, jar, "HessianJavaServer"))
    atexit.register(server.close)
    return server


@functools.cache
def shared_java_client() -> JavaClient:
    """Caucho's HessianProxyFactory driver, started once per test process."""
    jar, classes = java_build()
    client = JavaClient(java_command(classes, jar, "HessianJavaClient"))
    atexit.register(client.close)
    return client
