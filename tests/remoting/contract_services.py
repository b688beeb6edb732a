"""The service every transport exports in the contract tests, and its exception."""

from __future__ import annotations


class CalcError(Exception):
    """An application exception with a constructor the client cannot guess."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"{code}: {text}")
        self.code_number = code


class Calc:
    """Public methods that answer, raise, or try to stop the process; a private one."""

    def __init__(self) -> None:
        self.calls = 0

    def add(self, a, b):
        self.calls += 1
        return a + b

    def div(self, a, b):
        self.calls += 1
        return a / b

    def lookup(self, key):
        self.calls += 1
        return {}[key]

    def refuse(self, text):
        self.calls += 1
        raise CalcError(42, text)

    def leave(self):
        self.calls += 1
        raise SystemExit(2)

    def interrupt(self):
        self.calls += 1
        raise KeyboardInterrupt()

    def _secret(self):
        return "never"
