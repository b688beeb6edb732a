"""High availability: a proxy factory that spreads calls over a pool of proxy
factories of any transport, fails over when an endpoint cannot be reached, brings it
back once it answers again, and can find its endpoints in a Pyro5 name server.

It makes real the round-robin sketch of the reference chapter (section 8.4)::

    service = HighAvailabilityProxyFactory(service_pool=[
        PyroProxyFactory(service_url="PYROLOC://localhost:7766/ServiceName%s" % i) for i in range(10)
    ])
    service.get_data("Hello")
"""

from ._pool import (
    DEFAULT_DISCOVERY_TIMEOUT,
    DEFAULT_MAX_RETRY_INTERVAL,
    DEFAULT_REFRESH_INTERVAL,
    DEFAULT_RETRY_INTERVAL,
    FAILOVER,
    ROUND_ROBIN,
    EndpointState,
    HighAvailabilityProxyFactory,
)

from ._async_pool import AsyncHighAvailabilityProxyFactory

__all__ = [
    "HighAvailabilityProxyFactory",
    "AsyncHighAvailabilityProxyFactory",
    "EndpointState",
    "ROUND_ROBIN",
    "FAILOVER",
    "DEFAULT_RETRY_INTERVAL",
    "DEFAULT_MAX_RETRY_INTERVAL",
    "DEFAULT_REFRESH_INTERVAL",
    "DEFAULT_DISCOVERY_TIMEOUT",
]
