"""The public names of springpython.remoting.hessian are the implementation objects."""

from __future__ import annotations

import springpython.remoting.hessian as hessian
from springpython.remoting import ServiceExporter
from springpython.remoting.hessian import _client, _codec, _exporter
from springpython.remoting.proxy import RemoteProxy


def test_facade_names_are_the_implementations():
    """The package exports exactly its documented names, each the object its private module defines."""
    assert sorted(hessian.__all__) == ["AsyncHessianProxyFactory", "HessianObject", "HessianProxyFactory",
                                       "HessianServiceExporter", "Long"]
    assert hessian.HessianProxyFactory is _client.HessianProxyFactory
    assert hessian.AsyncHessianProxyFactory is _client.AsyncHessianProxyFactory
    assert hessian.HessianServiceExporter is _exporter.HessianServiceExporter
    assert hessian.HessianObject is _codec.HessianObject
    assert hessian.Long is _codec.Long


def test_beans_build_on_the_shared_bases():
    """The proxy is a RemoteProxy (the one forwarding code) and the exporter a ServiceExporter."""
    assert issubclass(hessian.HessianProxyFactory, RemoteProxy)
    assert issubclass(hessian.HessianServiceExporter, ServiceExporter)


def test_chapter_constructor_and_setter_forms():
    """service_url by keyword or setter, as in the chapter; nothing connects until a call."""
    by_keyword = hessian.HessianProxyFactory(service_url="http://localhost:8080/")
    by_setter = hessian.HessianProxyFactory()
    by_setter.service_url = "http://localhost:8080/"
    for proxy in (by_keyword, by_setter):
        assert proxy.service_url == "http://localhost:8080/"
        assert proxy.connections == 0
        assert "8080" in repr(proxy)


def test_hessian_object_is_a_dict_with_a_type_name():
    """HessianObject compares as a dict, keeps its type name and survives pickling."""
    import pickle

    person = hessian.HessianObject("com.example.Person", name="Ann")
    assert person == {"name": "Ann"} and person.type_name == "com.example.Person"
    again = pickle.loads(pickle.dumps(person))
    assert again == person and again.type_name == person.type_name
    assert "com.example.Person" in repr(person)
