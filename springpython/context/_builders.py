"""How a recipe builds its object: a general interpreter for objects made once
(singletons), and for objects made again and again (prototypes) a builder function
generated for the definition, so that creating one is a single straight-line Python
function: evaluate the arguments, call the class, set the properties, run the
lifecycle hooks.

Rules of this file: the generated source only ever contains names this module
makes up (``c0``, ``p1``, ``v2`` …) and property names that are Python identifiers;
every value, class and hook is passed in through the function's namespace, never
pasted into the source. A property whose name is not an identifier is set with
``setattr``."""

from __future__ import annotations

import keyword
import types
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from .container import ObjectContainer, _Recipe

__all__ = ["Constant", "Build", "interpreter", "generate"]

# Compiled builder bodies by shape: definitions of the same shape (say, one constant
# constructor argument and two properties named alike) share one code object, each
# with its own namespace. Code objects are immutable; the cache grows only with the
# number of distinct shapes.
_CODE: dict[tuple, types.CodeType] = {}


class Constant:
    """A producer of one immutable value, inlined into generated builders."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __call__(self, track: bool) -> Any:
        return self.value


class Build:
    """A producer that creates an object from a recipe (a prototype or an inner object)."""

    __slots__ = ("recipe",)

    def __init__(self, recipe: "_Recipe") -> None:
        self.recipe = recipe

    def __call__(self, track: bool) -> Any:
        return self.recipe.build(track)


def _kind(producer: Any) -> str:
    return "c" if isinstance(producer, Constant) else "b" if isinstance(producer, Build) else "p"


def _plain(name: str) -> str | None:
    """``name`` if it can be written as ``obj.name`` / ``name=`` in source, else ``None``."""
    ok = name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("__")
    return name if ok else None


def interpreter(recipe: "_Recipe", container: "ObjectContainer") -> Callable[[bool], Any]:
    """A builder that walks the recipe each time: no set-up cost, for objects made once."""
    if recipe.factory is not None:
        return _factory_builder(recipe, container)
    error = container._creation_error
    initialize = container._initialize

    def build(track: bool) -> Any:
        args = [p(track) for p in recipe.args]
        kwargs = {name: p(track) for name, p in recipe.kwargs}
        try:
            obj = recipe.cls(*args, **kwargs)
        except Exception as exc:
            raise error(recipe, exc, "creating it failed") from exc
        for name, producer in recipe.props:
            value = producer(track)
            try:
                setattr(obj, name, value)
            except Exception as exc:
                raise error(recipe, exc, f"setting property {name!r} failed") from exc
        return initialize(recipe, obj, track)

    return build


def generate(recipe: "_Recipe", container: "ObjectContainer") -> Callable[[bool], Any]:
    """Make (once) the generated builder of ``recipe``, install it as ``recipe.build``
    and return it; the builders of the objects it creates in place are made too."""
    if recipe.generated:
        return recipe.build
    recipe.generated = True
    if recipe.factory is not None:
        recipe.build = _factory_builder(recipe, container)
        return recipe.build
    ns: dict[str, Any] = {
        "cls": recipe.cls,
        "recipe": recipe,
        "error": container._creation_error,
        "initialize": container._initialize,
        "processors": container._post_processors,
    }
    producers = [*recipe.args, *(p for _, p in recipe.kwargs), *(p for _, p in recipe.props)]
    for n, producer in enumerate(producers):
        if isinstance(producer, Constant):
            ns[f"c{n}"] = producer.value
        elif isinstance(producer, Build):
            ns[f"p{n}"] = generate(producer.recipe, container)
        else:
            ns[f"p{n}"] = producer
    names = [name for name, _ in recipe.kwargs] + [name for name, _ in recipe.props]
    for n, name in enumerate(names, start=len(recipe.args)):
        ns[f"n{n}"] = name
    if recipe.aware or recipe.initializing or recipe.disposable or recipe.destroy_method or recipe.aware is None:
        lifecycle = "always"
    else:
        lifecycle = "if processors"
    shape = (
        tuple(_kind(p) for p in recipe.args),
        tuple((_plain(name), _kind(p)) for name, p in recipe.kwargs),
        tuple((_plain(name), _kind(p)) for name, p in recipe.props),
        lifecycle,
    )
    code = _CODE.get(shape)
    if code is None:
        module = compile(_source(*shape), "<springpython builder>", "exec")
        code = _CODE.setdefault(shape, next(c for c in module.co_consts if isinstance(c, types.CodeType)))
    recipe.build = types.FunctionType(code, ns, f"build_{recipe.id}")
    return recipe.build


def _source(args: tuple, kwargs: tuple, props: tuple, lifecycle: str) -> str:
    """The builder's source for one shape of definition."""
    body: list[str] = []

    def value(kind: str, n: int) -> str:
        if kind == "c":
            return f"c{n}"
        body.append(f"    v{n} = p{n}(track)")
        return f"v{n}"

    call = [value(kind, n) for n, kind in enumerate(args)]
    n = len(args)
    for name, kind in kwargs:
        expr = value(kind, n)
        call.append(f"{name}={expr}" if name else f"**{{n{n}: {expr}}}")
        n += 1
    body += [
        "    try:",
        f"        obj = cls({', '.join(call)})",
        "    except Exception as exc:",
        "        raise error(recipe, exc, 'creating it failed') from exc",
    ]
    for name, kind in props:
        expr = value(kind, n)
        body += [
            "    try:",
            f"        obj.{name} = {expr}" if name else f"        setattr(obj, n{n}, {expr})",
            "    except Exception as exc:",
            f"        raise error(recipe, exc, 'setting property %r failed' % (n{n},)) from exc",
        ]
        n += 1
    if lifecycle == "always":
        body.append("    return initialize(recipe, obj, track)")
    else:
        body += ["    if processors:", "        return initialize(recipe, obj, track)", "    return obj"]
    return "def build(track):\n" + "\n".join(body) + "\n"


def _factory_builder(recipe: "_Recipe", container: "ObjectContainer") -> Callable[[bool], Any]:
    from_factory = container._from_factory
    initialize = container._initialize

    def build(track: bool) -> Any:
        return initialize(recipe, from_factory(recipe), track)

    return build
