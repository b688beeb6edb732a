"""The container: creation, wiring, scopes and lookup, from format-neutral definitions."""

from __future__ import annotations

import logging

import pytest
from helpers_context import Defs, Pair, Plain, Slotted, define

from springpython.config.definitions import (
    Argument,
    Collection,
    Inner,
    Mapping,
    PropertyDef,
    Ref,
    Value,
)
from springpython.context import ApplicationContext, scope
from springpython.errors import NoSuchObjectError, SpringPythonError


def test_singleton_is_shared():
    """A singleton is created once and the same object is returned every time."""
    with ApplicationContext(Defs(define("a"))) as ctx:
        assert ctx.get_object("a") is ctx.get_object("a")


def test_prototype_is_new_each_time():
    """A prototype gives a new object on every get_object."""
    with ApplicationContext(Defs(define("a", scope=scope.PROTOTYPE))) as ctx:
        first, second = ctx.get_object("a"), ctx.get_object("a")
        assert isinstance(first, Plain) and first is not second


def test_constructor_args_positional_index_and_name():
    """Positional, indexed and named constructor arguments land where they belong."""
    args = [
        Argument(Value("second"), index=1),
        Argument(Value("first")),
        Argument(Value("kw"), name="extra"),
    ]
    with ApplicationContext(Defs(define("a", constructor_args=args))) as ctx:
        obj = ctx.get_object("a")
        assert obj.args == ("first", "second")
        assert obj.kwargs == {"extra": "kw"}


def test_properties_refs_and_inner_objects():
    """Properties take values, references to other objects, and inner objects."""
    inner = define("a.inner", class_name="helpers_context.Pair", constructor_args=[Argument(Value(1))])
    defs = Defs(
        define("b"),
        define("a", properties=[
            PropertyDef("name", Value("x")),
            PropertyDef("other", Ref("b")),
            PropertyDef("pair", Inner(inner)),
        ]),
    )
    with ApplicationContext(defs) as ctx:
        a = ctx.get_object("a")
        assert a.name == "x"
        assert a.other is ctx.get_object("b")
        assert isinstance(a.pair, Pair) and a.pair.left == 1


def test_collections_of_every_kind():
    """Lists, tuples, sets, frozensets and dicts are built with the right types and contents."""
    props = [
        PropertyDef("l", Collection(list, (Value(1), Ref("b")))),
        PropertyDef("t", Collection(tuple, (Value(1), Value(2)))),
        PropertyDef("s", Collection(set, (Value("x"),))),
        PropertyDef("f", Collection(frozenset, (Value("y"),))),
        PropertyDef("d", Mapping(((Value("k"), Ref("b")), (Value(2), Value(None))))),
        PropertyDef("e", Collection(list, ())),
    ]
    with ApplicationContext(Defs(define("b"), define("a", properties=props))) as ctx:
        a, b = ctx.get_object("a"), ctx.get_object("b")
        assert a.l == [1, b] and a.t == (1, 2) and a.s == {"x"} and a.f == frozenset({"y"})
        assert a.d == {"k": b, 2: None} and a.e == []


def test_prototypes_get_fresh_mutable_collections():
    """Two prototypes never share a list or dict built from constant values."""
    props = [PropertyDef("l", Collection(list, (Value(1),))), PropertyDef("d", Mapping(((Value("k"), Value(1)),)))]
    with ApplicationContext(Defs(define("a", scope=scope.PROTOTYPE, properties=props))) as ctx:
        first, second = ctx.get_object("a"), ctx.get_object("a")
        first.l.append(2)
        first.d["z"] = 0
        assert second.l == [1] and second.d == {"k": 1}


def test_eager_and_lazy_singletons():
    """Non-lazy singletons exist right after start; lazy ones only once asked for."""
    with ApplicationContext(Defs(define("eager"), define("lazy", lazy_init=True))) as ctx:
        assert "eager" in ctx._singletons and "lazy" not in ctx._singletons
        ctx.get_object("lazy")
        assert "lazy" in ctx._singletons


def test_contains_and_names():
    """`in` tells whether an id is defined; abstract definitions are not objects."""
    with ApplicationContext(Defs(define("a"), define("base", abstract=True))) as ctx:
        assert "a" in ctx and "nope" not in ctx and "base" not in ctx
        assert ctx.get_object_names() == ["a"]


def test_parent_inheritance_child_overrides():
    """A child takes class, properties and arguments from its parent and overrides them."""
    defs = Defs(
        define("base", abstract=True, class_name="helpers_context.Pair",
               constructor_args=[Argument(Value("L")), Argument(Value("R"), name="right")],
               properties=[PropertyDef("p", Value(1)), PropertyDef("q", Value(2))]),
        define("child", class_name=None, parent="base",
               constructor_args=[Argument(Value("R2"), name="right")],
               properties=[PropertyDef("q", Value(3))]),
    )
    with ApplicationContext(defs) as ctx:
        child = ctx.get_object("child")
        assert isinstance(child, Pair)
        assert (child.left, child.right, child.p, child.q) == ("L", "R2", 1, 3)
        with pytest.raises(NoSuchObjectError):
            ctx.get_object("base")


def test_parent_across_configs_and_scope_inherited():
    """A parent in another configuration works, and its scope is inherited."""
    first = Defs(define("base", abstract=True, scope=scope.PROTOTYPE), name="one.xml")
    second = Defs(define("child", class_name=None, parent="base"), name="two.xml")
    with ApplicationContext([first, second]) as ctx:
        assert ctx.get_object("child") is not ctx.get_object("child")


def test_later_definition_overrides_with_warning(caplog):
    """The same id in a later configuration replaces the earlier one with a WARNING naming both places."""
    caplog.set_level(logging.INFO, logger="springpython")
    first = Defs(define("a", properties=[PropertyDef("v", Value(1))], file="one.xml"))
    second = Defs(define("a", properties=[PropertyDef("v", Value(2))], file="two.xml", line=7))
    with ApplicationContext([first, second]) as ctx:
        assert ctx.get_object("a").v == 2
    [record] = [r for r in caplog.records if "defined again" in r.getMessage()]
    assert record.levelno == logging.WARNING
    assert record.getMessage() == "two.xml:7: object 'a': defined again: this definition replaces the one at one.xml:1"


def test_get_objects_by_type():
    """Objects are found by type; include_type=False keeps only subclasses."""
    defs = Defs(define("plain"), define("pair", class_name="helpers_context.Pair",
                                        constructor_args=[Argument(Value(0))]), define("d", class_name="collections.OrderedDict"))
    with ApplicationContext(defs) as ctx:
        assert set(ctx.get_objects_by_type(Plain)) == {"plain"}
        assert set(ctx.get_objects_by_type(dict)) == {"d"}
        assert ctx.get_objects_by_type(dict, include_type=False) == {"d": ctx.get_object("d")}
        assert set(ctx.get_objects_by_type(object)) == {"plain", "pair", "d"}


def test_unknown_object_has_hint():
    """Asking for an unknown id raises NoSuchObjectError suggesting a close name."""
    with ApplicationContext(Defs(define("service"))) as ctx:
        with pytest.raises(NoSuchObjectError, match=r"no object named 'servise' is defined \(did you mean 'service'\?\)"):
            ctx.get_object("servise")


def test_get_after_shutdown_fails_clearly():
    """After shutdown the context refuses to hand out objects, singletons and prototypes alike."""
    ctx = ApplicationContext(Defs(define("a"), define("p", scope=scope.PROTOTYPE)))
    ctx.shutdown()
    for name in ("a", "p"):
        with pytest.raises(SpringPythonError, match="shut down"):
            ctx.get_object(name)


def test_bare_builtin_class_name():
    """A bare class name that is not in __main__ falls back to the builtins."""
    with ApplicationContext(Defs(define("d", class_name="dict"))) as ctx:
        assert ctx.get_object("d") == {}


def test_property_that_cannot_be_set_names_object():
    """A property the object refuses is an error naming file, line, object and property."""
    from springpython.errors import ObjectCreationError

    defs = Defs(define("s", class_name="helpers_context.Slotted", line=4, properties=[PropertyDef("b", Value(1))]))
    with pytest.raises(ObjectCreationError, match=r"defs.xml:4: object 's': setting property 'b' failed: AttributeError"):
        ApplicationContext(defs)
    assert Slotted


def test_debug_log_tells_the_story(caplog):
    """DEBUG logging under springpython shows scanning, creating and storing objects."""
    caplog.set_level(logging.DEBUG, logger="springpython")
    with ApplicationContext(Defs(define("a"))):
        pass
    text = caplog.text
    for line in ("Scanning configuration", "a object definition does not exist", "Eagerly fetching a",
                 "Did NOT find object 'a' in the singleton storage", "Stored object 'a' in container's singleton storage"):
        assert line in text


def test_inner_objects_inside_collections():
    """Inner objects inside lists and dicts are built, fresh for each prototype."""
    inner = define("a.inner", class_name="helpers_context.Pair", constructor_args=[Argument(Value(1))])
    props = [
        PropertyDef("items", Collection(list, (Inner(inner), Value(2)))),
        PropertyDef("table", Mapping(((Value("k"), Inner(inner)),))),
    ]
    with ApplicationContext(Defs(define("a", scope=scope.PROTOTYPE, properties=props))) as ctx:
        first, second = ctx.get_object("a"), ctx.get_object("a")
        assert isinstance(first.items[0], Pair) and first.items[1] == 2
        assert isinstance(first.table["k"], Pair)
        assert first.items[0] is not second.items[0]


def test_property_names_that_are_not_identifiers():
    """Properties named like keywords or with dashes are still set."""
    props = [PropertyDef("class", Value(1)), PropertyDef("my-prop", Value(2)), PropertyDef("ok", Value(3))]
    with ApplicationContext(Defs(define("a", properties=props))) as ctx:
        a = ctx.get_object("a")
        assert (getattr(a, "class"), getattr(a, "my-prop"), a.ok) == (1, 2, 3)
