"""DeclaredProperties: annotated class attributes are the constructor's typed keywords."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from springpython.context import ApplicationContextAware, DeclaredProperties
from springpython.context.properties import declared_properties, state


class Base(DeclaredProperties, ApplicationContextAware):
    LIMIT: ClassVar[int] = 3
    service: Any = None
    port: int | str = 7766
    _running: bool = state(False)


class Child(Base):
    timeout: float | None = None


def test_properties_are_annotated_attributes_in_declaration_order():
    """Base properties come first; ClassVars, private state and other bases' annotations are left out."""
    assert Child.__sp_properties__ == ("service", "port", "timeout")
    assert declared_properties(Child) == ("service", "port", "timeout")
    assert declared_properties(dict) is None


def test_keywords_and_positions_set_properties():
    """Properties may be given by name or, in declaration order, by position; the rest keep defaults."""
    child = Child("svc", 7000, timeout=2.5)
    assert (child.service, child.port, child.timeout) == ("svc", 7000, 2.5)
    assert Child().port == 7766 and Child()._running is False


def test_unknown_name_is_refused_with_a_suggestion():
    """A misspelt property is a TypeError suggesting the closest name."""
    with pytest.raises(TypeError, match="Child has no property 'serivce'; did you mean 'service'"):
        Child(serivce=1)
    with pytest.raises(TypeError, match="its properties are service, port, timeout"):
        Child(colour="red")


def test_private_state_and_too_many_positions_are_refused():
    """Private state is not a constructor keyword; extra positional values are an error."""
    with pytest.raises(TypeError, match="no property '_running'"):
        Child(_running=True)
    with pytest.raises(TypeError, match="at most 3 positional"):
        Child(1, 2, 3, 4)
    with pytest.raises(TypeError, match="multiple values"):
        Child(1, service=2)
