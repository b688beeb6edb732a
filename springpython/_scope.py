"""Object scopes: one shared instance per context, or a new one per request.

Lives outside both `context` and `config` so the readers need not import the container;
the public name is `springpython.context.scope`."""

from __future__ import annotations

import enum

__all__ = ["Scope", "SINGLETON", "PROTOTYPE", "convert"]


class Scope(str, enum.Enum):
    """How many instances the container makes of one definition."""

    SINGLETON = "singleton"
    PROTOTYPE = "prototype"

    def __str__(self) -> str:
        return f"scope.{self.name}"


SINGLETON = Scope.SINGLETON
PROTOTYPE = Scope.PROTOTYPE


def convert(text: str | Scope) -> Scope:
    """Turn ``"singleton"``/``"prototype"`` (any case) into a :class:`Scope`."""
    if isinstance(text, Scope):
        return text
    try:
        return Scope(text.strip().lower())
    except (ValueError, AttributeError):
        raise ValueError(f"unknown scope {text!r}: expected 'singleton' or 'prototype'") from None
