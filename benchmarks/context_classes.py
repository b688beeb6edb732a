"""Plain classes that generated benchmark contexts (:mod:`benchmarks.gen_context`) refer to."""

from __future__ import annotations

from typing import Any

__all__ = ["Leaf", "Node"]


class Leaf:
    """An object built by constructor injection alone."""

    def __init__(self, name: str = "", weight: int = 0) -> None:
        self.name = name
        self.weight = weight


class Node:
    """An object wired by properties: references, collections and inner objects."""

    def __init__(self, name: str = "") -> None:
        self.name = name
        self.weight = 0
        self.peer: Any = None
        self.helper: Any = None
        self.items: Any = None
        self.table: Any = None
        self.settings: Any = None
