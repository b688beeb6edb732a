"""The benchmark's generated contexts are valid documents that build in the container."""

from __future__ import annotations

import pytest

from benchmarks.context_classes import Leaf, Node
from benchmarks.gen_context import generate_context_xml
from springpython.config import XMLConfig
from springpython.config.definitions import Collection, Inner, Mapping, Ref
from springpython.context import ApplicationContext


def test_generated_context_reads(tmp_path):
    """n objects come out, with references, collections and inner objects among them."""
    path = tmp_path / "generated.xml"
    path.write_text(generate_context_xml(40), encoding="utf-8")
    definitions = XMLConfig(path).read_object_defs()
    assert [d.id for d in definitions] == [f"o{i}" for i in range(40)]
    values = [p.value for d in definitions for p in d.properties]
    assert any(isinstance(v, Ref) for v in values)
    assert any(isinstance(v, Inner) for v in values)
    assert {v.kind for v in values if isinstance(v, Collection)} == {list, tuple, set}
    assert any(isinstance(v, Mapping) for v in values)


def test_generated_context_builds(tmp_path):
    """Every generated object is created by the container with its wiring."""
    path = tmp_path / "generated.xml"
    path.write_text(generate_context_xml(12), encoding="utf-8")
    with ApplicationContext(XMLConfig(path)) as ctx:
        o0, o1, o2 = ctx.get_object("o0"), ctx.get_object("o1"), ctx.get_object("o2")
        assert isinstance(o0, Leaf) and (o0.name, o0.weight) == ("leaf 0", 0)
        assert isinstance(o1, Node) and o1.peer is o0
        assert o1.items == ["first 1", o0, 1.5]
        assert o1.table == {"name": "table 1", "peer": o0}
        assert isinstance(o2.helper, Leaf) and o2.helper.name == "inner 2"
        assert ctx.get_object("o3").settings == {"host": "127.0.0.1", "port": "7003"}


def test_negative_size_is_refused():
    """A negative object count is a ValueError."""
    with pytest.raises(ValueError):
        generate_context_xml(-1)


def test_benchmark_rows_without_a_target_are_shown_but_not_judged(capsys):
    """A breakdown row (target None) prints '-' for target and verdict and never fails the run."""
    from benchmarks._harness import Result, print_table

    rows = [
        Result("g", "whole", 5.0, 1.0, "s", 3.0, higher_is_better=False),
        Result("g", "  part", 4.0, 1.0, "s", None, higher_is_better=False),
    ]
    assert [r.met for r in rows] == [False, True]
    print_table(rows)
    lines = capsys.readouterr().out.splitlines()
    assert lines[2].split()[-2:] == ["3", "NO"] and lines[3].split()[-2:] == ["-", "-"]
