"""The sample's client: lists what is registered as Quotes, then calls through the pool.

    python3 client.py [registry.xml] [client.xml]
"""

import sys

from springpython.config import XMLConfig
from springpython.context import ApplicationContext
from springpython.remoting.discovery import lookup_endpoints


def main(registry_xml: str = "registry.xml", client_xml: str = "client.xml") -> None:
    with ApplicationContext([XMLConfig(registry_xml), XMLConfig(client_xml)]) as context:
        registry = context.get_object("registry")
        endpoint = registry.location.split("//", 1)[1]
        for record in lookup_endpoints(f"etcd://{endpoint}/Quotes", prefix=registry.prefix):
            print(f"CLIENT: registered {record.transport} {record.url} {dict(record.metadata)}")
        service = context.get_object("service")
        print("CLIENT:", service.quote("SPRN"))
        answered = sorted({service.whoami() for _ in range(8)})
        print("CLIENT: answered by " + ", ".join(answered))


if __name__ == "__main__":
    main(*sys.argv[1:])
