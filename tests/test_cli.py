"""The springpython command: usage, validate, graph and run (in a child process)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from support import python_env

from springpython.cli import build_parser, main

NS = 'xmlns="http://www.springframework.org/springpython/schema/objects/1.1"'


def write(path: Path, body: str) -> Path:
    path.write_text(f'<?xml version="1.0" encoding="UTF-8"?>\n<objects {NS}>\n{body}\n</objects>\n')
    return path


def test_every_subcommand_has_help(capsys):
    """`--help` works for the command and each subcommand and exits 0."""
    for argv in ([], ["run"], ["validate"], ["certs"], ["graph"], ["demo"]):
        with pytest.raises(SystemExit) as exit_info:
            main([*argv, "--help"])
        assert exit_info.value.code == 0
    assert "usage: springpython" in capsys.readouterr().out


def test_usage_error_exits_2(capsys):
    """An unknown subcommand or missing argument is a usage error: exit code 2."""
    with pytest.raises(SystemExit) as exit_info:
        main(["frobnicate"])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit) as exit_info:
        main(["validate"])
    assert exit_info.value.code == 2


@pytest.mark.parametrize("value, code, message", [("x", 2, "invalid int value"), ("0", 1, "at least 1"),
                                                  ("-3", 1, "at least 1")])
def test_run_workers_garbage_is_refused_before_anything_starts(capsys, value, code, message):
    """--workers that is not a positive number is refused with a message; nothing is started."""
    xml = Path(__file__).resolve().parent.parent / "samples" / "hosting" / "server.xml"
    try:
        status = main(["run", "--workers", value, str(xml)])
    except SystemExit as exc:
        status = exc.code
    assert status == code
    assert message in capsys.readouterr().err


def test_validate_good_file(tmp_path, capsys):
    """A valid context validates with exit 0 and nothing is created."""
    path = write(tmp_path / "good.xml", '<object id="d" class="collections.OrderedDict"/>')
    assert main(["validate", str(path)]) == 0
    assert "OK" in capsys.readouterr().out


def test_validate_lists_every_problem(tmp_path, capsys):
    """Validation lists each problem with file:line and object id, and exits 1."""
    path = write(tmp_path / "broken.xml", "\n".join([
        '<object id="a" class="nosuch.Thing"/>',
        '<object id="b" class="collections.OrderedDict"><property name="x" ref="ghost"/></object>',
        '<object id="c" class="collections.OrderedDict"><property name="x" ref="c"/></object>',
    ]))
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert any(f"{path}:4: object 'b': reference to unknown object 'ghost'" in line for line in err)
    assert any(f"{path}:5: object 'c': circular reference: c -> c" in line for line in err)
    assert any(f"{path}:3: object 'a': class 'nosuch.Thing': cannot import module 'nosuch'" in line for line in err)
    assert err[-1] == "3 problem(s) found"


def test_validate_malformed_file(tmp_path, capsys):
    """A file that is not well-formed XML is reported with its file and line, exit 1."""
    path = tmp_path / "bad.xml"
    path.write_text(f"<objects {NS}>\n<object id='a' class='x.Y'>\n</objects>\n")
    assert main(["validate", str(path)]) == 1
    assert f"{path}:" in capsys.readouterr().err


def test_validate_missing_file(tmp_path, capsys):
    """A file that does not exist is one error line and exit 1."""
    assert main(["validate", str(tmp_path / "nope.xml")]) == 1
    assert "no such file" in capsys.readouterr().err


def test_graph_prints_dot(tmp_path, capsys):
    """graph prints objects, classes and references as DOT, marking exporters and proxies."""
    path = write(tmp_path / "g.xml", "\n".join([
        '<object id="svc" class="collections.OrderedDict"/>',
        '<object id="exporter" class="springpython.remoting.exporter.ServiceExporter">',
        '  <property name="service" ref="svc"/><property name="service_port" value="7000"/>',
        '  <property name="service_name" value="Svc"/></object>',
        '<object id="proxy" class="springpython.remoting.proxy.RemoteProxy">',
        '  <property name="service_url" value="PYRO:Svc@localhost:7000"/></object>',
    ]))
    assert main(["graph", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("digraph springpython {")
    assert '"exporter" -> "svc" [label="service"];' in out
    assert "exporter: localhost:7000 Svc" in out
    assert "proxy: PYRO:Svc@localhost:7000" in out


def test_graph_svg(tmp_path, capfdbinary):
    """--format svg renders through Graphviz when it is installed, or says how to install it."""
    path = write(tmp_path / "g.xml", '<object id="svc" class="collections.OrderedDict"/>')
    code = main(["graph", "--format", "svg", str(path)])
    if shutil.which("dot"):
        assert code == 0
        assert b"<svg" in capfdbinary.readouterr().out
    else:
        assert code == 1
        assert b"apt-get install graphviz" in capfdbinary.readouterr().err


def test_parser_documents_all_commands():
    """The parser knows the six subcommands (it is also what the docs render)."""
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) == {"run", "validate", "certs", "graph", "describe", "demo"}


def test_run_serves_until_sigterm(tmp_path):
    """`springpython run` loads the context, reports readiness, and exits 0 on SIGTERM after shutting down."""
    path = write(tmp_path / "ctx.xml", '<object id="d" class="collections.OrderedDict"/>')
    proc = subprocess.Popen([sys.executable, "-m", "springpython", "run", str(path)], env=python_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("serving 0 service(s)"), (line, proc.stderr.read() if proc.poll() is not None else "")
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert out.strip().endswith("stopped")


def test_run_reports_configuration_error_on_one_line(tmp_path):
    """A broken context makes `run` exit 1 with one error line naming file and line."""
    path = write(tmp_path / "ctx.xml", '<object id="d" class="nosuch.Thing"/>')
    result = subprocess.run([sys.executable, "-m", "springpython", "run", str(path)], env=python_env(),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"springpython run: error: {path}:3: object 'd': class 'nosuch.Thing': cannot import module 'nosuch': No module named 'nosuch'"
    ]


def test_certs_writes_sample_pki_and_refuses_to_overwrite(tmp_path, capsys):
    """`certs DIR` writes the chapter's files; again without --force it refuses, with --force it overwrites."""
    from cryptography import x509

    target = tmp_path / "pki"
    assert main(["certs", str(target), "--host", "example.test", "--common-name", "Alice"]) == 0
    names = {p.name for p in target.iterdir()}
    assert {"ca-root-cert.pem", "ca-signing-cert.pem", "ca-chain.pem", "server-cert.pem", "server-key.pem",
            "client-cert.pem", "client-key.pem", "ca-root-key.pem", "ca-signing-key.pem"} <= names
    server = x509.load_pem_x509_certificate((target / "server-cert.pem").read_bytes())
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["example.test"]
    client = x509.load_pem_x509_certificate((target / "client-cert.pem").read_bytes())
    assert client.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == "Alice"
    before = (target / "client-cert.pem").read_bytes()
    assert main(["certs", str(target)]) == 1
    assert "--force" in capsys.readouterr().err
    assert (target / "client-cert.pem").read_bytes() == before
    assert main(["certs", str(target), "--force"]) == 0
    assert (target / "client-cert.pem").read_bytes() != before


def test_certs_rejects_bad_days(tmp_path, capsys):
    """A non-positive validity is refused on one line with exit 1, and nothing is written."""
    assert main(["certs", str(tmp_path / "x"), "--days", "0"]) == 1
    assert "--days must be positive" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_python_m_springpython_is_the_command():
    """`python -m springpython --version` runs the same command."""
    result = subprocess.run([sys.executable, "-m", "springpython", "--version"], env=python_env(),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("springpython ")


def test_run_hosts_the_pyro_sample_until_ctrl_c(tmp_path):
    """`springpython run server.xml` serves the Pyro sample to its client in another process; Ctrl-C exits 0 and frees the port."""
    import socket

    from support import ROOT, free_port

    port = free_port()
    for name in ("server.xml", "server.py", "client.xml", "client.py"):
        text = (ROOT / "samples" / "pyro" / name).read_text()
        (tmp_path / name).write_text(text.replace("7000", str(port)))
    server = subprocess.Popen([sys.executable, "-m", "springpython", "run", "server.xml"], cwd=tmp_path,
                              env=python_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = server.stdout.readline()
        assert first == f"exported service_exporter: PYRO:ServiceName@127.0.0.1:{port}\n", (
            first + (server.stderr.read() if server.poll() is not None else ""))
        client = subprocess.run([sys.executable, "client.py"], cwd=tmp_path, env=python_env(),
                                capture_output=True, text=True, timeout=60)
        assert client.returncode == 0, client.stderr
        assert "CLIENT: You got remote data => Hello" in client.stdout
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
    assert server.returncode == 0, err
    assert out.strip().endswith("stopped")
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_sample_certs_are_a_valid_long_lived_chain():
    """samples/certs holds the chapter's PKI: server and client certificates chain to the sample root, for years."""
    import datetime
    import ssl

    from cryptography import x509
    from support import ROOT

    certs = ROOT / "samples" / "certs"
    context = ssl.create_default_context(cafile=str(certs / "ca-chain.pem"))
    context.load_cert_chain(str(certs / "client-cert.pem"), str(certs / "client-key.pem"))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(certs / "ca-chain.pem"))
    server.load_cert_chain(str(certs / "server-cert.pem"), str(certs / "server-key.pem"))
    server.verify_mode = ssl.CERT_REQUIRED
    _handshake_in_memory(context, server, "localhost")
    for name in ("server-cert.pem", "client-cert.pem", "ca-signing-cert.pem", "ca-root-cert.pem"):
        cert = x509.load_pem_x509_certificate((certs / name).read_bytes())
        assert cert.not_valid_after_utc > datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=3650), name
    client = x509.load_pem_x509_certificate((certs / "client-cert.pem").read_bytes())
    subject = {a.oid._name: a.value for a in client.subject}
    assert subject == {"commonName": "My Client", "organizationName": "My Company", "stateOrProvinceName": "My State"}


def _handshake_in_memory(client_ctx, server_ctx, hostname):
    """A full TLS handshake between two contexts over memory buffers: both sides verify."""
    import ssl

    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname=hostname)
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    done = {"client": False, "server": False}
    for _ in range(20):
        for name, side in (("client", client), ("server", server)):
            if not done[name]:
                try:
                    side.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if all(done.values()):
            break
    assert all(done.values())
    assert server.getpeercert()["subject"]



def test_run_rejects_bad_python_config(capsys):
    """--python-config that is malformed, unknown or not a PythonConfig is one error line and exit 1."""
    assert main(["run", "--python-config", "no_colon"]) == 1
    assert "expected MODULE:CLASS" in capsys.readouterr().err
    assert main(["run", "--python-config", "nosuchmodule:Config"]) == 1
    assert "No module named 'nosuchmodule'" in capsys.readouterr().err
    assert main(["run", "--python-config", "collections:OrderedDict"]) == 1
    assert "is not a PythonConfig subclass" in capsys.readouterr().err


def test_run_needs_something_to_run(capsys):
    """`run` with neither files nor --python-config says so and exits 1."""
    assert main(["run"]) == 1
    assert "nothing to run" in capsys.readouterr().err


def test_run_with_python_config(tmp_path):
    """`run --python-config module:Class` hosts the exporters a PythonConfig defines."""
    (tmp_path / "democonfig.py").write_text(
        "from springpython.config import PythonConfig, Object\n"
        "from springpython.remoting.xmlrpc import XMLRPCServiceExporter\n"
        "class Echo:\n"
        "    def echo(self, v):\n"
        "        return v\n"
        "class Config(PythonConfig):\n"
        "    @Object\n"
        "    def exporter(self):\n"
        "        return XMLRPCServiceExporter(service=Echo(), service_host='127.0.0.1', service_port=0)\n"
    )
    proc = subprocess.Popen([sys.executable, "-m", "springpython", "run", "--python-config", "democonfig:Config"],
                            cwd=tmp_path, env=python_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("exported exporter: http://127.0.0.1:"), line + (proc.stderr.read() if proc.poll() is not None else "")
        import xmlrpc.client

        with xmlrpc.client.ServerProxy(line.split(": ", 1)[1].strip()) as client:
            assert client.echo("hi") == "hi"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err


def test_validate_reports_misspelt_property_of_declaring_class(tmp_path, capsys):
    """validate fails on a property a DeclaredProperties class does not declare, with a suggestion."""
    (tmp_path / "cli_beans.py").write_text(
        "from springpython.context import DeclaredProperties\n\n\n"
        "class Bean(DeclaredProperties):\n    service_port: int = 7000\n"
    )
    path = write(tmp_path / "app.xml", '<object id="bean" class="cli_beans.Bean">\n'
                                       '  <property name="serivce_port" value="7101"/></object>')
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:4: object 'bean': Bean has no property 'serivce_port'; did you mean 'service_port'?" in err


def test_validate_warns_about_overriding_and_strict_refuses_it(tmp_path, capsys):
    """An id defined in two files is a warning naming both places (exit 0); with --strict a problem (exit 1)."""
    one = write(tmp_path / "one.xml", '<object id="d" class="collections.OrderedDict"/>')
    two = write(tmp_path / "two.xml", '<object id="d" class="collections.OrderedDict"/>')
    assert main(["validate", str(one), str(two)]) == 0
    out, err = capsys.readouterr()
    assert f"warning: {two}:3: object 'd': defined again: this definition replaces the one at {one}:3" in err
    assert out.strip().endswith("OK (1 warning(s))")
    assert main(["validate", "--strict", str(one), str(two)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [f"{two}:3: object 'd': defined again: this definition replaces the one at {one}:3",
                   "1 problem(s) found"]


def test_validate_warns_about_property_a_plain_class_never_has(tmp_path, capsys):
    """validate warns about a plain class's property that no method of the class assigns."""
    path = write(tmp_path / "app.xml", '<object id="s" class="http.client.HTTPConnection">\n'
                                       '  <constructor-arg value="localhost"/>\n'
                                       '  <property name="timout" value="3"/>\n'
                                       '  <property name="timeout" value="3"/></object>')
    assert main(["validate", str(path)]) == 0
    err = capsys.readouterr().err
    assert err == (f"warning: {path}:5: object 's': property 'timout' is not an attribute of HTTPConnection "
                   "(set anyway; misspelt?)\n")
