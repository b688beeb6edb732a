"""springpython: an inversion-of-control container whose remoting beans put plain
service objects on the network (Pyro5, Pyro4, Hessian, TLS XML-RPC) by configuration."""

import logging

__version__ = "2.0.0.dev0"
__all__ = ["__version__"]

logging.getLogger(__name__).addHandler(logging.NullHandler())
