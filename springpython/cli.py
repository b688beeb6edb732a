"""The ``springpython`` command: host contexts, validate them, draw their wiring,
write a sample PKI and run the demo.

Exit codes: 0 success, 1 failure, 2 usage. Errors go to stderr on one line, with
file:line where there is one. This is the only module that prints."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from . import __version__
from .errors import ConfigurationError, SpringPythonError

if TYPE_CHECKING:  # the commands import what they use when they run
    from .admin import AdminServer
    from .config import PythonConfig, XMLConfig

__all__ = ["main", "build_parser"]

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class CommandError(Exception):
    """A failure the command reports on one line and exits 1 for."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``springpython`` command (also used to document it)."""
    parser = argparse.ArgumentParser(
        prog="springpython",
        description="Host, check and draw springpython application contexts.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    noise = parser.add_mutually_exclusive_group()
    noise.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-v info, -vv debug)")
    noise.add_argument("-q", "--quiet", action="store_true", help="errors only")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = commands.add_parser("run", help="host the exporters of one or more contexts until SIGINT/SIGTERM",
                              description="Load the contexts, print one line per exported service, and "
                                          "serve until SIGINT or SIGTERM; then shut down cleanly and exit 0. "
                                          "Classes are imported from the current directory and from the "
                                          "directories of the context files as well.")
    run.add_argument("contexts", nargs="*", metavar="CONTEXT.xml", help="XML context files")
    run.add_argument("--python-config", action="append", default=[], metavar="MODULE:CLASS",
                     help="a PythonConfig subclass to load as well (repeatable)")
    run.add_argument("--workers", type=int, default=None, metavar="N",
                     help="serve the HTTP exporters under gunicorn with N worker processes, at the one "
                          "host:port they name (needs springpython[gunicorn])")
    run.add_argument("--admin", metavar="[HOST:]PORT",
                     help="serve a live status page at http://HOST:PORT/ and the call metrics in Prometheus "
                          "text format at /metrics (host 127.0.0.1 unless given; needs the 'admin' extra; "
                          "not with --workers)")
    run.add_argument("--admin-certfile", metavar="FILE", help="serve the admin address over HTTPS with this "
                                                              "certificate (needed on a non-loopback host)")
    run.add_argument("--admin-keyfile", metavar="FILE", help="the key of --admin-certfile")
    run.add_argument("--admin-ca-certs", metavar="FILE",
                     help="require admin clients to present a certificate signed by these CAs")
    run.add_argument("--admin-verify-field", action="append", default=[], metavar="NAME=VALUE",
                     help="a subject field the admin client's certificate must have (repeatable)")
    run.add_argument("--admin-plain-http", action="store_true",
                     help="allow plain HTTP for --admin on a non-loopback host (anyone who can reach it "
                          "sees the status page and metrics)")
    run.set_defaults(handler=_run)

    validate = commands.add_parser("validate", help="check contexts without creating anything",
                                   description="Validate against the schema and check every class, reference, "
                                               "cycle and property name; list every problem found. Warnings "
                                               "(an id defined in two files, a property a plain class may not "
                                               "have) fail the check only in strict mode.")
    validate.add_argument("contexts", nargs="+", metavar="FILE.xml")
    validate.add_argument("--strict", action="store_true",
                          help="count warnings as problems (refuses an id defined twice, as "
                               "ApplicationContext(..., allow_overriding=False) does)")
    validate.set_defaults(handler=_validate)

    certs = commands.add_parser("certs", help="write a sample PKI (for trying TLS out, never for production)",
                                description="Write a sample root CA, signing CA, chain, and server and client "
                                            "keys and certificates into DIR.")
    certs.add_argument("directory", metavar="DIR")
    certs.add_argument("--host", action="append", dest="hosts", metavar="NAME",
                       help="a host name or IP address for the server certificate (repeatable; "
                            "default: localhost and 127.0.0.1)")
    certs.add_argument("--common-name", default="My Client", help="client certificate commonName")
    certs.add_argument("--organization", default="My Company", help="client certificate organizationName")
    certs.add_argument("--state", default="My State", help="client certificate stateOrProvinceName")
    certs.add_argument("--days", type=int, default=None, help="validity in days")
    certs.add_argument("--force", action="store_true", help="overwrite existing files")
    certs.set_defaults(handler=_certs)

    graph = commands.add_parser("graph", help="print the object wiring as Graphviz DOT",
                                description="Print the objects, their classes and references as Graphviz "
                                            "DOT; exporters and proxies are marked with their URLs.")
    graph.add_argument("contexts", nargs="+", metavar="FILE.xml")
    graph.add_argument("--format", choices=("dot", "svg"), default="dot", help="dot (default) or svg via Graphviz")
    graph.set_defaults(handler=_graph)

    describe = commands.add_parser("describe", help="print what the exporter at a URL offers",
                                   description="Ask the exporter at URL for its public methods, their "
                                               "signatures and docstrings: PYRO:, PYROLOC://, PYRONAME: and "
                                               "PYROMETA: URLs through the describe call (Pyro5, then Pyro4), "
                                               "http(s):// URLs (Hessian or XML-RPC) through their API page; "
                                               "etcd://host:port/Name (etcds:// for TLS) lists the endpoints "
                                               "registered under Name.")
    describe.add_argument("url", metavar="URL")
    describe.add_argument("--prefix", default=None,
                          help="the registry's key prefix, for etcd:// URLs (default /springpython/services/)")
    describe.add_argument("--json", action="store_true", help="print the description as JSON")
    describe.add_argument("--timeout", type=float, default=10.0, help="seconds to wait (default 10)")
    describe.add_argument("--ca-certs", metavar="FILE", help="CA certificates the server's certificate must chain to")
    describe.add_argument("--certfile", metavar="FILE", help="client certificate, for servers that require one")
    describe.add_argument("--keyfile", metavar="FILE", help="the client certificate's key")
    describe.add_argument("--engine", choices=("auto", "pyro5", "pyro4"), default="auto",
                          help="the Pyro protocol of a Pyro URL (default: Pyro5, then Pyro4)")
    describe.set_defaults(handler=_describe)

    demo = commands.add_parser("demo", help="export a service over every transport and call it through proxies",
                               description="Start exporters on 127.0.0.1 for every transport, call each through "
                                           "a configured proxy, print the answers and timings, shut down.")
    demo.set_defaults(handler=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.ERROR if args.quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(args.verbose, 2)]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("springpython")
    root.addHandler(handler)
    root.setLevel(level)
    try:
        code: int = args.handler(args)
        return code
    except (CommandError, SpringPythonError, OSError) as exc:
        print(f"springpython {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_FAILURE
    finally:
        root.removeHandler(handler)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _xml_configs(paths: Sequence[str]) -> list[XMLConfig]:
    from .config import XMLConfig

    missing = [p for p in paths if not Path(p).is_file()]
    if missing:
        raise CommandError(f"no such file: {', '.join(missing)}")
    _importable(paths)
    return [XMLConfig(p) for p in paths]


def _importable(paths: Sequence[str]) -> None:
    """Let contexts name classes from the current directory and from their own
    directories (``class="server.Service"`` beside ``server.xml``), as running a
    script from there would."""
    for folder in [os.getcwd(), *(str(Path(p).resolve().parent) for p in paths)]:
        if folder not in sys.path:
            sys.path.insert(0, folder)


def _python_configs(specs: Sequence[str]) -> list[PythonConfig]:
    from .config import PythonConfig

    configs = []
    for spec in specs:
        module_name, _, class_name = spec.partition(":")
        if not module_name or not class_name:
            raise CommandError(f"--python-config {spec!r}: expected MODULE:CLASS")
        _importable([])
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError) as exc:
            raise CommandError(f"--python-config {spec!r}: {exc}") from exc
        if not (isinstance(cls, type) and issubclass(cls, PythonConfig)):
            raise CommandError(f"--python-config {spec!r}: {cls!r} is not a PythonConfig subclass")
        configs.append(cls())
    return configs


# -- run --------------------------------------------------------------------------
def _run(args: argparse.Namespace) -> int:
    from .context import ApplicationContext
    from .remoting.exporter import ServiceExporter

    configs = _xml_configs(args.contexts) + _python_configs(args.python_config)
    if not configs:
        raise CommandError("nothing to run: give CONTEXT.xml files or --python-config")
    if args.workers is not None:
        if args.admin:
            raise CommandError("--admin does not work with --workers yet (each worker process has its own metrics)")
        return _run_workers(configs, args.workers)
    admin = _admin(args) if args.admin else None
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        context = ApplicationContext(configs)
        try:
            exporters = context.get_objects_by_type(ServiceExporter)
            for name, exporter in exporters.items():
                print(f"exported {name}: {exporter.service_url}", flush=True)
                if exporter.registration is not None:
                    record = exporter.registration
                    print(f"registered {name}: {record.service_name} ({record.transport}) in etcd at "
                          f"{getattr(exporter.registry, 'location', '?')} as {record.key}", flush=True)
            if admin is not None:
                from .remoting.ha import HighAvailabilityProxyFactory

                admin.show(exporters, context.get_objects_by_type(HighAvailabilityProxyFactory))
                print(f"admin: {admin.url}metrics", flush=True)
                print(f"status: {admin.url}", flush=True)
            print(f"serving {len(exporters)} service(s); stop with Ctrl-C or SIGTERM", flush=True)
            stop.wait()
        finally:
            context.shutdown()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if admin is not None:
            admin.close()
    print("stopped", flush=True)
    return EXIT_OK


def _run_workers(configs: Sequence[Any], workers: int) -> int:
    from .hosting._gunicorn import serve

    if workers < 1:
        raise CommandError(f"--workers must be at least 1, got {workers}")

    def ready(urls: list[str]) -> None:
        print(f"serving under gunicorn with {workers} worker(s) at {', '.join(urls)}; "
              "stop with Ctrl-C or SIGTERM", flush=True)

    code = serve(configs, workers, on_ready=ready)
    print("stopped", flush=True)
    return code


def _admin(args: argparse.Namespace) -> "AdminServer":
    """The admin server at ``--admin``, with the call metrics installed (before the
    context starts, so that every call is counted)."""
    from .admin import AdminServer, MetricsRegistry, check_exposure, parse_address
    from .remoting.tls import ServerTLS

    host, port = parse_address(args.admin)
    fields = {}
    for item in args.admin_verify_field:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise CommandError(f"--admin-verify-field must be NAME=VALUE, got {item!r}")
        fields[name] = value
    tls = ServerTLS.from_properties(certfile=args.admin_certfile, keyfile=args.admin_keyfile,
                                    ca_certs=args.admin_ca_certs, verify_fields=fields or None, owner="--admin")
    check_exposure(host, port, tls, args.admin_plain_http)  # before the meter provider is installed
    return AdminServer(host, port, MetricsRegistry.install(), tls=tls, allow_plain_http=args.admin_plain_http)


# -- validate -----------------------------------------------------------------------
def _validate(args: argparse.Namespace) -> int:
    from .context.container import validate_configs

    problems: list[str] = []
    warnings: list[str] = []
    configs = []
    for path in args.contexts:
        try:
            config = _xml_configs([path])[0]
            config.read_object_defs()
            configs.append(config)
        except (ConfigurationError, CommandError) as exc:
            problems.extend(_problem_lines(exc))
    if configs:
        report = validate_configs(configs)
        problems.extend(_one_line(p) for p in report.errors)
        warnings.extend(_one_line(w) for w in report.warnings)
    if args.strict:
        problems.extend(warnings)
        warnings = []
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return EXIT_FAILURE
    note = f" ({len(warnings)} warning(s))" if warnings else ""
    print(f"{', '.join(args.contexts)}: OK{note}")
    return EXIT_OK


def _problem_lines(exc: BaseException) -> list[str]:
    nested = getattr(exc, "problems", None)
    if nested:
        return [_one_line(p) for p in nested]
    return [_one_line(exc)]


# -- certs -----------------------------------------------------------------------------
def _certs(args: argparse.Namespace) -> int:
    from .pki import write_sample_pki

    options: dict[str, Any] = {
        "client_subject": {
            "commonName": args.common_name,
            "organizationName": args.organization,
            "stateOrProvinceName": args.state,
        },
        "overwrite": args.force,
    }
    if args.hosts:
        options["hosts"] = tuple(args.hosts)
    if args.days is not None:
        if args.days <= 0:
            raise CommandError(f"--days must be positive, got {args.days}")
        options["days"] = args.days
    try:
        pki = write_sample_pki(Path(args.directory), **options)
    except FileExistsError as exc:
        raise CommandError(f"{exc} (use --force to overwrite)") from exc
    print(f"wrote the sample PKI to {pki.directory} (sample keys: never use them to protect anything)")
    return EXIT_OK


# -- graph ---------------------------------------------------------------------------------
def _graph(args: argparse.Namespace) -> int:
    from .graph import to_dot

    configs = _xml_configs(args.contexts)
    dot = to_dot(configs)
    if args.format == "dot":
        sys.stdout.write(dot)
        return EXIT_OK
    tool = shutil.which("dot")
    if tool is None:
        raise CommandError(
            "--format svg needs Graphviz's 'dot' program: install it (Debian/Ubuntu: apt-get install graphviz; "
            "macOS: brew install graphviz) or use --format dot"
        )
    result = subprocess.run([tool, "-Tsvg"], input=dot.encode(), capture_output=True, check=False)
    if result.returncode != 0:
        raise CommandError(f"dot failed: {result.stderr.decode(errors='replace').strip()}")
    sys.stdout.buffer.write(result.stdout)
    return EXIT_OK


# -- describe -----------------------------------------------------------------------------
def _describe(args: argparse.Namespace) -> int:
    from .remoting.api_client import DescribeOptions, describe_url
    from .remoting.api_description import render_json, render_text

    if args.url.partition(":")[0].lower() in ("etcd", "etcds"):
        return _describe_registrations(args)
    options = DescribeOptions(timeout=args.timeout, ca_certs=args.ca_certs, certfile=args.certfile,
                              keyfile=args.keyfile, engine=args.engine)
    try:
        description = describe_url(args.url, options)
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    if args.json:
        sys.stdout.write(render_json(description).decode("utf-8") + "\n")
    else:
        sys.stdout.write(render_text(description, title=args.url))
    return EXIT_OK


def _describe_registrations(args: argparse.Namespace) -> int:
    """``describe etcd://host:port/Name``: the endpoints registered under Name, one a line."""
    import json

    from .remoting.discovery import DEFAULT_PREFIX, lookup_endpoints

    try:
        prefix = DEFAULT_PREFIX if args.prefix is None else args.prefix
        found = lookup_endpoints(args.url, prefix=prefix, timeout=args.timeout,
                                 ca_certs=args.ca_certs, certfile=args.certfile, keyfile=args.keyfile)
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    if args.json:
        rows = [{"url": r.url, "transport": r.transport, "metadata": dict(r.metadata)} for r in found]
        sys.stdout.write(json.dumps(rows, indent=2, sort_keys=True) + "\n")
        return EXIT_OK
    sys.stdout.write(f"{args.url}: {len(found)} endpoint{'' if len(found) == 1 else 's'} registered\n")
    for record in found:
        extra = f"  {json.dumps(dict(record.metadata), sort_keys=True)}" if record.metadata else ""
        sys.stdout.write(f"  {record.transport:<8} {record.url}{extra}\n")
    return EXIT_OK


# -- demo --------------------------------------------------------------------------------------
def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    ok = True
    for line, success in run_demo():
        print(line, flush=True)
        ok = ok and success
    return EXIT_OK if ok else EXIT_FAILURE
