"""The sample's service: plain methods, exported over Hessian and XML-RPC."""

import os


class Calculator:
    """Adds, divides, and says which worker process answered."""

    def add(self, a, b):
        return a + b

    def div(self, a, b):
        return a / b

    def pid(self):
        return os.getpid()
