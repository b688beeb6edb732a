"""Configuration readers. Each turns one format into format-neutral
:mod:`~springpython.config.definitions` that the container reads."""

from .definitions import Config, ObjectDefinition

__all__ = ["Config", "ObjectDefinition"]
