"""Misuses of bean constructors that a type checker must flag (checked by
tests/test_typing.py). Each flagged line names the mypy error code it must get."""

from __future__ import annotations

from springpython.remoting.hessian import HessianProxyFactory
from springpython.remoting.pyro import PyroProxyFactory

PyroProxyFactory(serivce_url="x")  # expect: call-arg
HessianProxyFactory(timeout="soon")  # expect: arg-type
