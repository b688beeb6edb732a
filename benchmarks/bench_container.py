"""Container benchmarks: loading a large XML context against lxml alone, how loading
scales, get_object against building the same objects by hand, and against the
containers users would pick instead (dependency-injector's Factory and Singleton
providers, injector's providers), doing the same wiring in the same run.

Targets, from what pure Python on lxml can reach (measured: our reader alone is
about 3x lxml's parse+validate, a stripped walker with no checks 1.5x): load+create
of 10,000 objects at most 5x lxml parse+validate; 1,000 -> 10,000 objects scaling
within 10% of lxml's own scaling on the same files; get_object ahead of both peers.
The peers are benchmark-only dependencies (in the ``test`` extra)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

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


class Single(Leaf):
    """The singleton of the look-up cases (its own class, so injector can bind it)."""


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


def _dependency_injector() -> Any:
    """The same wiring with dependency-injector: a container of Factory providers and a
    Singleton, asked for by name as its users do (``container.top()``)."""
    from dependency_injector import containers, providers

    class Wiring(containers.DeclarativeContainer):
        leaf = providers.Factory(Leaf, 42)
        middle = providers.Factory(Middle, leaf).add_attributes(name="m")
        top = providers.Factory(Top, middle).add_attributes(tag="t")
        single = providers.Singleton(Single)

    return Wiring()


def _injector() -> Any:
    """The same wiring with injector: unscoped providers, and a singleton binding."""
    import injector

    class Wiring(injector.Module):
        def configure(self, binder: injector.Binder) -> None:
            binder.bind(Single, to=Single, scope=injector.singleton)

        @injector.provider
        def leaf(self) -> Leaf:
            return Leaf(42)

        @injector.provider
        def middle(self, leaf: Leaf) -> Middle:
            made = Middle(leaf)
            made.name = "m"
            return made

        @injector.provider
        def top(self, middle: Middle) -> Top:
            made = Top(middle)
            made.tag = "t"
            return made

    return injector.Injector([Wiring()])


def lookups(seconds: float) -> list[Result]:
    from springpython.context import ApplicationContext

    di = _dependency_injector()
    inj = _injector()
    with ApplicationContext(_prototype_config()) as ctx:
        get = ctx.get_object
        for made in (get("top"), di.top(), inj.get(Top)):  # the same wiring everywhere
            assert (made.tag, made.middle.name, made.middle.leaf.value) == ("t", "m", 42)
        ours_proto = rate(lambda: get("top"), seconds)
        hand = rate(_by_hand, seconds)
        di_proto = rate(lambda: di.top(), seconds)
        inj_proto = rate(lambda: inj.get(Top), seconds)
        single = get("single")
        table = _Table({"single": single})
        ours_single = rate(lambda: get("single"), seconds)
        plain = rate(lambda: table.get("single"), seconds)
        di_singleton = rate(lambda: di.single(), seconds)
        inj_singleton = rate(lambda: inj.get(Single), seconds)
    return [
        Result(GROUP, "get_object prototype, 3 levels", hand / ours_proto, 1.0, "x slower than by hand",
               3.0, higher_is_better=False, baseline_name="by hand"),
        Result(GROUP, "  against dependency-injector Factory", ours_proto, di_proto, "calls/s", 1.0,
               baseline_name="dependency-injector"),
        Result(GROUP, "  against injector providers", ours_proto, inj_proto, "calls/s", 1.0,
               baseline_name="injector"),
        Result(GROUP, "get_object singleton", plain / ours_single, 1.0, "x slower than dict via method",
               3.0, higher_is_better=False, baseline_name="dict lookup"),
        Result(GROUP, "  against dependency-injector Singleton", ours_single, di_singleton, "calls/s", 1.0,
               baseline_name="dependency-injector"),
        Result(GROUP, "  against injector singleton", ours_single, inj_singleton, "calls/s", 1.0,
               baseline_name="injector"),
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
        Result(GROUP, "load+create 10,000 objects", big["ours"], big["lxml"], "s", 5.0, higher_is_better=False,
               baseline_name=lxml),
        Result(GROUP, "  of which: XMLConfig reads the definitions", big["read"], big["lxml"], "s", None,
               higher_is_better=False, baseline_name=lxml),
        Result(GROUP, "  of which: the context compiles and creates", big["create"], big["lxml"], "s", None,
               higher_is_better=False, baseline_name=lxml),
        Result(GROUP, "scaling 1,000 -> 10,000 objects", big["ours"], small["ours"], "s", None,
               higher_is_better=False, baseline_name="1,000 objects"),
        Result(GROUP, "  lxml parse+validate alone, same files", big["lxml"], small["lxml"], "s", None,
               higher_is_better=False, baseline_name="1,000 objects"),
        Result(GROUP, "  our scaling against lxml's", big["ours"] / small["ours"], big["lxml"] / small["lxml"],
               "x growth", 1.1, higher_is_better=False, baseline_name="lxml's growth"),
    ]


def run(quick: bool = False) -> list[Result]:
    seconds = 0.5 if quick else 1.5
    return loading(quick) + lookups(seconds)
