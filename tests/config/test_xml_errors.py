"""Bad XML configuration gives a ConfigurationError that names the file, the line and
the object id (where there is one) — and dangerous documents are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from springpython.config import XMLConfig
from springpython.errors import ConfigurationError

from helpers_config import beans, objects, write  # noqa: F401  (fixtures used by name)

NS11 = "http://www.springframework.org/springpython/schema/objects/1.1"
NS10 = "http://www.springframework.org/springpython/schema/objects"


def fail(path: Path) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as info:
        XMLConfig(path).read_object_defs()
    return info.value


def check(error: ConfigurationError, path: Path, line: int | None, object_id: str | None, *fragments: str) -> None:
    """The error's fields and its message carry the file, line, id and each fragment."""
    message = str(error)
    assert error.file == str(path)
    assert error.line == line
    assert error.object_id == object_id
    where = f"{path}:{line}" if line is not None else str(path)
    assert message.startswith(where + ": "), message
    if object_id is not None:
        assert f"object '{object_id}'" in message
    for fragment in fragments:
        assert fragment in message, message


# ----- files and documents ---------------------------------------------------------------


def test_missing_file(tmp_path):
    """A file that does not exist is named in the error, with the reason."""
    path = tmp_path / "absent.xml"
    check(fail(path), path, None, None, "cannot read configuration file", "No such file")


def test_directory_instead_of_file(tmp_path):
    """A directory is not a configuration file."""
    check(fail(tmp_path), tmp_path, None, None, "cannot read configuration file")


def test_malformed_xml_names_line_and_object(write):
    """Malformed XML reports lxml's line and the object the error sits in."""
    path = write(
        f"""<?xml version="1.0"?>
<objects xmlns="{NS11}">
    <object id="fine" class="A"/>
    <object id="broken" class="B">
        <property name="p" value="v">
    </object>
</objects>
"""
    )
    error = fail(path)
    check(error, path, 6, "broken", "malformed XML", "mismatch")
    assert error.__cause__ is not None


def test_empty_file_is_malformed(write):
    """An empty file is malformed XML, not a crash."""
    path = write("")
    assert "malformed XML" in str(fail(path))
    assert fail(path).file == str(path)


def test_unknown_namespace(write):
    """A root in another namespace names what was found and what is expected."""
    path = write('<?xml version="1.0"?>\n<objects xmlns="urn:other"><object id="a" class="A"/></objects>\n')
    check(fail(path), path, 2, None, "unknown root element", "urn:other", NS11, NS10)


def test_no_namespace(write):
    """A root without a namespace is refused the same way."""
    path = write("<objects><object id='a' class='A'/></objects>")
    check(fail(path), path, 1, None, "unknown root element <objects>")


def test_wrong_root_element(write):
    """A root element other than <objects> is refused."""
    path = write(f'<object xmlns="{NS11}" id="a" class="A"/>')
    check(fail(path), path, 1, None, "unknown root element <object")


def test_spring_beans_file_gets_a_hint(write):
    """A Spring Java <beans> file read with XMLConfig says to use SpringJavaConfig."""
    path = write('<beans xmlns="http://www.springframework.org/schema/beans"/>')
    check(fail(path), path, 1, None, "SpringJavaConfig")


# ----- security -----------------------------------------------------------------------------


def test_xxe_is_refused(write):
    """A DOCTYPE declaring an external entity is refused, never expanded."""
    path = write(
        f"""<?xml version="1.0"?>
<!DOCTYPE objects [
  <!ENTITY x SYSTEM "file:///etc/passwd">
]>
<objects xmlns="{NS11}">
    <object id="a" class="A"><property name="p"><value>&x;</value></property></object>
</objects>
"""
    )
    error = fail(path)
    check(error, path, 3, None, "entit", "refused", "'x'")
    assert "root:" not in str(error)


def test_billion_laughs_is_refused(write):
    """Nested internal entities ("billion laughs") are refused, not expanded."""
    path = write(
        f"""<?xml version="1.0"?>
<!DOCTYPE objects [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<objects xmlns="{NS11}">
    <object id="a" class="A"><property name="p"><value>&lol9;</value></property></object>
</objects>
"""
    )
    check(fail(path), path, 3, None, "entities", "refused", "lol9")


def test_entity_from_unloaded_external_dtd_is_refused(write):
    """An entity reference that an external DTD would define is refused with its line and object."""
    path = write(
        f"""<?xml version="1.0"?>
<!DOCTYPE objects SYSTEM "http://127.0.0.1:9/objects.dtd">
<objects xmlns="{NS11}">
    <object id="a" class="A">
        <property name="p"><value>&secret;</value></property>
    </object>
</objects>
"""
    )
    check(fail(path), path, 5, "a", "entity reference &secret; refused")


def test_plain_doctype_without_entities_is_accepted(write):
    """A DOCTYPE that declares nothing is harmless and accepted."""
    path = write(f'<?xml version="1.0"?>\n<!DOCTYPE objects>\n<objects xmlns="{NS11}"><object id="a" class="A"/></objects>')
    assert [d.id for d in XMLConfig(path).read_object_defs()] == ["a"]


# ----- schema violations --------------------------------------------------------------------


def test_object_without_id(objects):
    """A top-level object without id is a schema violation at its line."""
    path = objects('<object id="a" class="A"/>\n<object class="B"/>')
    check(fail(path), path, 4, None, "schema violation", "Element 'object'", "'id' is required")


def test_unknown_element_inside_object(objects):
    """An unknown element inside an object names the object."""
    path = objects(
        """
        <object id="svc" class="A">
            <property name="p" value="v"/>
            <bogus/>
        </object>
        """
    )
    check(fail(path), path, 5, "svc", "schema violation", "'bogus'", "not expected")


def test_unknown_attribute_on_object(objects):
    """An attribute the schema does not know names the object and the attribute."""
    path = objects('<object id="svc" class="A" colour="red"/>')
    check(fail(path), path, 3, "svc", "schema violation", "colour")


def test_schema_violation_deep_inside_inner_object(objects):
    """A violation inside an anonymous inner object names the nearest object with an id."""
    path = objects(
        """
        <object id="outer" class="A">
            <property name="p">
                <object class="B">
                    <property name="q"><list><ref/></list></property>
                </object>
            </property>
        </object>
        """
    )
    check(fail(path), path, 6, "outer", "schema violation", "'object' is required")


def test_unknown_top_level_element(objects):
    """An unknown top-level element is a schema violation without an object id."""
    path = objects('<object id="a" class="A"/>\n<thing/>')
    check(fail(path), path, 4, None, "schema violation", "'thing'")


def test_negative_index(objects):
    """constructor-arg index must be a whole number >= 0."""
    path = objects('<object id="a" class="A"><constructor-arg index="-1" value="x"/></object>')
    check(fail(path), path, 3, "a", "schema violation", "index")


def test_typed_literal_in_1_0_is_a_violation(objects):
    """Typed values are 1.1 only: in a 1.0 file they are schema violations."""
    path = objects('<object id="a" class="A"><property name="p"><int>1</int></property></object>', ns=NS10)
    check(fail(path), path, 3, "a", "schema violation", "'int'")


def test_several_violations_are_counted(objects):
    """The first violation is reported and the others are counted."""
    path = objects('<object class="A"/>\n<object class="B"/>\n<object class="C"/>')
    check(fail(path), path, 3, None, "and 2 more schema violations")


# ----- what the reader checks --------------------------------------------------------------


def test_constructor_arg_with_index_and_name(objects):
    """index and name together on one constructor-arg are refused."""
    path = objects(
        """
        <object id="svc" class="A">
            <constructor-arg index="0" name="host" value="x"/>
        </object>
        """
    )
    check(fail(path), path, 4, "svc", "index='0'", "name='host'")


@pytest.mark.parametrize("scope", ["session", "", "single ton"])
def test_bad_scope(objects, scope):
    """A scope other than singleton/prototype is refused with the value."""
    path = objects(f'<object id="svc" class="A" scope="{scope}"/>')
    check(fail(path), path, 3, "svc", f"scope={scope!r}", "'singleton' or 'prototype'")


def test_bad_scope_on_inner_object(objects):
    """A bad scope on an inner object names the inner object's generated id."""
    path = objects(
        """
        <object id="svc" class="A">
            <property name="p"><object class="B" scope="request"/></property>
        </object>
        """
    )
    check(fail(path), path, 4, "svc.p.1", "scope='request'")


@pytest.mark.parametrize("attribute", ["lazy-init", "abstract"])
def test_bad_boolean_attribute(objects, attribute):
    """lazy-init and abstract accept only true/false (any case)."""
    path = objects(f'<object id="svc" class="A" {attribute}="yes"/>')
    check(fail(path), path, 3, "svc", f"{attribute}='yes'", "true or false")


@pytest.mark.parametrize(
    "element, kind",
    [
        ("<int>abc</int>", "int"),
        ("<long>1.5</long>", "long"),
        ("<float>fast</float>", "float"),
        ("<decimal>1,5</decimal>", "decimal"),
        ("<bool>yes</bool>", "bool"),
        ("<complex>1+</complex>", "complex"),
        ("<int></int>", "int"),
    ],
)
def test_bad_typed_literal(objects, element, kind):
    """A typed value that does not convert names file, line, object id and the bad text."""
    path = objects(
        f"""
        <object id="svc" class="A">
            <property name="p">
                <list>
                    <value>ok</value>
                    {element}
                </list>
            </property>
        </object>
        """
    )
    text = element[element.index(">") + 1 : element.rindex("<")]
    check(fail(path), path, 7, "svc", f"<{kind}> {text!r} is not valid", "expected")


def test_bad_top_level_literal(objects):
    """A bad top-level typed literal names its own id."""
    path = objects('<int id="port">seven</int>')
    check(fail(path), path, 3, "port", "<int> 'seven' is not valid")


@pytest.mark.parametrize(
    "body, fragment",
    [
        ('<property name="p" value="v" ref="b"/>', "more than one value"),
        ('<property name="p"/>', "no value"),
        ('<property name="p" value="v"><value>w</value></property>', "more than one value"),
        ('<property name="p" ref="b"><null/></property>', "more than one value"),
        ('<constructor-arg/>', "no value"),
        ('<constructor-arg value="x"><value>y</value></constructor-arg>', "more than one value"),
    ],
)
def test_property_and_argument_need_exactly_one_value(objects, body, fragment):
    """A property or constructor-arg with no value or two values is refused."""
    path = objects(f'<object id="svc" class="A">\n{body}\n</object>')
    check(fail(path), path, 4, "svc", fragment, "exactly one of")


@pytest.mark.parametrize(
    "entry, fragment",
    [
        ('<entry><value>v</value></entry>', "no key"),
        ('<entry key="k"><key>k2</key><value>v</value></entry>', "two keys"),
        ('<entry key="k"/>', "no value"),
        ('<entry key="k" value="v" ref="b"/>', "more than one value"),
    ],
)
def test_bad_dict_entry(objects, entry, fragment):
    """A dict entry needs exactly one key and one value."""
    path = objects(f'<object id="svc" class="A"><property name="d"><dict>\n{entry}\n</dict></property></object>')
    check(fail(path), path, 4, "svc", fragment)


def test_value_with_text_and_element(objects):
    """A <value> holding both text and an element is refused."""
    path = objects('<object id="svc" class="A"><property name="p">\n<value>text<list/></value></property></object>')
    check(fail(path), path, 4, "svc", "both text and an element")


def test_duplicate_id_in_one_file(objects):
    """Two objects with one id in the same file are refused, naming both lines."""
    path = objects('<object id="svc" class="A"/>\n<object id="svc" class="B"/>')
    check(fail(path), path, 4, "svc", "duplicate id 'svc'", "line 3")


def test_object_without_class_or_parent(objects):
    """A concrete object needs a class or a parent."""
    path = objects('<object id="svc" scope="prototype"/>')
    check(fail(path), path, 3, "svc", "no class")


def test_second_file_error_names_second_file(objects):
    """With several files, the error names the file that is wrong."""
    good = objects('<object id="a" class="A"/>')
    bad = objects('<object id="b" class="B" scope="nope"/>')
    with pytest.raises(ConfigurationError) as info:
        XMLConfig([good, bad]).read_object_defs()
    check(info.value, bad, 3, "b", "scope='nope'")


def test_earlier_parse_errors_do_not_leak_into_the_next_message(write):
    """Each malformed-XML error describes its own document, not one parsed before it."""
    first = write(f'<objects xmlns="{NS11}">\n\n<object id="a" class="A">\n</objects>')
    second = write(f'<objects xmlns="{NS11}">\n<object id="b" class="B"/>\n<broken\n</objects>')
    assert fail(first).line == 4
    error = fail(second)
    assert error.line == 4
    assert "a" != error.object_id


def test_deep_nesting_is_limited_by_the_parser(objects):
    """Nesting beyond libxml2's depth limit is a clear error, never a RecursionError; 200 levels read fine."""
    ok = objects('<object id="a" class="A"><property name="p">' + "<list>" * 200 + "</list>" * 200 + "</property></object>")
    assert XMLConfig(ok).read_object_defs()[0].id == "a"
    deep = objects('<object id="a" class="A"><property name="p">' + "<list>" * 300 + "</list>" * 300 + "</property></object>")
    check(fail(deep), deep, 3, "a", "malformed XML", "depth")


def test_deeply_nested_inner_objects_read(objects):
    """Inner objects nested as deep as the parser allows read without exhausting the stack."""
    n = 125
    path = objects('<object id="a" class="A">' + '<property name="p"><object class="B">' * n + "</object></property>" * n + "</object>")
    definition = XMLConfig(path).read_object_defs()[0]
    depth = 0
    while definition.properties:
        definition = definition.properties[0].value.definition
        depth += 1
    assert depth == n


def test_concurrent_reads_report_their_own_errors(objects):
    """Threads validating at once each get their own document's result and error."""
    import threading

    good = objects('<object id="good" class="A"/>')
    bad = objects('<object id="bad" class="A" colour="red"/>')
    outcomes: list[str] = []

    def work(path: Path) -> None:
        for _ in range(30):
            try:
                outcomes.append(XMLConfig(path).read_object_defs()[0].id)
            except ConfigurationError as exc:
                outcomes.append(f"{exc.object_id}:{'colour' in str(exc)}")

    threads = [threading.Thread(target=work, args=(p,)) for p in (good, bad, good, bad)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(set(outcomes)) == ["bad:True", "good"]
    assert len(outcomes) == 120


@pytest.mark.parametrize("scope", ["singleton", "prototype"])
def test_values_that_cannot_be_built_name_the_object_and_slot(objects, scope):
    """A set holding a list, or a dict keyed by a list, passes the schema but cannot be
    built: the error names the file, the object's line, its id and the argument or
    property, with the TypeError chained (for singletons at start, prototypes per get)."""
    from springpython.context import ApplicationContext
    from springpython.errors import ObjectCreationError

    path = objects(
        f"""
        <object id="setter" class="types.SimpleNamespace" scope="{scope}" lazy-init="true">
            <property name="tags"><set><tuple><list><value>x</value></list></tuple></set></property>
        </object>
        <object id="keyed" class="builtins.dict" scope="{scope}" lazy-init="true">
            <constructor-arg><dict><entry><key><list><value>k</value></list></key><value>v</value></entry></dict></constructor-arg>
        </object>
        """
    )
    with ApplicationContext(XMLConfig(path)) as ctx:
        for object_id, line, what in (("setter", 3, "setting property 'tags' failed"), ("keyed", 6, "creating it failed")):
            with pytest.raises(ObjectCreationError) as info:
                ctx.get_object(object_id)
            check(info.value, path, line, object_id, what, "TypeError: unhashable type: 'list'")
            assert isinstance(info.value.__cause__, TypeError)
