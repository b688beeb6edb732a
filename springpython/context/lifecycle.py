"""Base classes an object can extend to take part in the container's lifecycle.

The container recognises them with ``isinstance`` only, never by probing for
attributes, so a remote proxy (which answers every public attribute name) is never
mistaken for one of them and never made to connect by the container."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .application import ApplicationContext

__all__ = [
    "InitializingObject",
    "DisposableObject",
    "ApplicationContextAware",
    "ObjectPostProcessor",
]


class InitializingObject:
    """An object the container calls back once all its properties are set."""

    def after_properties_set(self) -> None:
        """Check the configuration and start whatever the object runs."""


class DisposableObject:
    """An object the container calls back when the context shuts down: ``destroy()``,
    or the method named by its ``destroy_method`` attribute (Spring Python 1.2's form)."""

    destroy_method: "str | None" = None

    def destroy(self) -> None:
        """Release what the object holds (sockets, threads, files)."""


class ApplicationContextAware:
    """An object that is handed the context that created it, as ``app_context``."""

    app_context: "ApplicationContext | None" = None

    def set_app_context(self, app_context: "ApplicationContext") -> None:
        self.app_context = app_context


class ObjectPostProcessor:
    """Sees every object the context creates; what it returns replaces the object."""

    def post_process_before_initialization(self, obj: Any, obj_name: str) -> Any:
        return obj

    def post_process_after_initialization(self, obj: Any, obj_name: str) -> Any:
        return obj
