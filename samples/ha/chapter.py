"""Section 8.4 of the chapter in one process: ten exporters, ten proxies, and the
round-robin "utility class" replaced by HighAvailabilityProxyFactory.

    python chapter.py [PORT]      (default 7766, Pyro's port)"""

import sys

from springpython.remoting.ha import HighAvailabilityProxyFactory
from springpython.remoting.pyro import PyroProxyFactory, PyroServiceExporter

from server import Service

if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 7766

    pool = []
    try:
        for i in range(10):
            service_exporter = PyroServiceExporter(service_name = "ServiceName%s" % i,
                                                   service = Service("ServiceName%s" % i), service_port = port)
            service_exporter.after_properties_set()
            pool.append(service_exporter)

        services = []
        for i in range(10):
            services.append(PyroProxyFactory(service_url = "PYROLOC://localhost:%s/ServiceName%s" % (port, i)))

        service = HighAvailabilityProxyFactory(service_pool = services)
        print(service.get_data("Hello"))
        print(service.get_data("World"))
        print("answered by %s" % ", ".join(sorted(set(service.whoami() for _ in range(20)))))
        service.destroy()
    finally:
        for service_exporter in pool:
            service_exporter.destroy()
