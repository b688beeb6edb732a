"""Object scopes (``scope.SINGLETON``, ``scope.PROTOTYPE``) as configuration names them."""

from .._scope import PROTOTYPE, SINGLETON, Scope, convert

__all__ = ["Scope", "SINGLETON", "PROTOTYPE", "convert"]
