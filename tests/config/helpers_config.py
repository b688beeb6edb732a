"""Shared pieces of the configuration reader tests: fixtures that write XML
documents into tmp_path, and plain classes the end-to-end documents name.

(Not a conftest.py: a second module named ``conftest`` would shadow the suite's.)"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any, Callable

import pytest

from springpython.context import DisposableObject

NS11 = "http://www.springframework.org/springpython/schema/objects/1.1"
BEANS = "http://www.springframework.org/schema/beans"


class Widget:
    """Takes anything by constructor and by property."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        self.kwargs = kwargs


class Endpoint:
    """Has named constructor parameters, like a service with a host and a port."""

    def __init__(self, host: str = "localhost", port: int = 0) -> None:
        self.host = host
        self.port = port


class Closable(DisposableObject):
    """Records how it was shut down."""

    closed: list[str] = []

    def __init__(self, name: str = "") -> None:
        self.name = name

    def destroy(self) -> None:
        Closable.closed.append(self.name)

    def stop(self) -> None:
        Closable.closed.append(f"stop {self.name}")



@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """Write ``text`` (stripped of leading whitespace) to a file in tmp_path and return its path."""
    counter = iter(range(1_000_000))

    def write_file(text: str, name: str | None = None) -> Path:
        path = tmp_path / (name or f"config{next(counter)}.xml")
        path.write_text(text.lstrip(), encoding="utf-8")
        return path

    return write_file


@pytest.fixture
def objects(write: Callable[..., Path]) -> Callable[..., Path]:
    """Write an <objects> document (1.1 unless ``ns`` says otherwise) around ``body``;
    the body's first line is line 3 of the file."""

    def write_objects(body: str, ns: str = NS11, name: str | None = None) -> Path:
        body = textwrap.dedent(body).strip("\n")
        return write(f'<?xml version="1.0" encoding="UTF-8"?>\n<objects xmlns="{ns}">\n{body}\n</objects>\n', name)

    return write_objects


@pytest.fixture
def beans(write: Callable[..., Path]) -> Callable[..., Path]:
    """Write a Spring Java <beans> document around ``body``; its first line is line 3."""

    def write_beans(body: str, name: str | None = None) -> Path:
        body = textwrap.dedent(body).strip("\n")
        return write(f'<?xml version="1.0" encoding="UTF-8"?>\n<beans xmlns="{BEANS}">\n{body}\n</beans>\n', name)

    return write_beans
