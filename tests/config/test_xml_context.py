"""XML configuration loaded into a real ApplicationContext gives the objects it
describes: collections, inner objects, typed values, references across files."""

from __future__ import annotations

import pytest

from springpython.config import SpringJavaConfig, XMLConfig
from springpython.context import ApplicationContext
from springpython.errors import ConfigurationError

from helpers_config import Closable, Endpoint, Widget, beans, objects, write  # noqa: F401  (fixtures)


def test_collections_typed_values_and_refs(objects):
    """Lists, tuples, sets, frozensets, dicts, props, nulls and typed values arrive as Python objects."""
    path = objects(
        """
        <object id="other" class="helpers_config.Widget"/>
        <object id="w" class="helpers_config.Widget">
            <property name="items">
                <list><value>a</value><int>2</int><float>2.5</float><bool>TRUE</bool><null/><ref object="other"/></list>
            </property>
            <property name="pair"><tuple><long>7</long><complex>1+2j</complex></tuple></property>
            <property name="tags"><set><value>x</value><value>y</value></set></property>
            <property name="frozen"><frozenset><str>f</str></frozenset></property>
            <property name="table">
                <dict>
                    <entry key="name" value="w"/>
                    <entry><key><int>1</int></key><ref object="other"/></entry>
                    <entry><key><tuple><value>t</value></tuple></key><list/></entry>
                </dict>
            </property>
            <property name="settings"><props><prop key="host"> 127.0.0.1 </prop></props></property>
        </object>
        """
    )
    with ApplicationContext(XMLConfig(path)) as ctx:
        w, other = ctx.get_object("w"), ctx.get_object("other")
        assert w.items == ["a", 2, 2.5, True, None, other]
        assert w.pair == (7, 1 + 2j)
        assert w.tags == {"x", "y"}
        assert w.frozen == frozenset({"f"})
        assert w.table == {"name": "w", 1: other, ("t",): []}
        assert w.settings == {"host": "127.0.0.1"}


def test_constructor_args_by_position_index_and_name(objects):
    """Positional, index= and name= constructor arguments reach the constructor."""
    path = objects(
        """
        <object id="by_name" class="helpers_config.Endpoint">
            <constructor-arg name="port"><int>7000</int></constructor-arg>
            <constructor-arg name="host" value="127.0.0.1"/>
        </object>
        <object id="by_index" class="helpers_config.Endpoint">
            <constructor-arg index="1"><int>8000</int></constructor-arg>
            <constructor-arg index="0" value="example"/>
        </object>
        <object id="positional" class="helpers_config.Widget">
            <constructor-arg value="one"/>
            <constructor-arg><list><value>two</value></list></constructor-arg>
        </object>
        """
    )
    with ApplicationContext(XMLConfig(path)) as ctx:
        assert (ctx.get_object("by_name").host, ctx.get_object("by_name").port) == ("127.0.0.1", 7000)
        assert (ctx.get_object("by_index").host, ctx.get_object("by_index").port) == ("example", 8000)
        assert ctx.get_object("positional").args == ("one", ["two"])


def test_inner_objects_are_built_and_prototypes_fresh(objects):
    """Inner objects are built in place; a prototype outer gets a fresh inner object each time."""
    path = objects(
        """
        <object id="outer" class="helpers_config.Widget" scope="prototype">
            <property name="helper">
                <object class="helpers_config.Endpoint">
                    <property name="port"><int>9</int></property>
                </object>
            </property>
            <constructor-arg><object class="helpers_config.Widget"/></constructor-arg>
        </object>
        """
    )
    with ApplicationContext(XMLConfig(path)) as ctx:
        first, second = ctx.get_object("outer"), ctx.get_object("outer")
        assert isinstance(first.helper, Endpoint) and first.helper.port == 9
        assert isinstance(first.args[0], Widget)
        assert first is not second
        assert first.helper is not second.helper


def test_top_level_typed_literal_can_be_referenced(objects):
    """A top-level <int id="port"> is an object other objects can reference."""
    path = objects(
        """
        <int id="port">7000</int>
        <str id="host">127.0.0.1</str>
        <object id="endpoint" class="helpers_config.Endpoint">
            <property name="port" ref="port"/>
            <property name="host" ref="host"/>
        </object>
        """
    )
    with ApplicationContext(XMLConfig(path)) as ctx:
        endpoint = ctx.get_object("endpoint")
        assert (endpoint.host, endpoint.port) == ("127.0.0.1", 7000)
        assert ctx.get_object("port") == 7000


def test_parent_inheritance_across_files_and_namespaces(objects):
    """A 1.1 child inherits class and properties from an abstract 1.0 parent in another file."""
    parent = objects(
        """
        <object id="base" class="helpers_config.Endpoint" abstract="true">
            <property name="host" value="base-host"/>
            <property name="port" value="1"/>
        </object>
        """,
        ns="http://www.springframework.org/springpython/schema/objects",
    )
    child = objects(
        """
        <object id="child" parent="base">
            <property name="port"><int>2</int></property>
        </object>
        """
    )
    with ApplicationContext(XMLConfig([parent, child])) as ctx:
        endpoint = ctx.get_object("child")
        assert isinstance(endpoint, Endpoint)
        assert (endpoint.host, endpoint.port) == ("base-host", 2)


def test_destroy_method_and_lazy_init(objects):
    """destroy-method runs at shutdown; lazy-init="TRUE" objects are created only when asked for."""
    Closable.closed.clear()
    path = objects(
        """
        <object id="eager" class="helpers_config.Closable" destroy-method="stop">
            <constructor-arg value="eager"/>
        </object>
        <object id="lazy" class="helpers_config.Closable" lazy-init="TRUE">
            <constructor-arg value="lazy"/>
        </object>
        """
    )
    ctx = ApplicationContext(XMLConfig(path))
    ctx.shutdown()
    assert "lazy" not in " ".join(Closable.closed)
    assert any("eager" in entry for entry in Closable.closed)


def test_unknown_reference_names_xml_file_and_line(objects):
    """A reference to an undefined object fails with the XML file, the line and the object id."""
    path = objects(
        """
        <object id="w" class="helpers_config.Widget">
            <property name="missing" ref="nowhere"/>
        </object>
        """
    )
    with pytest.raises(ConfigurationError) as info:
        ApplicationContext(XMLConfig(path))
    assert str(path) in str(info.value)
    assert "nowhere" in str(info.value)


def test_spring_java_config_into_context(beans):
    """A Spring Java beans file builds the same objects through the container."""
    path = beans(
        """
        <bean id="endpoint" class="helpers_config.Endpoint">
            <constructor-arg name="host" value="127.0.0.1"/>
            <property name="port"><value type="int">7000</value></property>
        </bean>
        <bean id="w" class="helpers_config.Widget">
            <property name="endpoints"><list><ref bean="endpoint"/></list></property>
            <property name="table"><map><entry key="k" value-ref="endpoint"/></map></property>
        </bean>
        """
    )
    with ApplicationContext(SpringJavaConfig(path)) as ctx:
        endpoint = ctx.get_object("endpoint")
        assert (endpoint.host, endpoint.port) == ("127.0.0.1", 7000)
        assert ctx.get_object("w").endpoints == [endpoint]
        assert ctx.get_object("w").table == {"k": endpoint}


def test_a_shut_down_context_is_freed_without_the_garbage_collector(objects):
    """Nothing the reader or the container builds refers back to itself: once a context
    is shut down and dropped, reference counting alone frees it, its definitions, its
    compiled builders and its objects (a 10,000-object context would otherwise leave
    hundreds of thousands of objects for the cyclic collector)."""
    import gc
    import weakref

    path = objects(
        """
        <object id="leaf" class="helpers_config.Widget"><property name="name" value="leaf"/></object>
        <object id="w" class="helpers_config.Widget">
            <property name="items">
                <list><ref object="leaf"/><object class="helpers_config.Widget"/><int>2</int></list>
            </property>
            <property name="table"><dict><entry key="k"><object class="helpers_config.Widget"/></entry></dict></property>
        </object>
        <object id="proto" class="helpers_config.Widget" scope="prototype">
            <property name="items"><list><ref object="w"/><object class="helpers_config.Widget"/></list></property>
        </object>
        """
    )
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        ctx = ApplicationContext(XMLConfig(path))
        proto = ctx.get_object("proto")
        watched = [weakref.ref(x) for x in (ctx, ctx.get_object("w"), ctx.get_object("leaf"), ctx._prototypes["proto"])]
        assert proto.items[0] is ctx.get_object("w") and isinstance(proto.items[1], Widget)
        ctx.shutdown()
        del ctx, proto
        assert [ref() for ref in watched] == [None] * len(watched)
    finally:
        if was_enabled:
            gc.enable()
