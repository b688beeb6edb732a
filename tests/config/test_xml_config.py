"""XMLConfig turns every element and attribute of the objects format into the right
definitions (pure: documents written into tmp_path, no container)."""

from __future__ import annotations

import decimal
import logging
import socket
from pathlib import Path

import pytest

from springpython._scope import Scope
from springpython.config import Config, XMLConfig
from springpython.config.definitions import (
    Argument,
    Collection,
    Inner,
    Mapping,
    ObjectDefinition,
    PropertyDef,
    Ref,
    Value,
)
from springpython.errors import Source

from helpers_config import beans, objects, write  # noqa: F401  (fixtures used by name)

NS11 = "http://www.springframework.org/springpython/schema/objects/1.1"
NS10 = "http://www.springframework.org/springpython/schema/objects"

CHAPTER_HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<objects xmlns="http://www.springframework.org/springpython/schema/objects/1.1"
       xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
       xsi:schemaLocation="http://www.springframework.org/springpython/schema/objects/1.1
               http://springpython.webfactional.com/schema/context/spring-python-context-1.1.xsd">
"""


def read(path: Path) -> list[ObjectDefinition]:
    return XMLConfig(path).read_object_defs()


def one(path: Path) -> ObjectDefinition:
    (definition,) = read(path)
    return definition


def prop(definition: ObjectDefinition, name: str) -> PropertyDef:
    (found,) = [p for p in definition.properties if p.name == name]
    return found


# ----- the reference chapter, verbatim -------------------------------------------------


def test_chapter_8_2_1_reads(write):
    """The chapter's first applicationContext.xml gives one object with a bare class name."""
    path = write(CHAPTER_HEADER + '\n    <object id="service" class="Service"/>\n\n</objects>\n')
    (definition,) = read(path)
    assert definition.id == "service"
    assert definition.class_name == "Service"
    assert definition.scope is None and definition.lazy_init is None and definition.abstract is False
    assert definition.properties == [] and definition.constructor_args == []
    assert definition.source == Source(str(path), 7)


def test_chapter_8_2_2_reads(write):
    """The exporter/proxy example gives three objects with value and ref properties."""
    path = write(
        CHAPTER_HEADER
        + """
    <object id="remoteService" class="Service"/>

    <object id="service_exporter" class="springpython.remoting.pyro.PyroServiceExporter">
        <property name="service_name" value="ServiceName"/>
        <property name="service" ref="remoteService"/>
    </object>

    <object id="service" class="springpython.remoting.pyro.PyroProxyFactory">
        <property name="service_url" value="PYROLOC://localhost:7766/ServiceName"/>
    </object>

</objects>
"""
    )
    remote, exporter, proxy = read(path)
    assert remote.id == "remoteService"
    assert exporter.class_name == "springpython.remoting.pyro.PyroServiceExporter"
    assert [(p.name, p.value) for p in exporter.properties] == [
        ("service_name", Value("ServiceName")),
        ("service", Ref("remoteService", Source(str(path), 11))),
    ]
    assert exporter.properties[0].source == Source(str(path), 10)
    assert proxy.properties == [
        PropertyDef("service_url", Value("PYROLOC://localhost:7766/ServiceName"), Source(str(path), 15))
    ]


def test_chapter_8_2_2_1_reads(write):
    """The host/port override example keeps port and host as the strings written."""
    path = write(
        CHAPTER_HEADER
        + """
    <object id="remoteService" class="Service"/>

    <object id="service_exporter" class="springpython.remoting.pyro.PyroServiceExporter">
        <property name="service_name" value="ServiceName"/>
        <property name="service" ref="remoteService"/>
        <property name="service_host" value="127.0.0.1"/>
        <property name="service_port" value="7000"/>
    </object>

    <object id="service" class="springpython.remoting.pyro.PyroProxyFactory">
        <property name="service_url" value="PYROLOC://127.0.0.1:7000/ServiceName"/>
    </object>

</objects>
"""
    )
    _, exporter, proxy = read(path)
    assert {p.name: p.value for p in exporter.properties} == {
        "service_name": Value("ServiceName"),
        "service": Ref("remoteService", Source(str(path), 11)),
        "service_host": Value("127.0.0.1"),
        "service_port": Value("7000"),
    }
    assert prop(proxy, "service_url").value == Value("PYROLOC://127.0.0.1:7000/ServiceName")


def test_chapter_8_2_4_server_and_client_read(write):
    """The split server.xml and client.xml read as two separate files."""
    server = write(
        CHAPTER_HEADER
        + """
    <object id="remoteService" class="server.Service"/>

    <object id="service_exporter" class="springpython.remoting.pyro.PyroServiceExporter">
        <property name="service_name" value="ServiceName"/>
        <property name="service" ref="remoteService"/>
        <property name="service_host" value="127.0.0.1"/>
        <property name="service_port" value="7000"/>
    </object>

</objects>
""",
        "server.xml",
    )
    client = write(
        CHAPTER_HEADER
        + """
    <object id="service" class="springpython.remoting.pyro.PyroProxyFactory">
        <property name="service_url" value="PYROLOC://127.0.0.1:7000/ServiceName"/>
    </object>

</objects>
""",
        "client.xml",
    )
    assert [d.id for d in read(server)] == ["remoteService", "service_exporter"]
    assert read(server)[0].class_name == "server.Service"
    assert [d.id for d in read(client)] == ["service"]


def test_chapter_hessian_value_element_is_exact(write):
    """<value>http://localhost:8080/</value> gives exactly that string."""
    path = write(
        CHAPTER_HEADER
        + """
    <object id="personService" class="springpython.remoting.hessian.HessianProxyFactory">
        <property name="service_url"><value>http://localhost:8080/</value></property>
    </object>

</objects>
"""
    )
    assert prop(one(path), "service_url").value == Value("http://localhost:8080/")


def test_schema_location_is_never_fetched(write):
    """An xsi:schemaLocation pointing at a live local port is not contacted."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(5)
        port = listener.getsockname()[1]
        path = write(
            f"""<?xml version="1.0"?>
<objects xmlns="{NS11}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="{NS11} http://127.0.0.1:{port}/context.xsd">
    <object id="a" class="A"/>
</objects>
"""
        )
        assert [d.id for d in read(path)] == ["a"]
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            listener.accept()


# ----- locations, logging ----------------------------------------------------------------


def test_accepts_str_path_and_list(objects):
    """A str, a Path or a list of them all work; Source.file is the path as given."""
    first = objects('<object id="a" class="A"/>')
    second = objects('<object id="b" class="B"/>')
    assert [d.id for d in XMLConfig(str(first)).read_object_defs()] == ["a"]
    assert XMLConfig(first).read_object_defs()[0].source.file == str(first)
    both = XMLConfig([first, str(second)]).read_object_defs()
    assert [(d.id, d.source.file) for d in both] == [("a", str(first)), ("b", str(second))]


def test_is_a_config_and_rereads(objects):
    """XMLConfig is a Config, and reading twice gives equal, fresh definitions."""
    config = XMLConfig(objects('<object id="a" class="A"><property name="p" value="v"/></object>'))
    assert isinstance(config, Config)
    first, second = config.read_object_defs(), config.read_object_defs()
    assert first == second
    assert first[0] is not second[0]


def test_rejects_non_path_argument():
    """A location that is neither str nor PathLike is a TypeError at construction."""
    with pytest.raises(TypeError, match="PathLike"):
        XMLConfig([42])  # type: ignore[list-item]


def test_references_across_files_stay_refs(objects):
    """A ref to an object of another file is a plain Ref for the container to resolve."""
    first = objects('<object id="a" class="A"><property name="b" ref="b"/></object>')
    second = objects('<object id="b" class="B"/>')
    a, b = XMLConfig([first, second]).read_object_defs()
    assert prop(a, "b").value.object_id == "b"
    assert b.id == "b"


def test_logs_parsing_at_debug(objects, caplog):
    """Reading logs '* Parsing <file>' at DEBUG under springpython.config.xml."""
    path = objects('<object id="a" class="A"/>')
    with caplog.at_level(logging.DEBUG, logger="springpython.config.xml"):
        read(path)
    messages = [r.getMessage() for r in caplog.records if r.name == "springpython.config.xml"]
    assert f"* Parsing {path}" in messages


# ----- <object> attributes ---------------------------------------------------------------


def test_object_attributes(objects):
    """scope, lazy-init, abstract, parent and destroy-method land in the definition."""
    path = objects(
        """
        <object id="base" class="m.Base" abstract="true"/>
        <object id="a" parent="base" scope="prototype" lazy-init="true" destroy-method="close"/>
        """
    )
    base, a = read(path)
    assert base.abstract is True and base.class_name == "m.Base"
    assert a.parent == "base" and a.class_name is None
    assert a.scope is Scope.PROTOTYPE
    assert a.lazy_init is True
    assert a.destroy_method == "close"
    assert a.source.line == 4


@pytest.mark.parametrize("text, expected", [("singleton", Scope.SINGLETON), ("PROTOTYPE", Scope.PROTOTYPE), ("Singleton", Scope.SINGLETON)])
def test_scope_any_case(objects, text, expected):
    """scope accepts singleton/prototype in any case."""
    assert one(objects(f'<object id="a" class="A" scope="{text}"/>')).scope is expected


@pytest.mark.parametrize("text, expected", [("true", True), ("FALSE", False), ("False", False), ("TRUE", True), ("default", None)])
def test_lazy_init_any_case(objects, text, expected):
    """lazy-init accepts true/false in any case ("false" is False), and default means not given."""
    assert one(objects(f'<object id="a" class="A" lazy-init="{text}"/>')).lazy_init is expected


def test_abstract_false_is_false(objects):
    """abstract="False" is not abstract."""
    assert one(objects('<object id="a" class="A" abstract="False"/>')).abstract is False


def test_unset_attributes_stay_none(objects):
    """Attributes not written stay None so a parent can supply them."""
    definition = one(objects('<object id="a" parent="p"/>'))
    assert (definition.class_name, definition.scope, definition.lazy_init, definition.destroy_method) == (
        None,
        None,
        None,
        None,
    )


def test_description(objects):
    """<description> inside an object is its description (trimmed); the top-level one is ignored."""
    path = objects(
        """
        <description>the whole file</description>
        <object id="a" class="A">
            <description>
                does things
            </description>
            <property name="p" value="v"/>
        </object>
        """
    )
    definition = one(path)
    assert definition.description == "does things"
    assert prop(definition, "p").value == Value("v")


# ----- properties and constructor arguments ------------------------------------------------


def test_property_forms(objects):
    """value=, ref=, <value>, <ref> and <null/> are each one property value."""
    path = objects(
        """
        <object id="a" class="A">
            <property name="v1" value="one"/>
            <property name="r1" ref="b"/>
            <property name="v2"><value>two</value></property>
            <property name="r2"><ref object="c"/></property>
            <property name="n"><null/></property>
        </object>
        """
    )
    definition = one(path)
    file = str(path)
    assert definition.properties == [
        PropertyDef("v1", Value("one"), Source(file, 4)),
        PropertyDef("r1", Ref("b", Source(file, 5)), Source(file, 5)),
        PropertyDef("v2", Value("two"), Source(file, 6)),
        PropertyDef("r2", Ref("c", Source(file, 7)), Source(file, 7)),
        PropertyDef("n", Value(None), Source(file, 8)),
    ]


def test_constructor_args_positional_index_and_name(objects):
    """constructor-arg is positional, by index or by name, with attributes or a child."""
    path = objects(
        """
        <object id="a" class="A">
            <constructor-arg value="first"/>
            <constructor-arg index="2" ref="b"/>
            <constructor-arg name="size"><int>3</int></constructor-arg>
            <constructor-arg><value>fourth</value></constructor-arg>
            <constructor-arg index="0"><ref object="c"/></constructor-arg>
        </object>
        """
    )
    file = str(path)
    assert one(path).constructor_args == [
        Argument(Value("first"), None, None, Source(file, 4)),
        Argument(Ref("b", Source(file, 5)), 2, None, Source(file, 5)),
        Argument(Value(3), None, "size", Source(file, 6)),
        Argument(Value("fourth"), None, None, Source(file, 7)),
        Argument(Ref("c", Source(file, 8)), 0, None, Source(file, 8)),
    ]


def test_value_text_is_kept_as_written(objects):
    """<value> keeps surrounding whitespace and newlines; an empty <value/> is the empty string."""
    path = objects(
        """
        <object id="a" class="A">
            <property name="spaced"><value>  two words  </value></property>
            <property name="empty"><value/></property>
            <property name="multi"><value>line one
        line two</value></property>
            <property name="commented"><value>ab<!-- note -->cd</value></property>
            <property name="escaped"><value>&lt;tag&gt; &amp; &#233;</value></property>
            <property name="cdata"><value><![CDATA[<raw> & ]]></value></property>
        </object>
        """
    )
    values = {p.name: p.value for p in one(path).properties}
    assert values == {
        "spaced": Value("  two words  "),
        "empty": Value(""),
        "multi": Value("line one\nline two"),
        "commented": Value("abcd"),
        "escaped": Value("<tag> & \u00e9"),
        "cdata": Value("<raw> & "),
    }


def test_value_holding_a_collection(objects):
    """A <value> may hold one collection or ref instead of text."""
    path = objects(
        """
        <object id="a" class="A">
            <property name="l"><value>
                <list><value>x</value></list>
            </value></property>
            <property name="r"><value><ref object="b"/></value></property>
        </object>
        """
    )
    definition = one(path)
    assert prop(definition, "l").value == Collection(list, (Value("x"),))
    assert prop(definition, "r").value.object_id == "b"


# ----- collections ---------------------------------------------------------------------------


@pytest.mark.parametrize("tag, kind", [("list", list), ("tuple", tuple), ("set", set), ("frozenset", frozenset)])
def test_collections(objects, tag, kind):
    """<list>, <tuple>, <set> and <frozenset> give a Collection of that kind, items in order."""
    path = objects(
        f"""
        <object id="a" class="A">
            <property name="c">
                <{tag}>
                    <value>x</value>
                    <!-- a comment is not an item -->
                    <ref object="b"/>
                    <int>3</int>
                    <null/>
                </{tag}>
            </property>
        </object>
        """
    )
    node = prop(one(path), "c").value
    assert isinstance(node, Collection)
    assert node.kind is kind
    assert node.items == (Value("x"), Ref("b", Source(str(path), 8)), Value(3), Value(None))


def test_empty_and_nested_collections(objects):
    """Collections may be empty and may nest, in any combination."""
    path = objects(
        """
        <object id="a" class="A">
            <property name="c">
                <list>
                    <list/>
                    <tuple><frozenset><value>f</value></frozenset></tuple>
                    <dict><entry key="k"><set><value>s</value></set></entry></dict>
                </list>
            </property>
        </object>
        """
    )
    assert prop(one(path), "c").value == Collection(
        list,
        (
            Collection(list, ()),
            Collection(tuple, (Collection(frozenset, (Value("f"),)),)),
            Mapping(((Value("k"), Collection(set, (Value("s"),))),)),
        ),
    )


def test_dict_entries(objects):
    """<dict> entries take keys from <key> (value element or text) or key=, values from an element, value= or ref=."""
    path = objects(
        """
        <object id="a" class="A">
            <property name="d">
                <dict>
                    <entry><key><value>k1</value></key><value>v1</value></entry>
                    <entry><key>k2</key><ref object="b"/></entry>
                    <entry key="k3" value="v3"/>
                    <entry key="k4" ref="c"/>
                    <entry><key><int>5</int></key><list><value>x</value></list></entry>
                    <entry>
                        <key><tuple><value>t</value><int>1</int></tuple></key>
                        <null/>
                    </entry>
                </dict>
            </property>
        </object>
        """
    )
    file = str(path)
    assert prop(one(path), "d").value == Mapping(
        (
            (Value("k1"), Value("v1")),
            (Value("k2"), Ref("b", Source(file, 7))),
            (Value("k3"), Value("v3")),
            (Value("k4"), Ref("c", Source(file, 9))),
            (Value(5), Collection(list, (Value("x"),))),
            (Collection(tuple, (Value("t"), Value(1))), Value(None)),
        )
    )


def test_empty_dict(objects):
    """An empty <dict/> is an empty Mapping."""
    assert prop(one(objects('<object id="a" class="A"><property name="d"><dict/></property></object>')), "d").value == Mapping(())


def test_props_are_trimmed_strings(objects):
    """<props>/<prop key> give a Mapping of strings, each text trimmed."""
    path = objects(
        """
        <object id="a" class="A">
            <property name="p">
                <props>
                    <prop key="host"> 127.0.0.1 </prop>
                    <prop key="port">
                        7000
                    </prop>
                    <prop key="empty"/>
                </props>
            </property>
        </object>
        """
    )
    assert prop(one(path), "p").value == Mapping(
        ((Value("host"), Value("127.0.0.1")), (Value("port"), Value("7000")), (Value("empty"), Value("")))
    )


# ----- typed values ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "element, expected",
    [
        ("<int>42</int>", 42),
        ("<int> -7 </int>", -7),
        ("<long>12345678901234567890</long>", 12345678901234567890),
        ("<float>2.5</float>", 2.5),
        ("<decimal>2.50</decimal>", decimal.Decimal("2.50")),
        ("<bool>true</bool>", True),
        ("<bool>FALSE</bool>", False),
        ("<bool>True</bool>", True),
        ("<complex>1+2j</complex>", 1 + 2j),
        ("<str> spaced </str>", " spaced "),
        ("<unicode>\u00e9t\u00e9</unicode>", "\u00e9t\u00e9"),
        ("<str/>", ""),
    ],
)
def test_typed_values_convert_at_read_time(objects, element, expected):
    """Typed value elements become Value(python object): long->int, unicode->str, decimal->Decimal…"""
    node = prop(one(objects(f'<object id="a" class="A"><property name="p">{element}</property></object>')), "p").value
    assert node == Value(expected)
    assert type(node.value) is type(expected)


def test_top_level_typed_literal_is_an_object(objects):
    """A top-level <int id="port">7000</int> defines an object built from the converted value."""
    path = objects(
        """
        <int id="port">7000</int>
        <decimal id="rate" scope="prototype">0.25</decimal>
        <str id="name" lazy-init="true">svc</str>
        """
    )
    port, rate, name = read(path)
    assert (port.id, port.class_name, port.constructor_args[0].value) == ("port", "builtins.int", Value(7000))
    assert rate.class_name == "decimal.Decimal" and rate.scope is Scope.PROTOTYPE
    assert rate.constructor_args[0].value == Value(decimal.Decimal("0.25"))
    assert name.class_name == "builtins.str" and name.lazy_init is True
    assert port.source == Source(str(path), 3)


# ----- inner objects -------------------------------------------------------------------------


def test_inner_objects_get_generated_ids(objects):
    """Inner objects become Inner(definition) with ids <outer>.<slot>.<n> (or the id they were given)."""
    path = objects(
        """
        <object id="outer" class="Outer">
            <constructor-arg>
                <object class="First" scope="prototype"/>
            </constructor-arg>
            <property name="helper">
                <object class="Helper" lazy-init="true">
                    <property name="deep">
                        <object class="Deep"/>
                    </property>
                </object>
            </property>
            <property name="many">
                <list>
                    <object class="Item"/>
                    <object id="named" class="Item"/>
                </list>
            </property>
        </object>
        """
    )
    outer = one(path)
    first = outer.constructor_args[0].value
    assert isinstance(first, Inner)
    assert first.definition.id == "outer.arg0.1"
    assert first.definition.scope is Scope.PROTOTYPE
    helper = prop(outer, "helper").value.definition
    assert (helper.id, helper.class_name, helper.lazy_init) == ("outer.helper.2", "Helper", True)
    assert helper.source == Source(str(path), 8)
    assert prop(helper, "deep").value.definition.id == "outer.helper.2.deep.1"
    items = prop(outer, "many").value.items
    assert [item.definition.id for item in items] == ["outer.many.3", "outer.many.named"]


# ----- 1.0 namespace ---------------------------------------------------------------------------


def test_namespace_1_0_reads(objects):
    """The 1.0 namespace reads objects, properties, constructor args and collections."""
    path = objects(
        """
        <object id="a" class="A" scope="prototype" lazy-init="false">
            <constructor-arg value="x"/>
            <property name="r" ref="b"/>
            <property name="l"><list><value>1</value></list></property>
            <property name="d"><dict><entry><key><value>k</value></key><value>v</value></entry></dict></property>
            <property name="p"><props><prop key="k">v</prop></props></property>
        </object>
        <object id="b" class="B"/>
        """,
        ns=NS10,
    )
    a, b = read(path)
    assert a.scope is Scope.PROTOTYPE and a.lazy_init is False
    assert prop(a, "l").value == Collection(list, (Value("1"),))
    assert b.id == "b"


def test_both_namespaces_in_one_config(objects):
    """Files of both versions may be read together."""
    old = objects('<object id="a" class="A"/>', ns=NS10)
    new = objects('<object id="b" class="B"><property name="n"><int>1</int></property></object>')
    assert [d.id for d in XMLConfig([old, new]).read_object_defs()] == ["a", "b"]


def test_comments_and_processing_instructions_are_skipped(objects):
    """Comments and processing instructions anywhere are not definitions or values."""
    path = objects(
        """
        <!-- leading -->
        <?app hint?>
        <object id="a" class="A">
            <!-- inside -->
            <property name="p"><!-- before --><value>v</value><!-- after --></property>
            <property name="d"><dict><!-- c --><entry key="k"><!-- c --><value>v</value></entry></dict></property>
            <property name="q"><props><!-- c --><prop key="k">v</prop></props></property>
        </object>
        """
    )
    definition = one(path)
    assert [p.value for p in definition.properties] == [
        Value("v"),
        Mapping(((Value("k"), Value("v")),)),
        Mapping(((Value("k"), Value("v")),)),
    ]


def test_local_schema_location_and_dtd_are_never_loaded(write, tmp_path):
    """A schemaLocation or DOCTYPE naming broken local files does not load them."""
    broken = tmp_path / "broken.xsd"
    broken.write_text("<this is not a schema", encoding="utf-8")
    dtd = tmp_path / "broken.dtd"
    dtd.write_text("<!ELEMENT objects (object*) not a DTD <<<", encoding="utf-8")
    path = write(
        f"""<?xml version="1.0"?>
<!DOCTYPE objects SYSTEM "{dtd.as_uri()}">
<objects xmlns="{NS11}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="{NS11} {broken.as_uri()}">
    <object id="a" class="A"/>
</objects>
"""
    )
    assert [d.id for d in read(path)] == ["a"]
