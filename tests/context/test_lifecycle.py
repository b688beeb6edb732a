"""Lifecycle: initialization, awareness, post-processing, shutdown order and rollback."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys

import pytest
from support import python_env
from helpers_context import Defs, Journal, SocketHolder, Tracked, Wrapper, Wrapping, define

from springpython.config.definitions import Argument, PropertyDef, Ref, Value
from springpython.context import ApplicationContext, scope
from springpython.errors import CircularDependencyError, ConfigurationError, ObjectCreationError


@pytest.fixture(autouse=True)
def journal():
    """A clean lifecycle journal for each test."""
    Journal.events = []
    SocketHolder.bound = []
    yield Journal.events


def tracked(id, **kw):
    return define(id, class_name="helpers_context.Tracked", constructor_args=[Argument(Value(id))], **kw)


def test_after_properties_set_runs_after_wiring():
    """after_properties_set runs once, after properties are set and the context is handed over."""
    with ApplicationContext(Defs(tracked("t", properties=[PropertyDef("color", Value("red"))]))) as ctx:
        t = ctx.get_object("t")
        assert t.initialized == 1 and t.color == "red" and t.app_context is ctx


def test_shutdown_destroys_in_reverse_dependency_order(journal):
    """Singletons are destroyed after everything that depends on them, exactly once."""
    defs = Defs(
        tracked("top", properties=[PropertyDef("dep", Ref("middle"))]),
        tracked("middle", properties=[PropertyDef("dep", Ref("bottom"))]),
        tracked("bottom"),
    )
    ctx = ApplicationContext(defs)
    ctx.shutdown()
    ctx.shutdown()
    destroys = [e for e in journal if e.startswith("destroy")]
    assert destroys == ["destroy top", "destroy middle", "destroy bottom"]


def test_destroy_method_is_called():
    """A configured destroy-method is called at shutdown."""
    ctx = ApplicationContext(Defs(define("c", class_name="helpers_context.Closer", destroy_method="close")))
    closer = ctx.get_object("c")
    ctx.shutdown()
    assert closer.closed


def test_failing_destroy_is_logged_and_others_still_run(journal, caplog):
    """A destroy() that raises is logged with its object id; the rest are still destroyed."""
    defs = Defs(tracked("first"), define("bad", class_name="helpers_context.FailingDestroy"), tracked("last"))
    ctx = ApplicationContext(defs)
    ctx.shutdown()
    assert journal[-3:] == ["destroy last", "failing destroy", "destroy first"]
    assert "destroying object 'bad' with destroy() failed" in caplog.text


def test_context_manager_shuts_down(journal):
    """Leaving the with-block shuts the context down."""
    with ApplicationContext(Defs(tracked("t"))):
        pass
    assert journal == ["init t", "destroy t"]


def test_prototypes_are_not_destroyed_but_their_singletons_are(journal):
    """Prototypes handed to callers are theirs to dispose of; singletons are the context's."""
    with ApplicationContext(Defs(tracked("p", scope=scope.PROTOTYPE), tracked("s"))) as ctx:
        ctx.get_object("p")
    assert "destroy p" not in journal and "destroy s" in journal


def test_inner_objects_of_singletons_are_destroyed(journal):
    """An inner object that needs disposal is destroyed with the singleton that holds it."""
    from springpython.config.definitions import Inner

    with ApplicationContext(Defs(define("outer", properties=[PropertyDef("inner", Inner(tracked("inner")))]))):
        pass
    assert "destroy inner" in journal


def test_shutdown_at_interpreter_exit():
    """A context that was never shut down explicitly is shut down when the interpreter exits."""
    code = (
        "from springpython.context import ApplicationContext, DisposableObject\n"
        "from springpython.config.definitions import Config, ObjectDefinition\n"
        "class D(DisposableObject):\n"
        "    def destroy(self): print('destroyed')\n"
        "class C(Config):\n"
        "    def read_object_defs(self): return [ObjectDefinition('d', class_name='D')]\n"
        "ctx = ApplicationContext(C())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=python_env(), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "destroyed"


def test_post_processor_sees_every_object_and_can_replace_it():
    """Post-processors see eager, lazy and prototype objects; their result replaces the object."""
    defs = Defs(
        define("processor", class_name="helpers_context.Wrapping"),
        define("wrapped"),
        define("lazy", lazy_init=True),
        define("proto", scope=scope.PROTOTYPE),
    )
    with ApplicationContext(defs) as ctx:
        processor = ctx.get_object("processor")
        assert isinstance(ctx.get_object("wrapped"), Wrapper)
        ctx.get_object("lazy")
        ctx.get_object("proto")
        assert processor.before == processor.after == ["wrapped", "lazy", "proto"]


def test_after_properties_set_failure_is_wrapped_and_chained():
    """An exception in after_properties_set names file, line and object, with the original chained."""
    defs = Defs(define("svc", class_name="helpers_context.FailingInit", file="app.xml", line=12))
    with pytest.raises(ObjectCreationError) as info:
        ApplicationContext(defs)
    assert str(info.value) == "app.xml:12: object 'svc': after_properties_set() failed: RuntimeError: cannot start: disk full"
    assert isinstance(info.value.__cause__, RuntimeError)
    assert (info.value.file, info.value.line, info.value.object_id) == ("app.xml", 12, "svc")


def test_failed_start_destroys_what_was_started(journal):
    """When start fails part-way, objects already initialized are destroyed and their ports freed."""
    defs = Defs(
        define("holder", class_name="helpers_context.SocketHolder"),
        tracked("t"),
        define("bad", class_name="helpers_context.FailingInit"),
        tracked("never"),
    )
    with pytest.raises(ObjectCreationError, match="object 'bad'"):
        ApplicationContext(defs)
    assert journal == ["init t", "destroy t"]
    (port,) = SocketHolder.bound
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))  # the port is free again


def test_unknown_module_and_class():
    """An unknown module or class is reported with file, line and object id."""
    with pytest.raises(ConfigurationError, match=r"^a.xml:3: object 'x': class 'nosuch.Thing': cannot import module 'nosuch'"):
        ApplicationContext(Defs(define("x", class_name="nosuch.Thing", file="a.xml", line=3)))
    with pytest.raises(ConfigurationError, match=r"^a.xml:4: object 'y': class 'helpers_context.Nope': module 'helpers_context' has no attribute 'Nope'"):
        ApplicationContext(Defs(define("y", class_name="helpers_context.Nope", file="a.xml", line=4)))
    with pytest.raises(ConfigurationError, match=r"unknown class 'NoSuchService': a bare name must be defined in the running script"):
        ApplicationContext(Defs(define("z", class_name="NoSuchService")))


def test_unknown_reference():
    """A reference to an undefined object names the referring object and suggests a close id."""
    defs = Defs(define("service"), define("client", line=9, properties=[PropertyDef("s", Ref("servce"))]))
    with pytest.raises(ConfigurationError, match=r"^defs.xml:9: object 'client': reference to unknown object 'servce' \(did you mean 'service'\?\)"):
        ApplicationContext(defs)


def test_circular_reference_shows_cycle(journal):
    """A cycle of references is refused before anything is created, showing a -> b -> a."""
    defs = Defs(
        tracked("first"),
        define("a", properties=[PropertyDef("b", Ref("b"))]),
        define("b", line=5, constructor_args=[Argument(Ref("a"))]),
    )
    with pytest.raises(CircularDependencyError) as info:
        ApplicationContext(defs)
    assert info.value.cycle == ("a", "b", "a")
    assert "circular reference: a -> b -> a" in str(info.value)
    assert journal == []


def test_self_reference_is_a_cycle():
    """An object referring to itself is a cycle of one."""
    with pytest.raises(CircularDependencyError, match="a -> a"):
        ApplicationContext(Defs(define("a", properties=[PropertyDef("me", Ref("a"))])))


def test_constructor_args_that_do_not_fit():
    """Arguments that cannot fit the constructor are refused at start, naming the signature."""
    defs = Defs(define("p", class_name="helpers_context.Pair", line=2,
                       constructor_args=[Argument(Value(1)), Argument(Value(2)), Argument(Value(3))]))
    with pytest.raises(ConfigurationError, match=r"^defs.xml:2: object 'p': constructor arguments do not fit Pair\(left, right=None\): too many positional arguments"):
        ApplicationContext(defs)
    defs = Defs(define("q", class_name="helpers_context.Pair", constructor_args=[Argument(Value(1)), Argument(Value(1), name="nope")]))
    with pytest.raises(ConfigurationError, match="unexpected keyword argument 'nope'"):
        ApplicationContext(defs)


def test_index_gap_and_index_with_name():
    """An index beyond the given arguments, or index and name together, are refused."""
    with pytest.raises(ConfigurationError, match="index 3 leaves a gap"):
        ApplicationContext(Defs(define("a", constructor_args=[Argument(Value(1), index=3)])))
    with pytest.raises(ConfigurationError, match="both 'index' and 'name'"):
        ApplicationContext(Defs(define("a", constructor_args=[Argument(Value(1), index=0, name="x")])))


def test_unknown_and_cyclic_parents():
    """A missing parent or a parent chain that loops is reported with the object id."""
    with pytest.raises(ConfigurationError, match=r"object 'c': parent 'ghost' is not defined"):
        ApplicationContext(Defs(define("c", parent="ghost")))
    with pytest.raises(CircularDependencyError, match="x -> y -> x"):
        ApplicationContext(Defs(define("x", parent="y"), define("y", parent="x")))


def test_reference_to_abstract_object():
    """Referring to an abstract object is refused."""
    with pytest.raises(ConfigurationError, match="reference to abstract object 'base'"):
        ApplicationContext(Defs(define("base", abstract=True), define("a", properties=[PropertyDef("b", Ref("base"))])))


def test_exception_in_constructor_is_wrapped():
    """An exception raised by a constructor names the object and chains the cause."""
    defs = Defs(define("i", class_name="int", constructor_args=[Argument(Value("not a number"))]))
    with pytest.raises(ObjectCreationError, match=r"object 'i': creating it failed: ValueError") as info:
        ApplicationContext(defs)
    assert isinstance(info.value.__cause__, ValueError)


def test_all_problems_are_listed_by_check():
    """check_configs lists every static problem, not just the first."""
    from springpython.context.container import check_configs

    problems = check_configs(Defs(
        define("a", class_name="nosuch.X", line=1),
        define("b", line=2, properties=[PropertyDef("r", Ref("ghost"))]),
        define("c", line=3, properties=[PropertyDef("r", Ref("c"))]),
    ))
    assert [(p.line, p.object_id) for p in problems] == [(2, "b"), (3, "c"), (1, "a")]
    assert logging
