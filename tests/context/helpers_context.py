"""Plain classes and a definitions-only configuration used by the container tests."""

from __future__ import annotations

import socket

from springpython.config.definitions import Config, ObjectDefinition
from springpython.context import (
    ApplicationContextAware,
    DisposableObject,
    InitializingObject,
    ObjectPostProcessor,
)
from springpython.context.properties import DeclaredProperties
from springpython.errors import Source


class Defs(Config):
    """A configuration that hands over ready-made definitions."""

    def __init__(self, *definitions: ObjectDefinition, name: str = "defs.xml") -> None:
        self.definitions = list(definitions)
        self.name = name

    def read_object_defs(self) -> list[ObjectDefinition]:
        return list(self.definitions)


def define(id: str, class_name: str = "helpers_context.Plain", line: int = 1, file: str = "defs.xml", **kw) -> ObjectDefinition:
    """An ObjectDefinition with a source."""
    return ObjectDefinition(id=id, class_name=class_name, source=Source(file, line), **kw)


class Plain:
    def __init__(self, *args, **kwargs):
        self.args = args
        self.kwargs = kwargs


class Pair:
    def __init__(self, left, right=None):
        self.left = left
        self.right = right


class Journal:
    """Records lifecycle events in order."""

    events: list[str] = []


class Tracked(InitializingObject, DisposableObject, ApplicationContextAware):
    def __init__(self, name="tracked", dep=None):
        self.name = name
        self.dep = dep
        self.destroyed = 0
        self.initialized = 0

    def after_properties_set(self):
        self.initialized += 1
        Journal.events.append(f"init {self.name}")

    def destroy(self):
        self.destroyed += 1
        Journal.events.append(f"destroy {self.name}")


class Closer:
    def __init__(self):
        self.closed = False

    def close(self):
        self.closed = True
        Journal.events.append("close")


class FailingInit(InitializingObject):
    def after_properties_set(self):
        raise RuntimeError("cannot start: disk full")


class FailingDestroy(DisposableObject):
    def destroy(self):
        Journal.events.append("failing destroy")
        raise RuntimeError("boom on destroy")


class SocketHolder(InitializingObject, DisposableObject):
    """Binds a real socket on start, closes it on destroy."""

    bound: list[int] = []

    def __init__(self):
        self.sock = None
        self.port = None

    def after_properties_set(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        SocketHolder.bound.append(self.port)

    def destroy(self):
        self.sock.close()


class Wrapper:
    def __init__(self, target):
        self.target = target


class Wrapping(ObjectPostProcessor):
    """Wraps every object after initialization and records what it saw."""

    def __init__(self):
        self.before: list[str] = []
        self.after: list[str] = []

    def post_process_before_initialization(self, obj, obj_name):
        self.before.append(obj_name)
        return obj

    def post_process_after_initialization(self, obj, obj_name):
        self.after.append(obj_name)
        return Wrapper(obj) if obj_name.startswith("wrap") else obj


class Slotted:
    __slots__ = ("a",)


class Bean(DeclaredProperties):
    """A class that declares its properties, like springpython's own beans."""

    service_name: str | None = None
    service_port: int = 7000
    _started: bool = False


class Endpointish:
    """A plain class: attributes set in __init__, one class attribute, one property."""

    timeout = 5.0

    def __init__(self):
        self.host = "localhost"

    @property
    def url(self):
        return f"http://{self.host}/"

    @url.setter
    def url(self, value):
        self.host = value


class Three:
    def __init__(self, a, b, c, d=None):
        self.values = (a, b, c, d)


class Closing(DisposableObject):
    """Names the method to call at shutdown with Spring Python 1.2's attribute."""

    def __init__(self):
        self.destroy_method = "close"
        self.calls = []

    def destroy(self):
        self.calls.append("destroy")

    def close(self):
        self.calls.append("close")
