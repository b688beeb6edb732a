"""PythonConfig and @Object: configuration written as Python methods."""

from __future__ import annotations

import threading

import pytest
from helpers_context import Journal, Pair, Tracked, Wrapping

from springpython.config import Object, PythonConfig
from springpython.context import ApplicationContext, scope
from springpython.errors import CircularDependencyError, ObjectCreationError


class Calls:
    def __init__(self):
        self.count = 0


class AppConfig(PythonConfig):
    def __init__(self):
        super().__init__()
        self.created = Calls()

    @Object
    def repository(self):
        self.created.count += 1
        return Pair("repo")

    @Object(scope.PROTOTYPE, lazy_init=True)
    def request(self):
        return Pair(self.repository())

    @Object()
    def service(self):
        return Pair(self.repository(), self.request())

    @Object(lazy_init=True)
    def lazy_thing(self):
        return Pair("lazy")


def test_bare_and_called_decorator():
    """@Object works bare and with arguments; method names become object ids."""
    with ApplicationContext(AppConfig()) as ctx:
        assert set(ctx.get_object_names()) == {"repository", "request", "service", "lazy_thing"}
        assert ctx.get_object("lazy_thing").left == "lazy"


def test_methods_calling_each_other_share_singletons():
    """A singleton asked for by several methods is created once and shared."""
    config = AppConfig()
    with ApplicationContext(config) as ctx:
        service = ctx.get_object("service")
        assert service.left is ctx.get_object("repository")
        assert service.right.left is service.left
        assert config.repository() is service.left
        assert config.created.count == 1


def test_prototype_and_lazy_from_decorator():
    """@Object(scope.PROTOTYPE, lazy_init=True) gives a new object per request and none at start."""
    with ApplicationContext(AppConfig()) as ctx:
        assert "lazy_thing" not in ctx._singletons
        assert ctx.get_object("request") is not ctx.get_object("request")


def test_config_without_context():
    """Called directly (no context) the methods still honour the singleton scope."""
    config = AppConfig()
    assert config.repository() is config.repository()
    assert config.request() is not config.request()


def test_two_contexts_do_not_share_state():
    """Two contexts from two config instances have separate singletons."""
    with ApplicationContext(AppConfig()) as one, ApplicationContext(AppConfig()) as two:
        assert one.get_object("repository") is not two.get_object("repository")


def test_singleton_created_once_under_concurrency():
    """Many threads asking for a lazy singleton at once get one object."""
    class Slow(PythonConfig):
        def __init__(self):
            super().__init__()
            self.made = 0
            self.gate = threading.Barrier(8)

        @Object(lazy_init=True)
        def thing(self):
            self.made += 1
            return object()

    config = Slow()
    with ApplicationContext(config) as ctx:
        results = []

        def worker():
            config.gate.wait()
            results.append(ctx.get_object("thing"))

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert config.made == 1 and len({id(r) for r in results}) == 1


def test_lifecycle_applies_to_python_objects():
    """Objects from PythonConfig get after_properties_set, post-processing and destroy."""
    Journal.events = []

    class Config(PythonConfig):
        @Object
        def processor(self) -> Wrapping:
            return Wrapping()

        @Object
        def tracked(self):
            return Tracked("py")

    with ApplicationContext(Config()) as ctx:
        assert ctx.get_object("processor").after == ["tracked"]
        assert ctx.get_object("tracked").app_context is ctx
    assert Journal.events == ["init py", "destroy py"]


def test_factory_cycle_is_detected():
    """Methods that call each other in a loop raise a cycle error, not a RecursionError."""
    class Loop(PythonConfig):
        @Object
        def a(self):
            return Pair(self.b())

        @Object
        def b(self):
            return Pair(self.a())

    with pytest.raises(CircularDependencyError, match="a -> b -> a"):
        ApplicationContext(Loop())


def test_factory_error_names_method_file_and_line():
    """An exception in an @Object method names the source file, line and object id."""
    class Broken(PythonConfig):
        @Object
        def broken(self):
            raise LookupError("no such row")

    with pytest.raises(ObjectCreationError, match=r"test_python_config.py:\d+: object 'broken': its factory failed: LookupError: no such row"):
        ApplicationContext(Broken())


def test_subclass_overrides_object_method():
    """A subclass may redefine an @Object method; the override wins."""
    class Override(AppConfig):
        @Object
        def repository(self):
            return Pair("other")

    with ApplicationContext(Override()) as ctx:
        assert ctx.get_object("repository").left == "other"
