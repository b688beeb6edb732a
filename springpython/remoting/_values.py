"""Coercion of property values that arrive as text from XML configuration."""

from __future__ import annotations

from typing import AbstractSet, Any, Sequence, TypeAlias

__all__ = ["as_bool", "as_int", "as_float", "as_port", "as_optional_port", "Names"]

#: A property that lists names: a list, tuple or set of them, or comma-separated text.
Names: TypeAlias = "str | Sequence[str] | AbstractSet[str]"

_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


def as_bool(name: str, value: Any) -> bool:
    """A boolean from a bool or from ``true``/``false`` (any case)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        low = value.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ValueError(f"{name} must be true or false, got {value!r}")


def as_int(name: str, value: Any) -> int:
    """An integer from an int or its decimal text."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an integer, got {value!r}") from None


def as_float(name: str, value: Any) -> float | None:
    """A number of seconds, or ``None`` for "no limit"."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
        return None
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number of seconds, got {value!r}") from None
    if result <= 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return result


def as_port(name: str, value: Any) -> int:
    """A TCP port, 0 (any free port) to 65535."""
    port = as_int(name, value)
    if not 0 <= port <= 65535:
        raise ValueError(f"{name} must be between 0 and 65535, got {value!r}")
    return port


def as_optional_port(name: str, value: object) -> int | None:
    """A TCP port, or ``None`` when unset (``None`` or empty text, as from XML)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return as_port(name, value)
