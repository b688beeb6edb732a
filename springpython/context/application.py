"""``ApplicationContext``: a container that starts its objects and stops them again.

Starting creates the post-processors first (those known by class or return
annotation), then every non-lazy singleton in the order of the configuration; a
post-processor known only once created is applied to the singletons made before
it. If any of that fails, everything already created is destroyed (in reverse
order) before the error reaches the caller, so a failed start leaves no port bound
and no thread running."""

from __future__ import annotations

import atexit
import logging
import weakref
from typing import Any, Sequence

from ..config.definitions import Config
from ._builders import Recipe
from .container import ObjectContainer, factory_returns
from .lifecycle import ApplicationContextAware, ObjectPostProcessor

__all__ = ["ApplicationContext"]

log = logging.getLogger(__name__)


def _shutdown_at_exit(ref: "weakref.ReferenceType[ApplicationContext]") -> None:
    context = ref()
    if context is not None:
        context.shutdown()


class ApplicationContext(ObjectContainer):
    """Reads one or more configurations and creates their eager singletons at once.

    Use it as a context manager, or call :meth:`shutdown`; it also shuts down at
    interpreter exit. ``allow_overriding=False`` refuses an id defined in two
    configurations (by default the later definition wins, with a WARNING)."""

    def __init__(self, config: Config | Sequence[Config] | None = None, *, allow_overriding: bool = True) -> None:
        super().__init__(config, allow_overriding=allow_overriding)
        self._exit_hook = lambda ref=weakref.ref(self): _shutdown_at_exit(ref)
        atexit.register(self._exit_hook)
        for cfg in self.configs:
            if isinstance(cfg, ApplicationContextAware):
                cfg.set_app_context(self)
        try:
            self._start()
        except BaseException:
            log.debug("context start failed: destroying what was created")
            self.shutdown()
            raise

    def _start(self) -> None:
        recipes = self._recipes
        processors = [
            r for r in recipes.values()
            if r.singleton and (
                (isinstance(r.cls, type) and issubclass(r.cls, ObjectPostProcessor))
                or factory_returns(r.definition, ObjectPostProcessor)
            )
        ]
        for recipe in processors:
            log.debug("Creating object post-processor %s", recipe.id)
            self.get_object(recipe.id)  # taken into use by _singleton
        created = self._singletons
        for recipe in list(recipes.values()):
            if recipe.singleton and not recipe.lazy and recipe.id not in created:
                log.debug("Eagerly fetching %s", recipe.id)
                self._singleton(recipe)

    def _singleton(self, recipe: Recipe) -> Any:
        obj = super()._singleton(recipe)
        if isinstance(obj, ObjectPostProcessor) and not any(p is obj for p in self._post_processors):
            self._adopt(recipe.id, obj)
        return obj

    def _adopt(self, name: str, processor: ObjectPostProcessor) -> None:
        """Use a post-processor found only once created (a ``PythonConfig`` method
        without a return annotation) from now on, and apply it to the singletons
        created before it, as Spring Python 1.2 applied post-processors to every object."""
        log.debug("Object post-processor %s found when created: applying it to earlier objects", name)
        with self._lock:
            self._post_processors.append(processor)
            singletons = self._singletons
            for other, obj in list(singletons.items()):
                if other == name or isinstance(obj, ObjectPostProcessor):
                    continue
                obj = processor.post_process_before_initialization(obj, other)
                singletons[other] = processor.post_process_after_initialization(obj, other)

    def shutdown(self) -> None:
        """Destroy every singleton in reverse order of creation, exactly once."""
        hook = self.__dict__.pop("_exit_hook", None)
        if hook is not None:
            atexit.unregister(hook)
        super().shutdown()

    def __enter__(self) -> "ApplicationContext":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        state = "shut down" if self.closed else "running"
        return (
            f"<ApplicationContext {len(self._recipes)} objects, "
            f"{len(self._singletons)} singletons created, {state}>"
        )
