"""Configuration readers. Each turns one format into format-neutral
:mod:`~springpython.config.definitions` that the container reads."""

from .definitions import Config, ObjectDefinition
from .python import Object, PythonConfig
from .spring_java import SpringJavaConfig
from .xml import XMLConfig

__all__ = ["Config", "ObjectDefinition", "PythonConfig", "Object", "XMLConfig", "SpringJavaConfig"]
