"""The high-availability sample's client: one pool in front of the ten copies.

Start the server first (``springpython run server.xml``), then ``python client.py``
(or ``python client.py other-client.xml``)."""

import logging
import sys

from springpython.config import XMLConfig
from springpython.context import ApplicationContext

if __name__ == "__main__":
    logger = logging.getLogger("springpython")
    logger.setLevel(logging.WARNING)
    logger.addHandler(logging.StreamHandler())

    appContext = ApplicationContext(XMLConfig(sys.argv[1] if len(sys.argv) > 1 else "client.xml"))
    try:
        service = appContext.get_object("service")
        print("CLIENT: %s" % service.get_data("Hello"))
        print("CLIENT: %s" % service.get_data("World"))
        answered = sorted(set(service.whoami() for _ in range(20)))
        print("CLIENT: answered by %s" % ", ".join(answered))
    finally:
        appContext.shutdown()
