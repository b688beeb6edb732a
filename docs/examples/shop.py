"""Classes used by the examples of the container reference. The pages include the
XML files next to this module, and their doctests build contexts from them."""

from __future__ import annotations

from springpython.context import DisposableObject, InitializingObject, ObjectPostProcessor

#: What the lifecycle examples did, in order.
EVENTS: list[str] = []


class Service:
    """The service of the getting-started story."""

    def get_data(self, param):
        return "You got remote data => %s" % param


class Box:
    """Keeps whatever it is given: constructor arguments, and properties as attributes."""

    def __init__(self, *args, **kwargs):
        self.args = args
        self.kwargs = kwargs


class Connection(InitializingObject, DisposableObject):
    """Opens when its properties are set, closes when the context shuts down."""

    url = None

    def __init__(self, name):
        self.name = name

    def after_properties_set(self):
        EVENTS.append(f"open {self.name} ({self.url})")

    def destroy(self):
        EVENTS.append(f"close {self.name}")


class Cache:
    """Not a DisposableObject: the configuration names its clean-up method."""

    def flush(self):
        EVENTS.append("flush cache")


class Audit(ObjectPostProcessor):
    """Sees every object the context creates."""

    def post_process_after_initialization(self, obj, obj_name):
        EVENTS.append(f"created {obj_name}")
        return obj


class Broken(InitializingObject):
    """Fails to start, to show that a failed start is rolled back."""

    def after_properties_set(self):
        raise RuntimeError("the database is down")
