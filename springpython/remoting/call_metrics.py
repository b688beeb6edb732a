"""OpenTelemetry metrics of remote calls: one duration histogram per side, after the
RPC semantic conventions' ``rpc.client.duration`` and ``rpc.server.duration``
(milliseconds), recorded by :mod:`springpython.remoting.tracing`'s call records.

Each point carries ``rpc.system``, ``rpc.service`` and ``rpc.method``, and
``error.type`` when the call raised (the same type name the span gets). So per
service and method the histogram's count is the number of calls, the count of
points with an ``error.type`` the errors by exception type, and its buckets the
latency; a Prometheus exporter shows them as
``rpc_server_duration_milliseconds_count{rpc_method="add",error_type="builtins.KeyError",…}``.

Only ``opentelemetry-api`` is needed: until the application installs a meter
provider, :func:`active` is false and nothing is measured. Private name used, as
in :mod:`~springpython.remoting.tracing` and for the same reason (a check of 0.05 µs
instead of 0.65 µs per call): ``opentelemetry.metrics._internal._METER_PROVIDER``,
with ``metrics.get_meter_provider()`` as the fallback."""

from __future__ import annotations

import time
from typing import Any

from opentelemetry import metrics
from opentelemetry.metrics import NoOpMeterProvider

from .. import __version__

__all__ = ["active", "CLIENT_DURATION", "SERVER_DURATION", "record"]

_METER = metrics.get_meter("springpython", __version__)

#: Duration of proxy calls (``rpc.client.duration``, ms).
CLIENT_DURATION = _METER.create_histogram(
    "rpc.client.duration", unit="ms", description="Duration of outbound remote calls, by service and method"
)
#: Duration of served calls (``rpc.server.duration``, ms).
SERVER_DURATION = _METER.create_histogram(
    "rpc.server.duration", unit="ms", description="Duration of served remote calls, by service and method"
)


def _provider_global() -> Any:
    from opentelemetry.metrics import _internal

    return _internal


_GLOBALS = _provider_global()


def _active_by_global() -> bool:
    provider = _GLOBALS._METER_PROVIDER  # see the module docstring
    return provider is not None and not isinstance(provider, NoOpMeterProvider)


def _active_by_api() -> bool:
    provider = metrics.get_meter_provider()
    return not isinstance(provider, NoOpMeterProvider) and type(provider).__name__ != "_ProxyMeterProvider"


#: Whether a meter provider is installed (otherwise every measurement would be dropped).
active = _active_by_global if hasattr(_GLOBALS, "_METER_PROVIDER") else _active_by_api


def record(histogram: Any, started: float, attributes: dict[str, Any], error_type: str | None) -> None:
    """Record one call that began at ``started`` (``time.perf_counter()``)."""
    elapsed_ms = (time.perf_counter() - started) * 1000.0
    if error_type is not None:
        attributes = {**attributes, "error.type": error_type}
    histogram.record(elapsed_ms, attributes)
