"""The objects of ``objects.xml`` again, configured in Python."""

from springpython.config import Object, PythonConfig
from springpython.context import scope

from shop import Box, Cache, Service


class ShopConfig(PythonConfig):
    @Object
    def service(self):
        return Service()

    @Object(scope.PROTOTYPE)
    def scratch(self):
        return Box()

    @Object(lazy_init=True)
    def report(self):
        box = Box()
        box.title = "Monthly report"
        return box

    @Object
    def shipment(self):
        # Calling another @Object method goes through the context:
        # this is the same shared service every other object gets.
        return Box("first", "second", carrier=self.service())

    @Object(destroy_method="flush")
    def cache(self):
        return Cache()
