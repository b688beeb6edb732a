"""The public names of MISSION.md are importable from their documented places."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "springpython.context": [
        "ApplicationContext", "InitializingObject", "DisposableObject", "ApplicationContextAware",
        "ObjectPostProcessor", "scope",
    ],
    "springpython.config": ["XMLConfig", "PythonConfig", "Object", "SpringJavaConfig"],
    "springpython.remoting.hessian": ["HessianProxyFactory", "AsyncHessianProxyFactory"],
    "springpython.remoting.xmlrpc": ["XMLRPCProxyFactory", "AsyncXMLRPCProxyFactory"],
    "springpython.remoting.pyro": ["PyroProxyFactory", "AsyncPyroProxyFactory", "AsyncPyro4ProxyFactory"],
    "springpython.remoting.ha": ["HighAvailabilityProxyFactory", "AsyncHighAvailabilityProxyFactory"],
}


@pytest.mark.parametrize("module_name", sorted(PUBLIC))
def test_public_names_exported(module_name):
    """Each documented name is importable and listed in the module's __all__."""
    module = importlib.import_module(module_name)
    for name in PUBLIC[module_name]:
        assert hasattr(module, name), name
        assert name in module.__all__, name


def test_facades_are_the_implementations():
    """The package-level names are the implementation objects, not copies."""
    from springpython import config, context
    from springpython.config import python, spring_java, xml
    from springpython.context import application, lifecycle

    assert context.ApplicationContext is application.ApplicationContext
    assert context.InitializingObject is lifecycle.InitializingObject
    assert config.XMLConfig is xml.XMLConfig
    assert config.PythonConfig is python.PythonConfig
    assert config.SpringJavaConfig is spring_java.SpringJavaConfig


def test_scope_constants():
    """scope.SINGLETON and scope.PROTOTYPE are the names the chapter's users type."""
    from springpython.context import scope

    assert scope.convert("Prototype") is scope.PROTOTYPE
    assert str(scope.SINGLETON) == "scope.SINGLETON"
    with pytest.raises(ValueError, match="unknown scope 'session'"):
        scope.convert("session")


def test_every_error_derives_from_one_base():
    """Every exception springpython defines derives from SpringPythonError."""
    from springpython import errors

    for name in errors.__all__:
        obj = getattr(errors, name)
        if isinstance(obj, type) and issubclass(obj, BaseException):
            assert issubclass(obj, errors.SpringPythonError), name


def test_import_has_no_side_effects():
    """Importing springpython adds only a NullHandler to its logger and reads no environment."""
    import logging
    import subprocess
    import sys

    code = ("import logging, springpython; h = logging.getLogger('springpython').handlers;"
            "print([type(x).__name__ for x in h]); import sys; print(sorted(m for m in sys.modules if m.startswith('springpython')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0] == "['NullHandler']"
    assert out[1] == "['springpython']"
    assert logging
