"""Configuration mistakes that used to pass silently, and Spring Python 1.2's
documented container API: unknown properties, ids defined twice, post-processors
declared late, inherited constructor arguments, abstract and parent objects."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from helpers_context import Bean, Closing, Defs, Endpointish, Three, Wrapper, Wrapping, define

from springpython.config import Object, PythonConfig, XMLConfig
from springpython.config.definitions import Argument, PropertyDef, Value
from springpython.context import ApplicationContext, scope
from springpython.context.container import check_configs, validate_configs
from springpython.errors import (
    AbstractObjectError,
    AbstractObjectException,
    ConfigurationError,
    NoSuchObjectError,
    Source,
)

NS = 'xmlns="http://www.springframework.org/springpython/schema/objects/1.1"'


def xml(path: Path, body: str) -> XMLConfig:
    path.write_text(f'<?xml version="1.0" encoding="UTF-8"?>\n<objects {NS}>\n{body}\n</objects>\n')
    return XMLConfig(str(path))


# -- 1. unknown properties ---------------------------------------------------------------
def test_misspelt_property_of_declaring_class_is_an_error(tmp_path):
    """A property a DeclaredProperties class does not declare fails the context with file, line, id and a suggestion."""
    config = xml(tmp_path / "app.xml", '<object id="bean" class="helpers_context.Bean">\n'
                                       '  <property name="serivce_port" value="7101"/>\n</object>')
    with pytest.raises(ConfigurationError) as info:
        ApplicationContext(config)
    assert str(info.value) == (
        f"{tmp_path / 'app.xml'}:4: object 'bean': Bean has no property 'serivce_port'; did you mean 'service_port'?"
    )
    assert (info.value.line, info.value.object_id) == (4, "bean")


def test_misspelt_property_found_without_creating_anything(tmp_path):
    """check_configs reports an undeclared property of an inner object with nothing created."""
    config = xml(tmp_path / "app.xml", '<object id="outer" class="helpers_context.Wrapper">\n'
                                       '  <constructor-arg><object class="helpers_context.Bean">\n'
                                       '    <property name="service_nam" value="x"/>\n'
                                       '  </object></constructor-arg>\n</object>')
    [problem] = check_configs(config)
    assert "Bean has no property 'service_nam'; did you mean 'service_name'?" in str(problem)
    assert problem.line == 5


def test_declared_properties_are_set(tmp_path):
    """Declared property names are accepted and set."""
    config = xml(tmp_path / "app.xml", '<object id="bean" class="helpers_context.Bean">\n'
                                       '  <property name="service_port" value="7101"/>\n</object>')
    with ApplicationContext(config) as ctx:
        assert ctx.get_object("bean").service_port == "7101"


def test_private_name_is_not_a_property(tmp_path):
    """A name that starts with _ is not a property of a declaring class, even with a class default."""
    config = xml(tmp_path / "app.xml", '<object id="bean" class="helpers_context.Bean">\n'
                                       '  <property name="_started" value="true"/>\n</object>')
    with pytest.raises(ConfigurationError, match="Bean has no property '_started'"):
        ApplicationContext(config)


def test_pyro_exporter_refuses_misspelt_port(tmp_path):
    """PyroServiceExporter with serivce_port is reported by the static check, before anything is created."""
    config = xml(tmp_path / "app.xml",
                 '<object id="exporter" class="springpython.remoting.pyro.PyroServiceExporter">\n'
                 '  <property name="service_name" value="Svc"/>\n'
                 '  <property name="serivce_port" value="7101"/>\n</object>')
    [problem] = check_configs(config)
    assert "has no property 'serivce_port'; did you mean 'service_port'?" in str(problem)
    assert (problem.line, problem.object_id) == (5, "exporter")


def test_plain_class_unknown_property_is_set_with_warning(tmp_path, caplog):
    """A plain class gets a property it never had, with a WARNING naming file, line and id."""
    config = xml(tmp_path / "app.xml", '<object id="ep" class="helpers_context.Endpointish">\n'
                                       '  <property name="host" value="h"/>\n'
                                       '  <property name="timout" value="3"/>\n'
                                       '  <property name="timeout" value="4"/>\n'
                                       '  <property name="url" value="u"/>\n</object>')
    with caplog.at_level(logging.WARNING, logger="springpython"), ApplicationContext(config) as ctx:
        ep = ctx.get_object("ep")
    assert (ep.host, ep.timout, ep.timeout) == ("u", "3", "4")
    assert [r.getMessage() for r in caplog.records] == [
        f"{tmp_path / 'app.xml'}:5: object 'ep': property 'timout' is not an attribute of Endpointish "
        "(set anyway; misspelt?)"
    ]


def test_plain_prototype_warned_once(caplog):
    """A prototype of a plain class warns about a property it never had once, not per object."""
    defs = Defs(define("p", class_name="helpers_context.Endpointish", scope=scope.PROTOTYPE,
                       properties=[PropertyDef("hots", Value("x"), Source("defs.xml", 3))]))
    with caplog.at_level(logging.WARNING, logger="springpython"), ApplicationContext(defs) as ctx:
        objects = [ctx.get_object("p") for _ in range(3)]
    assert [o.hots for o in objects] == ["x"] * 3
    assert [r.getMessage() for r in caplog.records] == [
        "defs.xml:3: object 'p': property 'hots' is not an attribute of Endpointish (set anyway; misspelt?)"
    ]


def test_validate_warns_about_plain_class_property_nothing_assigns(tmp_path):
    """validate_configs warns about a plain class's property no method assigns, and not about the others."""
    config = xml(tmp_path / "app.xml", '<object id="ep" class="helpers_context.Endpointish">\n'
                                       '  <property name="host" value="h"/>\n'
                                       '  <property name="timout" value="3"/>\n</object>')
    report = validate_configs(config)
    assert report.errors == []
    assert [str(w) for w in report.warnings] == [
        f"{tmp_path / 'app.xml'}:5: object 'ep': property 'timout' is not an attribute of Endpointish "
        "(set anyway; misspelt?)"
    ]


def test_python_config_misspelt_attribute_of_declaring_class():
    """A PythonConfig method that sets an undeclared attribute on a declaring class fails with the method's place."""

    class Config(PythonConfig):
        @Object
        def bean(self):
            bean = Bean()
            bean.serivce_port = 7101
            return bean

    with pytest.raises(ConfigurationError) as info:
        ApplicationContext(Config())
    assert "object 'bean': Bean has no property 'serivce_port'; did you mean 'service_port'?" in str(info.value)
    assert info.value.file == __file__


# -- 2. the same id twice -------------------------------------------------------------------
def test_overriding_refused_when_not_allowed():
    """allow_overriding=False refuses an id defined in two configurations, naming both places."""
    first = Defs(define("a", file="one.xml", line=2))
    second = Defs(define("a", file="two.xml", line=7))
    with pytest.raises(ConfigurationError) as info:
        ApplicationContext([first, second], allow_overriding=False)
    assert str(info.value) == (
        "two.xml:7: object 'a': defined again: the one at one.xml:2 may not be replaced (overriding is not allowed)"
    )


def test_validate_reports_overriding():
    """validate_configs lists an id defined twice as a warning naming both places."""
    report = validate_configs([Defs(define("a", file="one.xml", line=2)), Defs(define("a", file="two.xml", line=7))])
    assert report.errors == []
    assert [str(w) for w in report.warnings] == [
        "two.xml:7: object 'a': defined again: this definition replaces the one at one.xml:2"
    ]


# -- 3. post-processors declared after the objects ---------------------------------------
def test_post_processor_without_annotation_declared_last_applies_to_every_object():
    """A post-processor known only once created (no return annotation, declared last) still processes every object."""

    class Config(PythonConfig):
        @Object
        def wrap_first(self):
            return Three(1, 2, 3)

        @Object
        def second(self):
            return Three(4, 5, 6)

        @Object
        def processor(self):
            return Wrapping()

    with ApplicationContext(Config()) as ctx:
        processor = ctx.get_object("processor")
        assert isinstance(ctx.get_object("wrap_first"), Wrapper)
        assert isinstance(ctx.get_object("second"), Three)
        assert processor.before == processor.after == ["wrap_first", "second"]
        assert len(ctx._post_processors) == 1


# -- 4. positional constructor arguments of a child ------------------------------------------
def test_child_positional_argument_replaces_only_its_position():
    """A child with one positional argument under a parent with three inherits positions 2 and 3."""
    defs = Defs(
        define("base", class_name="helpers_context.Three", abstract=True,
               constructor_args=[Argument(Value("a0")), Argument(Value("b0")), Argument(Value("c0"))]),
        define("child", class_name=None, parent="base", constructor_args=[Argument(Value("a1"))]),
    )
    with ApplicationContext(defs) as ctx:
        assert ctx.get_object("child").values == ("a1", "b0", "c0", None)


def test_child_arguments_merge_by_position_and_name():
    """Indexed, positional and named child arguments replace the parent's at the same position or name."""
    defs = Defs(
        define("base", class_name="helpers_context.Three", abstract=True,
               constructor_args=[Argument(Value("b0"), index=1), Argument(Value("a0")),
                                 Argument(Value("c0")), Argument(Value("d0"), name="d")]),
        define("child", class_name=None, parent="base",
               constructor_args=[Argument(Value("c1"), index=2), Argument(Value("a1")),
                                 Argument(Value("d1"), name="d")]),
    )
    with ApplicationContext(defs) as ctx:
        assert ctx.get_object("child").values == ("a1", "b0", "c1", "d1")


# -- 5, 6. PythonConfig: logger, abstract and parent -----------------------------------------
class RequestConfig(PythonConfig):
    @Object(abstract=True, scope=scope.PROTOTYPE)
    def request(self, req=None):
        self.logger.debug("making a request")
        return Endpointish()

    @Object(parent="request")
    def request_dev(self, req=None):
        req.host = "dev.example.com"
        return req

    @Object(parent="request")
    def request_prod(self, req=None):
        req.host = "prod.example.com"
        return req


def test_python_config_has_a_logger(caplog):
    """PythonConfig has self.logger, named after the configuration class."""
    config = RequestConfig()
    assert config.logger.name == f"{__name__}.RequestConfig"
    with caplog.at_level(logging.DEBUG, logger=__name__), ApplicationContext(config) as ctx:
        ctx.get_object("request_dev")
    assert "making a request" in caplog.text


def test_python_config_parent_hands_its_object_to_the_child():
    """@Object(parent=...) methods each finish their own new object of the abstract parent."""
    with ApplicationContext(RequestConfig()) as ctx:
        dev, prod = ctx.get_object("request_dev"), ctx.get_object("request_prod")
        assert (dev.host, prod.host) == ("dev.example.com", "prod.example.com")
        assert "request" not in ctx.get_object_names()


def test_python_config_parent_without_context():
    """Calling a child method of a PythonConfig without a context hands it its parent's object too."""
    assert RequestConfig().request_dev().host == "dev.example.com"


def test_abstract_object_refused_unless_ignore_abstract():
    """get_object of an abstract definition raises AbstractObjectException; ignore_abstract=True makes one."""
    with ApplicationContext(RequestConfig()) as ctx:
        with pytest.raises(AbstractObjectException) as info:
            ctx.get_object("request")
        assert isinstance(info.value, NoSuchObjectError) and AbstractObjectException is AbstractObjectError
        assert "object 'request': object 'request' is abstract" in str(info.value)
        made = ctx.get_object("request", ignore_abstract=True)
        assert isinstance(made, Endpointish) and made is not ctx.get_object("request", ignore_abstract=True)


def test_abstract_xml_definition_with_ignore_abstract(tmp_path):
    """An abstract XML definition with a class makes an object with ignore_abstract=True."""
    config = xml(tmp_path / "app.xml", '<object id="base" class="helpers_context.Bean" abstract="true">\n'
                                       '  <property name="service_name" value="S"/>\n</object>')
    with ApplicationContext(config) as ctx:
        assert ctx.get_object("base", ignore_abstract=True).service_name == "S"


# -- 7. destroy_method attribute ------------------------------------------------------------
def test_destroy_method_attribute_names_the_method_called_at_shutdown():
    """A DisposableObject's destroy_method attribute names the method shutdown calls instead of destroy()."""
    with ApplicationContext(Defs(define("c", class_name="helpers_context.Closing"))) as ctx:
        closing = ctx.get_object("c")
    assert isinstance(closing, Closing) and closing.calls == ["close"]


# -- 10. the changelog ---------------------------------------------------------------------------
def test_changelog_lists_the_deliberate_differences_from_spring_python_1_2():
    """The changelog's section for Spring Python 1.2 users names each deliberate difference."""
    changelog = (Path(__file__).parents[2] / "docs" / "changelog.rst").read_text(encoding="utf-8")
    section = " ".join(changelog.split("Changes for users of Spring Python 1.2", 1)[1].split())
    for difference in (
        "``PyContainerConfig`` and its ``<components>`` files are gone",
        "released by ``destroy()`` or the context's ``shutdown()``",
        "not by garbage collection",
        "Inner objects are not registered in the context under generated ids",
        "called only on objects that extend the lifecycle classes",
        "``AbstractObjectException`` is an alias",
        "``allow_overriding=False``",
    ):
        assert difference in section, difference


# -- names that change under NFKC, deep values, long reference chains --------------------
@pytest.mark.parametrize("scope_name", ["singleton", "prototype"])
@pytest.mark.parametrize("name", ["ｘ", "ﬁle"])
def test_a_property_name_that_nfkc_changes_is_refused_on_both_build_paths(tmp_path, scope_name, name):
    """Python reads ``ｘ`` as ``x``: such a property name is a ConfigurationError with file,
    line and id, whatever the scope (prototypes and singletons are built differently)."""
    config = xml(tmp_path / "app.xml", f'<object id="bean" class="types.SimpleNamespace" scope="{scope_name}">\n'
                                       f'  <property name="{name}" value="1"/>\n</object>')
    with pytest.raises(ConfigurationError) as info:
        ApplicationContext(config)
    assert (info.value.line, info.value.object_id) == (4, "bean")  # the <property> element's line
    assert f"property name {name!r} is not in Unicode normal form NFKC" in str(info.value)
    assert str(tmp_path / "app.xml") in str(info.value)


def test_a_constructor_argument_name_that_nfkc_changes_is_refused(tmp_path):
    """The same for a named constructor argument."""
    config = xml(tmp_path / "app.xml", '<object id="bean" class="types.SimpleNamespace" scope="prototype">\n'
                                       '  <constructor-arg name="ｘ" value="1"/>\n</object>')
    with pytest.raises(ConfigurationError, match="constructor argument name 'ｘ'") as info:
        ApplicationContext(config)
    assert info.value.object_id == "bean"


def nested_list_xml(levels: int, scope_name: str) -> str:
    return (f'<object id="deep" class="builtins.list" scope="{scope_name}"><constructor-arg>'
            + "<list>" * levels + '<ref object="leaf"/>' + "</list>" * levels
            + '</constructor-arg></object>\n<object id="leaf" class="helpers_context.Bean"/>')


@pytest.mark.parametrize("scope_name", ["singleton", "prototype"])
def test_lists_nested_as_deep_as_lxml_reads_are_built(tmp_path, scope_name):
    """252 nested lists (lxml's limit is 256 levels of elements) are built on both
    build paths; one more level is a ConfigurationError naming the file, never a bare
    RecursionError."""
    with ApplicationContext(xml(tmp_path / "app.xml", nested_list_xml(252, scope_name))) as context:
        value = context.get_object("deep")
        for _ in range(251):
            [value] = value
        assert value == [context.get_object("leaf")]
    with pytest.raises(ConfigurationError, match="app2.xml"):
        ApplicationContext(xml(tmp_path / "app2.xml", nested_list_xml(253, scope_name)))


@pytest.mark.parametrize("lazy", [False, True])
def test_a_reference_chain_of_3000_singletons_is_created(tmp_path, lazy):
    """o0 -> o1 -> ... -> o3000: every singleton is created (eagerly, or on the first
    get_object of a lazy head) however long the chain."""
    count = 3000
    body = "\n".join(
        f'<object id="o{i}" class="helpers_context.Wrapper" lazy-init="{"true" if lazy else "false"}">'
        f'<constructor-arg ref="o{i + 1}"/></object>' for i in range(count)
    ) + f'\n<object id="o{count}" class="helpers_context.Bean"/>'
    with ApplicationContext(xml(tmp_path / "app.xml", body)) as context:
        head = context.get_object("o0")
        for i in range(count):
            assert head is context.get_object(f"o{i}")
            head = head.target
        assert head is context.get_object(f"o{count}")
