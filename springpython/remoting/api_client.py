"""Ask a running exporter what it offers: :func:`describe_url` takes any
transport's URL and returns the service's :class:`~.api_description.ServiceDescription`.

How each URL is asked, one entry per scheme in :data:`SCHEMES` (a new scheme, such
as a registry look-up that resolves to one of these URLs, is one more entry):

* ``http://`` and ``https://``: a ``GET`` of the URL with ``Accept:
  application/json``, which Hessian and XML-RPC exporters answer alike, so the
  command need not know which of the two serves there.
* ``PYRO:``, ``PYROLOC://``, ``PYRONAME:``, ``PYROMETA:``: the describe call
  (:data:`~.api_description.DESCRIBE_METHOD`) through a Pyro proxy factory. Pyro5
  and Pyro4 speak different protocols on the same URLs: with ``engine="auto"``
  Pyro5 is tried first and Pyro4 (when installed) if the daemon did not answer
  Pyro5's handshake.

A scheme that names a registry rather than a service is one line that resolves
and describes one of its endpoints, for instance::

    SCHEMES["etcd"] = lambda url, options: describe_url(lookup_endpoints(url)[0], options)"""

from __future__ import annotations

import json
import logging
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable

from ..errors import ConnectFailedError, MissingDependencyError, NoSuchMethodError, ProtocolError, RemoteFault
from . import tls
from .api_description import DESCRIBE_METHOD, ServiceDescription

__all__ = ["DescribeOptions", "describe_url", "SCHEMES", "MAX_DESCRIPTION_BYTES"]

log = logging.getLogger(__name__)

#: The largest description read from an API page.
MAX_DESCRIPTION_BYTES = 8 * 1024 * 1024
ENGINES = ("auto", "pyro5", "pyro4")


@dataclass(frozen=True)
class DescribeOptions:
    """How to reach the service: ``timeout`` in seconds, TLS files for ``https://``
    and TLS Pyro5 (the server is checked against ``ca_certs``, the system's CAs
    without it), and the Pyro ``engine`` (``auto``, ``pyro5`` or ``pyro4``)."""

    timeout: float = 10.0
    ca_certs: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    engine: str = "auto"


Describer = Callable[[str, DescribeOptions], ServiceDescription]


def _description(data: Any, url: str) -> ServiceDescription:
    if not isinstance(data, dict):
        raise ProtocolError(f"{url}: the describe answer is not a service description: {type(data).__name__}")
    try:
        return ServiceDescription.from_dict(data)
    except ValueError as exc:
        raise ProtocolError(f"{url}: {exc}") from None


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is answered as the error it is: the description comes from the URL
    asked, never from where it points (an ``https`` URL must not end up on ``http``)."""

    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None


def _opener(context: ssl.SSLContext | None) -> urllib.request.OpenerDirector:
    """urllib without the environment's proxies and without redirects."""
    handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({}), _NoRedirects()]
    if context is not None:
        handlers.append(urllib.request.HTTPSHandler(context=context))
    return urllib.request.build_opener(*handlers)


def _describe_http(url: str, options: DescribeOptions) -> ServiceDescription:
    context: ssl.SSLContext | None = None
    if url.lower().startswith("https:"):
        context = tls.client_context(options.ca_certs, options.certfile, options.keyfile)
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "springpython"})
    try:
        with _opener(context).open(request, timeout=options.timeout) as reply:
            kind = reply.headers.get("Content-Type", "")
            body = reply.read(MAX_DESCRIPTION_BYTES + 1)
    except urllib.error.HTTPError as exc:
        exc.close()
        raise RemoteFault(f"{url} has no API page: HTTP {exc.code} {exc.reason}", code=exc.code) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ConnectFailedError(f"cannot reach {url}: {reason}") from exc
    if not kind.startswith("application/json") or len(body) > MAX_DESCRIPTION_BYTES:
        raise ProtocolError(f"{url} answered {kind or 'no content type'}, not a JSON API description")
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise ProtocolError(f"{url}: the API description is not valid JSON: {exc}") from None
    return _description(data, url)


def _pyro_factory(engine: str) -> Any:
    if engine == "pyro4":
        from .pyro import Pyro4ProxyFactory

        return Pyro4ProxyFactory
    from .pyro import Pyro5ProxyFactory

    return Pyro5ProxyFactory


def _call_pyro(engine: str, url: str, options: DescribeOptions) -> ServiceDescription:
    tls_files = {k: v for k, v in (("ca_certs", options.ca_certs), ("certfile", options.certfile),
                                   ("keyfile", options.keyfile)) if v}
    factory = _pyro_factory(engine)(service_url=url, timeout=options.timeout, reconnect=False, **tls_files)
    try:
        factory.after_properties_set()
        data = getattr(factory, DESCRIBE_METHOD)()
    except NoSuchMethodError:
        raise RemoteFault(f"{url} answers no describe call (not a springpython exporter?)") from None
    finally:
        factory.destroy()
    return _description(data, url)


def _describe_pyro(url: str, options: DescribeOptions) -> ServiceDescription:
    if options.engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {options.engine!r}")
    if options.engine != "auto":
        return _call_pyro(options.engine, url, options)
    try:
        return _call_pyro("pyro5", url, options)
    except ConnectFailedError as pyro5_failure:
        try:
            return _call_pyro("pyro4", url, options)
        except (ConnectFailedError, MissingDependencyError):
            log.debug("Pyro4 did not answer at %s either", url, exc_info=True)
            raise pyro5_failure from None


#: How each URL scheme (lower case, without ``:`` or ``//``) is described.
SCHEMES: dict[str, Describer] = {
    "http": _describe_http,
    "https": _describe_http,
    "pyro": _describe_pyro,
    "pyroloc": _describe_pyro,
    "pyroname": _describe_pyro,
    "pyrometa": _describe_pyro,
}


def describe_url(url: str, options: DescribeOptions | None = None) -> ServiceDescription:
    """What the exporter at ``url`` offers, asked over its own transport.

    Raises ``ValueError`` for a URL of no known scheme, and the remoting errors
    (:class:`~springpython.errors.ConnectFailedError`, ``ProtocolError``,
    ``RemoteFault``) when the service cannot be reached or does not answer."""
    scheme = url.partition(":")[0].lower()
    describer = SCHEMES.get(scheme)
    if describer is None:
        raise ValueError(f"cannot describe {url!r}: the scheme must be one of {', '.join(sorted(SCHEMES))}")
    return describer(url, options or DescribeOptions())
