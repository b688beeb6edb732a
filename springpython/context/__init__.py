"""The container: ``ApplicationContext`` and the lifecycle base classes objects extend."""

from . import scope
from .application import ApplicationContext
from .container import ObjectContainer
from .lifecycle import (
    ApplicationContextAware,
    DisposableObject,
    InitializingObject,
    ObjectPostProcessor,
)
from .properties import DeclaredProperties

__all__ = [
    "ApplicationContext",
    "ObjectContainer",
    "InitializingObject",
    "DisposableObject",
    "ApplicationContextAware",
    "ObjectPostProcessor",
    "DeclaredProperties",
    "scope",
]
