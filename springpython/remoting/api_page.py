"""The API page of an HTTP exporter: what its endpoint answers to a request that is
not a call (calls are POSTs). ``GET`` (and ``HEAD``) on the exporter's path gets
the service's description (:mod:`.api_description`) as HTML, or as JSON when the
``Accept`` header prefers ``application/json``; any other method gets 405.

The endpoint renders both forms once, when it is built; a request costs a look at
its ``Accept`` header. The query string is ignored. Only the first
:data:`MAX_ACCEPT_ITEMS` media ranges of an ``Accept`` header are read, so a huge
one costs no more than a short one."""

from __future__ import annotations

from .api_description import ServiceDescription, render_html, render_json
from .http import Request, Response

__all__ = ["APIPage", "prefers_json", "MAX_ACCEPT_ITEMS"]

MAX_ACCEPT_ITEMS = 32
_HTML = "text/html; charset=utf-8"
_JSON = "application/json"


def _quality(params: list[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                q = float(value.strip())
            except ValueError:
                return 0.0
            return q if 0.0 <= q <= 1.0 else 0.0
    return 1.0


def prefers_json(accept: str | None) -> bool:
    """Whether an ``Accept`` header ranks ``application/json`` above ``text/html``
    (an exact type beats a wildcard at the same quality; no header: HTML)."""
    if not accept:
        return False
    best = {"json": (0.0, 0), "html": (0.0, 0)}  # (quality, specificity)
    for item in accept.split(",", MAX_ACCEPT_ITEMS)[:MAX_ACCEPT_ITEMS]:
        media, *params = item.split(";")
        media = media.strip().lower()
        q = _quality(params)
        for key, exact, family in (("json", "application/json", "application/*"), ("html", "text/html", "text/*")):
            specificity = 3 if media == exact else 2 if media == family else 1 if media == "*/*" else 0
            if specificity and (specificity > best[key][1]):
                best[key] = (q, specificity)
    return best["json"][0] > 0 and best["json"] > best["html"]


class APIPage:
    """The page of one exporter, rendered once: :meth:`answer` turns a non-call request
    into its response. ``transport`` names the protocol on the page."""

    __slots__ = ("description", "_html", "_json", "_calls")

    def __init__(self, description: ServiceDescription, transport: str) -> None:
        self.description = description
        self._html = render_html(description, transport=f"{transport} service").encode("utf-8")
        self._json = render_json(description)
        self._calls = transport

    def answer(self, request: Request) -> Response:
        """The page for ``GET``/``HEAD``; 405 naming the allowed methods otherwise."""
        if request.method not in ("GET", "HEAD"):
            return Response(405, f"{self._calls} calls are HTTP POST requests; GET shows the API page\n".encode(),
                            headers=[("Allow", "GET, HEAD, POST")])
        vary = [("Vary", "Accept")]
        if prefers_json(request.header("accept")):
            return Response(200, self._json, _JSON, headers=vary)
        return Response(200, self._html, _HTML, headers=vary)
