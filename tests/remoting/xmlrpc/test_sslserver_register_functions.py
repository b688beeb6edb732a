"""SSLServer's one required override: a subclass without register_functions() fails
at construction (as Spring Python 1.2 documented), before any port is bound."""

from __future__ import annotations

import pytest

from springpython.remoting.xmlrpc import SSLServer


class Forgetful(SSLServer):
    """Exposes nothing: register_functions() is not overridden."""


def test_subclass_without_register_functions_fails_at_construction(pki):
    """An SSLServer subclass that does not override register_functions() raises NotImplementedError."""
    with pytest.raises(NotImplementedError, match="Forgetful must override register_functions"):
        Forgetful("127.0.0.1", 0, str(pki.server_key), str(pki.server_cert))
