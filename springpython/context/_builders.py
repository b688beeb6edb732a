"""Builder functions generated once per definition, so that creating an object is
one straight-line Python function: evaluate the arguments, call the class, set the
properties, run the lifecycle hooks.

Rules of this file: the generated source only ever contains names this module
makes up (``c0``, ``p1``, ``v2`` …) and property names that are Python identifiers;
every value, class and hook is passed in through the function's namespace, never
pasted into the source. A property whose name is not an identifier is set with
``setattr``."""

from __future__ import annotations

import types
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from .container import ObjectContainer, _Recipe

__all__ = ["Constant", "Build", "generate"]

# Compiled builder bodies by source text: definitions of the same shape (say, one
# constructor argument and two properties) share one code object, each with its own
# namespace. The cache only grows with the number of distinct shapes.
_CODE: dict[str, types.CodeType] = {}


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


def generate(recipe: "_Recipe", container: "ObjectContainer") -> Callable[[bool], Any]:
    """Make (once) and return ``recipe.build(track)``."""
    if recipe.build is not None:
        return recipe.build
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
    body: list[str] = []

    def value(producer: Any, n: int) -> str:
        if isinstance(producer, Constant):
            ns[f"c{n}"] = producer.value
            return f"c{n}"
        if isinstance(producer, Build):
            ns[f"p{n}"] = generate(producer.recipe, container)
        else:
            ns[f"p{n}"] = producer
        body.append(f"    v{n} = p{n}(track)")
        return f"v{n}"

    n = 0
    call_args = []
    for producer in recipe.args:
        call_args.append(value(producer, n))
        n += 1
    for name, producer in recipe.kwargs:
        ns[f"k{n}"] = name
        call_args.append(f"**{{k{n}: {value(producer, n)}}}" if not name.isidentifier() else f"{name}={value(producer, n)}")
        n += 1
    body.append("    try:")
    body.append(f"        obj = cls({', '.join(call_args)})")
    body.append("    except Exception as exc:")
    body.append("        raise error(recipe, exc, 'creating it failed') from exc")
    for name, producer in recipe.props:
        expr = value(producer, n)
        ns[f"n{n}"] = name
        body.append("    try:")
        if name.isidentifier() and not name.startswith("__"):
            body.append(f"        obj.{name} = {expr}")
        else:
            body.append(f"        setattr(obj, n{n}, {expr})")
        body.append("    except Exception as exc:")
        body.append(f"        raise error(recipe, exc, 'setting property %r failed' % (n{n},)) from exc")
        n += 1
    needs_lifecycle = recipe.aware or recipe.initializing or recipe.disposable or recipe.destroy_method
    if needs_lifecycle or recipe.aware is None:
        body.append("    return initialize(recipe, obj, track)")
    else:
        body.append("    if processors:")
        body.append("        return initialize(recipe, obj, track)")
        body.append("    return obj")
    source = "def build(track):\n" + "\n".join(body) + "\n"
    code = _CODE.get(source)
    if code is None:
        module = compile(source, "<springpython builder>", "exec")
        code = _CODE.setdefault(source, next(c for c in module.co_consts if isinstance(c, types.CodeType)))
    recipe.build = types.FunctionType(code, ns, f"build_{recipe.id}")
    return recipe.build


def _factory_builder(recipe: "_Recipe", container: "ObjectContainer") -> Callable[[bool], Any]:
    from_factory = container._from_factory
    initialize = container._initialize

    def build(track: bool) -> Any:
        return initialize(recipe, from_factory(recipe), track)

    return build
