"""Container benchmarks: loading a large XML context against lxml alone, how loading
scales, and get_object against building the same objects by hand."""

from __future__ import annotations

import tempfile
from pathlib import Path

from benchmarks._harness import Result, best_time, rate

GROUP = "container"


class Leaf:
    def __init__(self, value=None):
        self.value = value


class Middle:
    def __init__(self, leaf=None):
        self.leaf = leaf
        self.name = None


class Top:
    def __init__(self, middle=None):
        self.middle = middle
        self.tag = None


class _Table:
    """The baseline for a singleton look-up: a dict behind a method."""

    def __init__(self, objects):
        self._objects = objects

    def get(self, name):
        return self._objects[name]


def _prototype_config():
    from springpython.config.definitions import Argument, Config, ObjectDefinition, PropertyDef, Ref, Value
    from springpython.context import scope

    class Defs(Config):
        def read_object_defs(self):
            return [
                ObjectDefinition("leaf", class_name=f"{__name__}.Leaf", scope=scope.PROTOTYPE,
                                 constructor_args=[Argument(Value(42))]),
                ObjectDefinition("middle", class_name=f"{__name__}.Middle", scope=scope.PROTOTYPE,
                                 constructor_args=[Argument(Ref("leaf"))], properties=[PropertyDef("name", Value("m"))]),
                ObjectDefinition("top", class_name=f"{__name__}.Top", scope=scope.PROTOTYPE,
                                 constructor_args=[Argument(Ref("middle"))], properties=[PropertyDef("tag", Value("t"))]),
                ObjectDefinition("single", class_name=f"{__name__}.Leaf"),
            ]

    return Defs()


def _by_hand():
    middle = Middle(Leaf(42))
    middle.name = "m"
    top = Top(middle)
    top.tag = "t"
    return top


def lookups(seconds: float) -> list[Result]:
    from springpython.context import ApplicationContext

    with ApplicationContext(_prototype_config()) as ctx:
        get = ctx.get_object
        ours_proto = rate(lambda: get("top"), seconds)
        hand = rate(_by_hand, seconds)
        single = get("single")
        table = _Table({"single": single})
        ours_single = rate(lambda: get("single"), seconds)
        plain = rate(lambda: table.get("single"), seconds)
    return [
        Result(GROUP, "get_object prototype, 3 levels", hand / ours_proto, 1.0, "x slower than by hand",
               3.0, higher_is_better=False, baseline_name="by hand"),
        Result(GROUP, "get_object singleton", plain / ours_single, 1.0, "x slower than dict via method",
               3.0, higher_is_better=False, baseline_name="dict lookup"),
    ]


def _load_times(n: int, directory: Path, repeat: int) -> dict[str, float]:
    """Best seconds for ``n`` objects: lxml's parse + validate ("lxml"), our reader alone
    ("read"), the container alone from ready definitions ("create") and both ("ours")."""
    from lxml import etree

    from benchmarks.gen_context import generate_context_xml
    from springpython.config import XMLConfig
    from springpython.config.definitions import Config
    from springpython.config.xml import schema_for
    from springpython.context import ApplicationContext

    path = directory / f"context-{n}.xml"
    path.write_text(generate_context_xml(n), encoding="utf-8")
    schema = schema_for(etree.parse(str(path)).getroot())
    definitions = XMLConfig(str(path)).read_object_defs()

    class Ready(Config):
        def read_object_defs(self):
            return list(definitions)

    def lxml_only():
        parser = etree.XMLParser(resolve_entities=False, no_network=True)
        schema.assertValid(etree.parse(str(path), parser))

    return {
        "ours": best_time(lambda: ApplicationContext(XMLConfig(str(path))).shutdown(), repeat),
        "lxml": best_time(lxml_only, repeat),
        "read": best_time(lambda: XMLConfig(str(path)).read_object_defs(), repeat),
        "create": best_time(lambda: ApplicationContext(Ready()).shutdown(), repeat),
    }


def loading(quick: bool) -> list[Result]:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        small = _load_times(1_000, directory, 15)  # short runs: more of them for a steady best
        big = _load_times(10_000, directory, 5)
    lxml = "lxml parse+validate"
    return [
        Result(GROUP, "load+create 10,000 objects", big["ours"], big["lxml"], "s", 3.0, higher_is_better=False,
               baseline_name=lxml),
        Result(GROUP, "  of which: XMLConfig reads the definitions", big["read"], big["lxml"], "s", None,
               higher_is_better=False, baseline_name=lxml),
        Result(GROUP, "  of which: the context compiles and creates", big["create"], big["lxml"], "s", None,
               higher_is_better=False, baseline_name=lxml),
        Result(GROUP, "scaling 1,000 -> 10,000 objects", big["ours"], small["ours"], "s", 11.0,
               higher_is_better=False, baseline_name="1,000 objects"),
        Result(GROUP, "  lxml parse+validate alone, same files", big["lxml"], small["lxml"], "s", None,
               higher_is_better=False, baseline_name="1,000 objects"),
    ]


def run(quick: bool = False) -> list[Result]:
    seconds = 0.5 if quick else 1.5
    return loading(quick) + lookups(seconds)
