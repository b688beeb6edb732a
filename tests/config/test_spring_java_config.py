"""SpringJavaConfig reads Spring Java <beans> files into the same definitions as
XMLConfig, and refuses what it does not support with file, line and bean id."""

from __future__ import annotations

import decimal
import socket
from pathlib import Path

import pytest

from springpython._scope import Scope
from springpython.config import SpringJavaConfig
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
from springpython.errors import ConfigurationError, Source

from helpers_config import beans, objects, write  # noqa: F401  (fixtures used by name)

BEANS = "http://www.springframework.org/schema/beans"


def read(path: Path) -> list[ObjectDefinition]:
    return SpringJavaConfig(path).read_object_defs()


def one(path: Path) -> ObjectDefinition:
    (definition,) = read(path)
    return definition


def prop(definition: ObjectDefinition, name: str) -> PropertyDef:
    (found,) = [p for p in definition.properties if p.name == name]
    return found


def fail(path: Path) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as info:
        read(path)
    return info.value


def check(error: ConfigurationError, path: Path, line: int | None, bean_id: str | None, *fragments: str) -> None:
    """The error names the file, line and bean id, and says each fragment."""
    assert (error.file, error.line, error.object_id) == (str(path), line, bean_id), str(error)
    assert str(error).startswith(f"{path}:{line}: " if line else f"{path}: ")
    for fragment in fragments:
        assert fragment in str(error), str(error)


def test_typical_spring_file(write):
    """A typical namespaced Spring file with schemaLocation reads bean by bean."""
    path = write(
        f"""<?xml version="1.0" encoding="UTF-8"?>
<beans xmlns="{BEANS}"
       xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
       xsi:schemaLocation="{BEANS} http://www.springframework.org/schema/beans/spring-beans.xsd">

    <bean id="remoteService" class="server.Service"/>

    <bean id="service_exporter" class="springpython.remoting.pyro.PyroServiceExporter">
        <property name="service_name" value="ServiceName"/>
        <property name="service" ref="remoteService"/>
        <property name="service_port"><value>7000</value></property>
    </bean>
</beans>
"""
    )
    remote, exporter = read(path)
    assert (remote.id, remote.class_name, remote.source) == ("remoteService", "server.Service", Source(str(path), 6))
    assert exporter.properties == [
        PropertyDef("service_name", Value("ServiceName"), Source(str(path), 9)),
        PropertyDef("service", Ref("remoteService", Source(str(path), 10)), Source(str(path), 10)),
        PropertyDef("service_port", Value("7000"), Source(str(path), 11)),
    ]


def test_dtd_era_file_without_namespace(write):
    """A DTD-era file (DOCTYPE with a public id, no namespace) reads; its DTD is never fetched."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(5)
        port = listener.getsockname()[1]
        path = write(
            f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE beans PUBLIC "-//SPRING//DTD BEAN 2.0//EN" "http://127.0.0.1:{port}/spring-beans-2.0.dtd">
<beans>
    <bean id="a" class="com.example.Foo" singleton="false"/>
</beans>
"""
        )
        definition = one(path)
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            listener.accept()
    assert definition.class_name == "com.example.Foo"
    assert definition.scope is Scope.PROTOTYPE


def test_bean_attributes(beans):
    """scope, lazy-init, abstract, parent and destroy-method map onto the definition."""
    path = beans(
        """
        <bean id="base" class="m.Base" abstract="true" scope="prototype"/>
        <bean id="child" parent="base" lazy-init="TRUE" destroy-method="close" scope="Singleton"/>
        <bean id="plain" class="m.Plain" autowire="no" autowire-candidate="false"/>
        """
    )
    base, child, plain = read(path)
    assert base.abstract is True and base.scope is Scope.PROTOTYPE
    assert (child.parent, child.class_name, child.lazy_init, child.destroy_method) == ("base", None, True, "close")
    assert child.scope is Scope.SINGLETON
    assert (plain.scope, plain.lazy_init, plain.abstract) == (None, None, False)


def test_name_attribute_and_anonymous_beans(beans):
    """Without id the first name is the id; an anonymous bean is named <class>#<n>, like Spring."""
    path = beans(
        """
        <bean name="primary, alias; other" class="m.A"/>
        <bean class="m.B"/>
        <bean class="m.B"/>
        """
    )
    assert [d.id for d in read(path)] == ["primary", "m.B#0", "m.B#1"]


def test_beans_defaults(write):
    """default-lazy-init and default-destroy-method apply to beans that do not set them."""
    path = write(
        f"""<beans xmlns="{BEANS}" default-lazy-init="true" default-destroy-method="close">
    <bean id="a" class="m.A"/>
    <bean id="b" class="m.B" lazy-init="false" destroy-method="stop"/>
</beans>
"""
    )
    a, b = read(path)
    assert (a.lazy_init, a.destroy_method) == (True, "close")
    assert (b.lazy_init, b.destroy_method) == (False, "stop")


def test_constructor_args(beans):
    """constructor-arg by position, index and name, with attributes or children; type= is ignored."""
    path = beans(
        """
        <bean id="a" class="m.A">
            <constructor-arg value="first"/>
            <constructor-arg index="1" ref="b"/>
            <constructor-arg name="size" type="int" value="3"/>
            <constructor-arg><ref bean="c"/></constructor-arg>
        </bean>
        """
    )
    file = str(path)
    assert one(path).constructor_args == [
        Argument(Value("first"), None, None, Source(file, 4)),
        Argument(Ref("b", Source(file, 5)), 1, None, Source(file, 5)),
        Argument(Value("3"), None, "size", Source(file, 6)),
        Argument(Ref("c", Source(file, 7)), None, None, Source(file, 7)),
    ]


def test_value_elements(beans):
    """ref bean/local, idref, value (as written), typed value, null, list, array, set, props."""
    path = beans(
        """
        <bean id="a" class="m.A">
            <property name="r1"><ref bean="x"/></property>
            <property name="r2"><ref local="y"/></property>
            <property name="id"><idref bean="z"/></property>
            <property name="v"><value> as written </value></property>
            <property name="n"><value type="int">42</value></property>
            <property name="f"><value type="java.lang.Double">2.5</value></property>
            <property name="b"><value type="boolean">TRUE</value></property>
            <property name="d"><value type="java.math.BigDecimal">1.10</value></property>
            <property name="s"><value type="java.lang.String">text</value></property>
            <property name="nothing"><null/></property>
            <property name="l"><list><value>1</value><ref bean="x"/><null/></list></property>
            <property name="arr"><array><value>1</value></array></property>
            <property name="set"><set><value>s</value></set></property>
            <property name="p"><props><prop key="k"> v </prop></props></property>
        </bean>
        """
    )
    file = str(path)
    values = {p.name: p.value for p in one(path).properties}
    assert values == {
        "r1": Ref("x", Source(file, 4)),
        "r2": Ref("y", Source(file, 5)),
        "id": Value("z"),
        "v": Value(" as written "),
        "n": Value(42),
        "f": Value(2.5),
        "b": Value(True),
        "d": Value(decimal.Decimal("1.10")),
        "s": Value("text"),
        "nothing": Value(None),
        "l": Collection(list, (Value("1"), Ref("x", Source(file, 14)), Value(None))),
        "arr": Collection(list, (Value("1"),)),
        "set": Collection(set, (Value("s"),)),
        "p": Mapping(((Value("k"), Value("v")),)),
    }


def test_map_entries(beans):
    """map entries: key/value, key-ref/value-ref, <key> with a value element, value elements."""
    path = beans(
        """
        <bean id="a" class="m.A">
            <property name="m">
                <map>
                    <entry key="k1" value="v1"/>
                    <entry key-ref="kb" value-ref="vb"/>
                    <entry><key><value>k3</value></key><ref bean="x"/></entry>
                    <entry key="k4"><list><value>l</value></list></entry>
                </map>
            </property>
        </bean>
        """
    )
    file = str(path)
    assert prop(one(path), "m").value == Mapping(
        (
            (Value("k1"), Value("v1")),
            (Ref("kb", Source(file, 7)), Ref("vb", Source(file, 7))),
            (Value("k3"), Ref("x", Source(file, 8))),
            (Value("k4"), Collection(list, (Value("l"),))),
        )
    )


def test_inner_beans(beans):
    """Inner beans become Inner definitions with ids <outer>.<slot>.<n or given id>."""
    path = beans(
        """
        <bean id="outer" class="m.Outer">
            <property name="helper">
                <bean class="m.Helper" scope="prototype">
                    <property name="x" value="1"/>
                </bean>
            </property>
            <constructor-arg><bean id="given" class="m.Arg"/></constructor-arg>
        </bean>
        """
    )
    outer = one(path)
    helper = prop(outer, "helper").value
    assert isinstance(helper, Inner)
    assert (helper.definition.id, helper.definition.scope) == ("outer.helper.1", Scope.PROTOTYPE)
    assert helper.definition.properties[0].value == Value("1")
    assert outer.constructor_args[0].value.definition.id == "outer.arg0.given"


def test_description(beans):
    """A bean's <description> is its description; the file's one is skipped."""
    path = beans(
        """
        <description>file</description>
        <bean id="a" class="m.A"><description> the A </description></bean>
        """
    )
    assert one(path).description == "the A"


# ----- errors ------------------------------------------------------------------------------------


def test_unknown_root(write):
    """A file that is not <beans> is refused with the expected root."""
    path = write('<objects xmlns="http://www.springframework.org/springpython/schema/objects/1.1"/>')
    check(fail(path), path, 1, None, "unknown root element", BEANS)


def test_unknown_element_in_bean(beans):
    """An element springpython does not support inside a bean names it, the line and the bean."""
    path = beans(
        """
        <bean id="svc" class="m.A">
            <lookup-method name="create" bean="x"/>
        </bean>
        """
    )
    check(fail(path), path, 4, "svc", "unsupported element <lookup-method>")


def test_foreign_namespace_element(write):
    """An element of another Spring namespace (context:, aop:) is refused by name."""
    path = write(
        f"""<beans xmlns="{BEANS}" xmlns:context="http://www.springframework.org/schema/context">
    <context:annotation-config/>
</beans>
"""
    )
    check(fail(path), path, 2, None, "unsupported element", "annotation-config")


def test_missing_class(beans):
    """A concrete bean without class or parent is refused."""
    path = beans('<bean id="svc"/>')
    check(fail(path), path, 3, "svc", "no class")


@pytest.mark.parametrize("attribute, hint", [("init-method", "after_properties_set"), ("factory-method", "not supported"), ("autowire", "does not support")])
def test_unsupported_bean_attribute(beans, attribute, hint):
    """Attributes that change behaviour springpython cannot honour are refused, not ignored."""
    path = beans(f'<bean id="svc" class="m.A" {attribute}="byName"/>')
    check(fail(path), path, 3, "svc", f"unsupported attribute {attribute}=", hint)


def test_import_is_refused(beans):
    """<import resource> says to list the files instead."""
    path = beans('<import resource="other.xml"/>')
    check(fail(path), path, 3, None, "other.xml", "SpringJavaConfig([...])")


@pytest.mark.parametrize(
    "body, fragment",
    [
        ('<property value="x"/>', "no name"),
        ('<property name="p"/>', "no value"),
        ('<property name="p" value="x" ref="y"/>', "more than one value"),
        ('<property name="p" colour="red" value="x"/>', "unsupported attribute colour"),
        ('<constructor-arg index="0" name="n" value="x"/>', "both index"),
        ('<constructor-arg index="first" value="x"/>', "index='first'"),
        ('<property name="p"><ref/></property>', "needs bean="),
        ('<property name="p"><value type="int">ten</value></property>', "'ten' is not valid"),
        ('<property name="p"><value type="com.x.Money">1</value></property>', "not supported"),
        ('<property name="p"><map><entry value="v"/></map></property>', "no key"),
        ('<property name="p"><map><entry key="k"/></map></property>', "no value"),
        ('<property name="p"><props><prop>v</prop></props></property>', "no key="),
    ],
)
def test_structural_errors(beans, body, fragment):
    """Structural mistakes name the file, the line and the bean."""
    path = beans(f'<bean id="svc" class="m.A">\n{body}\n</bean>')
    check(fail(path), path, 4, "svc", fragment)


def test_bad_scope(beans):
    """Spring's web scopes are refused with the expected values."""
    path = beans('<bean id="svc" class="m.A" scope="request"/>')
    check(fail(path), path, 3, "svc", "scope='request'", "'singleton' or 'prototype'")


def test_duplicate_bean_id(beans):
    """Two beans with one id in one file are refused."""
    path = beans('<bean id="a" class="m.A"/>\n<bean id="a" class="m.B"/>')
    check(fail(path), path, 4, "a", "duplicate bean id 'a'")


def test_xxe_is_refused(write):
    """An entity declaration in a beans file is refused like in XMLConfig."""
    path = write(
        f"""<?xml version="1.0"?>
<!DOCTYPE beans [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<beans xmlns="{BEANS}"><bean id="a" class="A"><property name="p" value="&x;"/></bean></beans>
"""
    )
    check(fail(path), path, 2, None, "entit", "refused")


def test_missing_file(tmp_path):
    """A missing file is named in the error."""
    path = tmp_path / "nope.xml"
    check(fail(path), path, None, None, "cannot read configuration file")


def test_external_dtd_file_is_never_loaded(write, tmp_path):
    """A DOCTYPE naming a local DTD file does not load it (a broken DTD does not matter)."""
    dtd = tmp_path / "broken.dtd"
    dtd.write_text("<!ELEMENT beans (bean*) this is not a DTD <<<", encoding="utf-8")
    path = write(
        f'<?xml version="1.0"?>\n<!DOCTYPE beans SYSTEM "{dtd.as_uri()}">\n'
        '<beans><bean id="a" class="m.A"/></beans>\n'
    )
    assert [d.id for d in read(path)] == ["a"]
