"""The live status page of ``springpython run --admin``, as data and as text: the
context's exporters, the calls per method (from the call metrics), and the
high-availability pools with each endpoint's state.

Rules of this file: no sockets and no threads (:mod:`springpython.admin` serves
it). The per-method figures are read from the samples of the same Prometheus
registry that ``/metrics`` shows (:func:`method_stats`), so there is one counting
path. The page is server-rendered HTML with one small inline script that polls
:data:`JSON_PATH` every :data:`POLL_SECONDS` and redraws the tables and a chart of
calls per second and mean latency; no external resource, so it works without
internet. Strings from the context go into the HTML escaped, and into the page by
the script only as ``textContent``; the script and style are allowed by their
hashes in :data:`CONTENT_SECURITY_POLICY`, nothing else."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Mapping

__all__ = [
    "ExporterStatus",
    "MethodStats",
    "EndpointStatus",
    "PoolStatus",
    "Status",
    "exporter_status",
    "pool_status",
    "method_stats",
    "render_html",
    "render_json",
    "CONTENT_SECURITY_POLICY",
    "JSON_PATH",
    "POLL_SECONDS",
]

JSON_PATH = "/status.json"
POLL_SECONDS = 2.0

#: Exporter classes by the transport they speak (the first match in a class's MRO).
_TRANSPORTS = {
    "Pyro5ServiceExporter": "Pyro5",
    "Pyro4ServiceExporter": "Pyro4",
    "HessianServiceExporter": "Hessian",
    "XMLRPCServiceExporter": "XML-RPC",
}
_SIDES = {"rpc_server_duration_milliseconds": "server", "rpc_client_duration_milliseconds": "client"}


@dataclass(frozen=True, slots=True)
class ExporterStatus:
    """One exporter of the context: its id, transport, URL and whether it serves TLS."""

    name: str
    transport: str
    url: str
    tls: bool
    exported: bool


@dataclass(slots=True)
class MethodStats:
    """Calls of one method on one side (``server``: served, ``client``: made through a
    proxy) since the process started; ``total_ms`` is their summed duration."""

    side: str
    system: str
    service: str
    method: str
    calls: int = 0
    errors: int = 0
    total_ms: float = 0.0
    error_types: dict[str, int] = field(default_factory=dict)

    @property
    def mean_ms(self) -> float:
        return self.total_ms / self.calls if self.calls else 0.0


@dataclass(frozen=True, slots=True)
class EndpointStatus:
    """One endpoint of a pool (from :class:`~springpython.remoting.ha.EndpointState`);
    ``down_for`` in seconds while it is down."""

    name: str
    up: bool
    attempts: int
    failures: int
    last_error: str | None
    down_for: float | None
    discovered: bool


@dataclass(frozen=True, slots=True)
class PoolStatus:
    """A :class:`~springpython.remoting.ha.HighAvailabilityProxyFactory` of the context."""

    name: str
    endpoints: tuple[EndpointStatus, ...]


@dataclass(frozen=True, slots=True)
class Status:
    """Everything the page shows at one moment."""

    exporters: tuple[ExporterStatus, ...]
    methods: tuple[MethodStats, ...]
    pools: tuple[PoolStatus, ...]
    time: float

    def to_dict(self) -> dict[str, Any]:
        methods = []
        for m in self.methods:
            entry = asdict(m)
            entry["mean_ms"] = round(m.mean_ms, 3)
            methods.append(entry)
        return {
            "exporters": [asdict(e) for e in self.exporters],
            "methods": methods,
            "pools": [{"name": p.name, "endpoints": [asdict(e) for e in p.endpoints]} for p in self.pools],
            "time": self.time,
        }


def transport_of(exporter: Any) -> str:
    """The transport an exporter speaks, from its class (its class name when unknown)."""
    for cls in type(exporter).__mro__:
        if cls.__name__ in _TRANSPORTS:
            return _TRANSPORTS[cls.__name__]
    return type(exporter).__name__


def exporter_status(name: str, exporter: Any) -> ExporterStatus:
    """The row of one exporter (any :class:`~springpython.remoting.exporter.ServiceExporter`)."""
    try:
        url = str(exporter.service_url)
    except Exception:  # an incomplete configuration still gets its row
        url = f"{getattr(exporter, 'service_host', '?')}:{getattr(exporter, 'service_port', '?')}"
    return ExporterStatus(name, transport_of(exporter), url, bool(getattr(exporter, "certfile", None)),
                          bool(getattr(exporter, "exported", False)))


def pool_status(name: str, states: Iterable[Any], now: float | None = None) -> PoolStatus:
    """The row of one pool from its ``endpoint_states()``."""
    now = time.monotonic() if now is None else now
    return PoolStatus(name, tuple(
        EndpointStatus(s.name, bool(s.up), int(s.attempts), int(s.failures), s.last_error,
                       None if s.down_since is None else max(0.0, now - s.down_since), bool(s.discovered))
        for s in states
    ))


def method_stats(samples: Iterable[tuple[str, Mapping[str, str], float]]) -> tuple[MethodStats, ...]:
    """Per side, service and method, from the ``rpc.*.duration`` histograms' Prometheus
    samples ``(name, labels, value)``: the ``_count`` samples give calls (and errors,
    those with an ``error_type``), the ``_sum`` samples the total duration."""
    stats: dict[tuple[str, str, str, str], MethodStats] = {}
    for name, labels, value in samples:
        base, _, suffix = name.rpartition("_")
        side = _SIDES.get(base)
        if side is None or suffix not in ("count", "sum"):
            continue
        key = (side, labels.get("rpc_system", ""), labels.get("rpc_service", ""), labels.get("rpc_method", ""))
        entry = stats.get(key)
        if entry is None:
            entry = stats[key] = MethodStats(*key)
        error = labels.get("error_type") or None
        if suffix == "sum":
            entry.total_ms += value
            continue
        count = int(value)
        entry.calls += count
        if error is not None:
            entry.errors += count
            entry.error_types[error] = entry.error_types.get(error, 0) + count
    return tuple(sorted(stats.values(), key=lambda m: (m.side != "server", m.system, m.service, m.method)))


def render_json(status: Status) -> bytes:
    return json.dumps(status.to_dict(), sort_keys=True).encode("utf-8")


_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;max-width:72em}
h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.1em;margin:1.4em 0 .4em}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.25em .6em;border-bottom:1px solid #ddd}
th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
.up{color:#17702c;font-weight:bold}.down{color:#b00020;font-weight:bold}.muted{color:#777}
canvas{border:1px solid #ddd;width:100%;height:160px}
.legend span{display:inline-block;margin-right:1.5em}.legend i{display:inline-block;width:1em;height:.3em;
vertical-align:middle;margin-right:.3em}.rate-key{background:#1f5fbf}.latency-key{background:#d9822b}
""".strip()

_SCRIPT = r"""
(function () {
  "use strict";
  var POLL = %(poll_ms)d, KEEP = 60, history = [], last = null;
  function cell(row, text, cls) { var td = document.createElement("td"); td.textContent = text;
    if (cls) { td.className = cls; } row.appendChild(td); return td; }
  function fill(id, rows, make) { var body = document.getElementById(id); if (!body) { return; }
    var note = document.getElementById(id + "-empty"); if (note) { note.hidden = rows.length > 0; }
    while (body.firstChild) { body.removeChild(body.firstChild); }
    rows.forEach(function (r) { var tr = document.createElement("tr"); make(tr, r); body.appendChild(tr); }); }
  function totals(s) { var c = 0, ms = 0; s.methods.forEach(function (m) {
    if (m.side === "server") { c += m.calls; ms += m.total_ms; } }); return {calls: c, ms: ms, t: s.time}; }
  function draw() { var cv = document.getElementById("chart"); if (!cv || !cv.getContext) { return; }
    var w = cv.width = cv.clientWidth || 600, h = cv.height = cv.clientHeight || 160, g = cv.getContext("2d");
    g.clearRect(0, 0, w, h);
    [["rate", "#1f5fbf"], ["latency", "#d9822b"]].forEach(function (spec) {
      var key = spec[0], top = 0; history.forEach(function (p) { top = Math.max(top, p[key]); });
      if (!history.length) { return; } top = top || 1; g.strokeStyle = spec[1]; g.lineWidth = 2; g.beginPath();
      history.forEach(function (p, i) { var x = w - (history.length - 1 - i) * (w / (KEEP - 1)),
        y = h - 4 - (p[key] / top) * (h - 8); if (i) { g.lineTo(x, y); } else { g.moveTo(x, y); } });
      g.stroke(); });
    var p = history[history.length - 1];
    document.getElementById("rate").textContent = p ? p.rate.toFixed(1) : "0";
    document.getElementById("latency").textContent = p ? p.latency.toFixed(2) : "0"; }
  function show(s) {
    fill("exporters-body", s.exporters, function (tr, e) { cell(tr, e.name); cell(tr, e.transport);
      cell(tr, e.url); cell(tr, e.tls ? "TLS" : "plain"); cell(tr, e.exported ? "serving" : "stopped"); });
    fill("methods-body", s.methods, function (tr, m) { cell(tr, m.side); cell(tr, m.system); cell(tr, m.service);
      cell(tr, m.method); cell(tr, String(m.calls), "n"); cell(tr, String(m.errors), "n");
      cell(tr, m.mean_ms.toFixed(3), "n");
      cell(tr, Object.keys(m.error_types).sort().map(function (k) { return k + " \u00d7" + m.error_types[k]; })
        .join(", "), "muted"); });
    fill("pools-body", [].concat.apply([], s.pools.map(function (p) {
      return p.endpoints.map(function (e) { return [p.name, e]; }); })), function (tr, pe) {
      var e = pe[1]; cell(tr, pe[0]); cell(tr, e.name); cell(tr, e.up ? "up" : "down", e.up ? "up" : "down");
      cell(tr, String(e.attempts), "n"); cell(tr, String(e.failures), "n"); cell(tr, e.last_error || "", "muted"); });
    var now = totals(s);
    if (last && now.t > last.t) { var dc = now.calls - last.calls, dt = now.t - last.t;
      history.push({rate: dc / dt, latency: dc > 0 ? (now.ms - last.ms) / dc : 0});
      if (history.length > KEEP) { history.shift(); } }
    last = now; draw();
    document.getElementById("updated").textContent = new Date(s.time * 1000).toLocaleTimeString();
    document.body.dataset.polls = String(Number(document.body.dataset.polls || 0) + 1); }
  function poll() { fetch("%(json_path)s", {cache: "no-store", headers: {"Accept": "application/json"}})
    .then(function (r) { return r.json(); }).then(show)
    .catch(function () { document.getElementById("updated").textContent = "not reachable"; })
    .then(function () { setTimeout(poll, POLL); }); }
  poll();
}());
""".strip() % {"poll_ms": int(POLL_SECONDS * 1000), "json_path": JSON_PATH}


def _digest(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


#: Only the page's own script and style run; it may fetch from its own address.
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; connect-src 'self'; script-src '{_digest(_SCRIPT)}'; style-src '{_digest(_STYLE)}'"
)


def _rows(rows: Iterable[Iterable[tuple[str, str | None]]]) -> str:
    out = []
    for row in rows:
        cells = "".join(f'<td class="{cls}">{html.escape(text)}</td>' if cls else f"<td>{html.escape(text)}</td>"
                        for text, cls in row)
        out.append(f"<tr>{cells}</tr>")
    return "".join(out)


def _table(title: str, body_id: str, headers: Iterable[str], rows: str, empty: str) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    hidden = " hidden" if rows else ""
    note = f'<p class="muted" id="{body_id}-empty"{hidden}>{html.escape(empty)}</p>'
    return f'<h2>{html.escape(title)}</h2><table><thead><tr>{head}</tr></thead><tbody id="{body_id}">{rows}</tbody></table>{note}'


def render_html(status: Status, title: str = "springpython") -> str:
    """The page as first served (complete without the script)."""
    exporters = _rows(((e.name, None), (e.transport, None), (e.url, None), ("TLS" if e.tls else "plain", None),
                       ("serving" if e.exported else "stopped", None)) for e in status.exporters)
    methods = _rows(((m.side, None), (m.system, None), (m.service, None), (m.method, None), (str(m.calls), "n"),
                     (str(m.errors), "n"), (f"{m.mean_ms:.3f}", "n"),
                     (", ".join(f"{k} \u00d7{v}" for k, v in sorted(m.error_types.items())), "muted"))
                    for m in status.methods)
    pools = _rows(((p.name, None), (e.name, None), ("up" if e.up else "down", "up" if e.up else "down"),
                   (str(e.attempts), "n"), (str(e.failures), "n"), (e.last_error or "", "muted"))
                  for p in status.pools for e in p.endpoints)
    updated = time.strftime("%H:%M:%S", time.localtime(status.time))
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)} status</title>",
        f"<style>{_STYLE}</style></head><body>",
        f'<h1>{html.escape(title)} status</h1><p class="muted">updated <span id="updated">{updated}</span>; '
        f'<a href="/metrics">metrics</a> · <a href="{JSON_PATH}">JSON</a></p>',
        _table("Exporters", "exporters-body", ("id", "transport", "URL", "TLS", "state"), exporters,
               "no exporters in this context"),
        "<h2>Served calls</h2>",
        '<p class="legend"><span><i class="rate-key"></i>calls/s <b id="rate">0</b></span>'
        '<span><i class="latency-key"></i>mean latency <b id="latency">0</b> ms</span></p>'
        '<canvas id="chart" width="600" height="160"></canvas>',
        _table("Calls per method", "methods-body",
               ("side", "system", "service", "method", "calls", "errors", "mean ms", "errors by type"), methods,
               "no calls yet"),
        _table("High-availability pools", "pools-body",
               ("pool", "endpoint", "state", "attempts", "failures", "last error"), pools,
               "no high-availability pools in this context"),
        f"<script>{_SCRIPT}</script>",
        "</body></html>",
    ])
