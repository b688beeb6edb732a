"""Discovery through etcd: exporters register their real URL under a kept-alive lease,
high-availability pools follow the registrations of a service name.

::

    registry = EtcdRegistry(endpoints="http://10.0.0.2:2379", ttl=10)
    PyroServiceExporter(service=quotes, service_name="Quotes", registry=registry)
    HighAvailabilityProxyFactory(registry=registry, service_name="Quotes", idempotent=True)

The client library is etcd3gw (``springpython[etcd]``), imported only when a registry
is first configured."""

from ._records import TRANSPORTS, Registration, decode_registration, encode_registration, parse_lookup_url
from ._registry import (
    DEFAULT_ENDPOINT,
    DEFAULT_PREFIX,
    DEFAULT_TIMEOUT,
    DEFAULT_TTL,
    EtcdRegistry,
    lookup_endpoints,
)

__all__ = [
    "EtcdRegistry",
    "Registration",
    "lookup_endpoints",
    "TRANSPORTS",
    "encode_registration",
    "decode_registration",
    "parse_lookup_url",
    "DEFAULT_ENDPOINT",
    "DEFAULT_PREFIX",
    "DEFAULT_TIMEOUT",
    "DEFAULT_TTL",
]
