"""Hessian remoting, both ways: :class:`HessianProxyFactory` calls a Hessian service
(Caucho's Java servers included) and :class:`HessianServiceExporter` serves a Python
object to Hessian clients (Caucho's Java clients included).

Types on the wire: ``None``, ``bool``, ``int`` (32 or 64 bit), ``float``, ``str``,
``bytes``, ``datetime`` (aware ones converted to UTC, naive ones taken as UTC; they
decode as aware UTC datetimes with millisecond precision), ``list``/``tuple``,
``dict``. A Hessian long decodes to :data:`Long` (an ``int`` subclass) so a Java
``Long`` goes back as a long. A Java object arrives as a :class:`HessianObject` — a
``dict`` of its fields that keeps the Java class name as text; no name on the wire
ever selects a Python class.

Faults: a Hessian fault raises :class:`springpython.errors.RemoteFault` with the
fault's ``code``, message and ``detail``, and the remote class as ``remote_type``
(a builtin Python exception arrives as that builtin too, Java's
``NoSuchMethodException`` as :class:`~springpython.errors.NoSuchMethodError`; see
:mod:`springpython.remoting.faults`); the exporter turns an exception of the service
into a ``ServiceException`` fault carrying its message and dotted class name."""

from ._client import AsyncHessianProxyFactory, HessianProxyFactory
from ._codec import HessianObject, Long
from ._exporter import HessianServiceExporter

__all__ = ["HessianProxyFactory", "AsyncHessianProxyFactory", "HessianServiceExporter", "HessianObject", "Long"]
