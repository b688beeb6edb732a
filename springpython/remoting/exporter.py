"""The base of every service exporter: the chapter's properties (``service``,
``service_name``, ``service_host``, ``service_port``), set by constructor or setter,
``after_properties_set()`` to go on the network and ``destroy()`` to leave it."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any, ClassVar, Mapping

from ..context.lifecycle import ApplicationContextAware, DisposableObject, InitializingObject
from ..context.properties import DeclaredProperties, object_lock, state
from ..errors import ConfigurationError
from . import registry
from ._values import Names, as_port
from .invocation import ServiceLoop

if TYPE_CHECKING:
    from .discovery import Registration

__all__ = ["ServiceExporter"]

log = logging.getLogger(__name__)

DEFAULT_HOST = "localhost"
#: Listening addresses that mean "every interface": no client can connect to them.
_WILDCARDS = frozenset({"0.0.0.0", "::", "[::]"})


class ServiceExporter(DeclaredProperties, InitializingObject, DisposableObject, ApplicationContextAware):
    """Puts ``service`` on the network under ``service_name`` at host:port.

    Subclasses implement :meth:`_export` (return only once listening) and
    :meth:`_unexport`, and declare more properties as annotated class attributes
    (:class:`~springpython.context.properties.DeclaredProperties`): each is a typed
    constructor keyword; the chapter's four may also be given by position. A subclass
    with another default port redeclares ``service_port``. An exporter started by
    an application context keeps the process serving after its main code ends,
    until it is destroyed or the user presses Ctrl-C
    (:func:`~springpython.remoting.registry.keep_serving_at_exit`).

    With ``registry`` (an :class:`~springpython.remoting.discovery.EtcdRegistry`) the
    exporter registers its real URL, its transport and ``metadata`` once listening,
    and deregisters first thing in :meth:`destroy`."""

    DEFAULT_PORT: ClassVar[int] = 0
    #: The transport named in registrations (the proxy factory a client needs).
    TRANSPORT: ClassVar[str | None] = None

    service: object = None
    service_name: str | None = None
    service_host: str = DEFAULT_HOST
    service_port: int = DEFAULT_PORT
    registry: object = None
    metadata: Names | Mapping[str, Any] | None = None

    _exported: bool = state(False)
    _registration: "Registration | None" = state(None)
    _sp_loop: ServiceLoop | None = state(None)

    @property
    def _state_lock(self) -> threading.Lock:
        """Guards export and unexport; made on first use (the constructor only assigns)."""
        return object_lock(self, "_sp_state_lock")

    def after_properties_set(self) -> None:
        """Check the properties and export the service; returns once it is reachable."""
        with self._state_lock:
            if self._exported:
                return
            if self.service is None:
                raise ConfigurationError(f"{type(self).__name__}: the 'service' property is not set")
            try:
                self.service_port = as_port("service_port", self.service_port)
            except ValueError as exc:
                raise ConfigurationError(f"{type(self).__name__}: {exc}") from None
            if not self.service_host:
                raise ConfigurationError(f"{type(self).__name__}: the 'service_host' property is empty")
            discovery = self._discovery_registry()
            try:
                self._export()
            except BaseException:
                self._close_service_loop()
                raise
            self._exported = True
            if self.app_context is not None and self._keeps_process_serving:
                registry.hold(self)
        log.info("exported %s at %s", self.service_name or type(self.service).__name__, self.service_url)
        if discovery is not None:
            try:
                self._register_endpoint(discovery)
            except BaseException:
                self.destroy()  # a failing start leaves nothing listening
                raise

    def destroy(self) -> None:
        """Take the service off the network; safe to call more than once."""
        with self._state_lock:
            if not self._exported:
                return
            self._exported = False
            registry.drop(self)
            url = self.service_url
            record, self._registration = self._registration, None
            if record is not None:
                self._deregister_endpoint(record)
            try:
                self._unexport()
            finally:
                self._close_service_loop()
        log.info("stopped %s", url)

    @property
    def registration(self) -> "Registration | None":
        """The registration made in ``registry`` (None without one, or while hosted)."""
        return self._registration

    def _discovery_registry(self) -> Any:
        """The checked ``registry``, or None; ConfigurationError before anything listens."""
        if self.registry is None:
            return None
        from .discovery import EtcdRegistry
        from .discovery._records import check_service_name, metadata_of

        name = type(self).__name__
        if not isinstance(self.registry, EtcdRegistry):
            raise ConfigurationError(f"{name}: registry must be an EtcdRegistry (a <ref>), got {self.registry!r}")
        if self.TRANSPORT is None:
            raise ConfigurationError(f"{name}: this exporter cannot register in a registry (no known transport)")
        try:
            check_service_name(self.service_name)
            metadata_of(self.metadata)  # checked before listening: it must have a JSON form
        except ValueError as exc:
            raise ConfigurationError(f"{name}: {exc}") from None
        self.registry.after_properties_set()
        return self.registry

    def _register_endpoint(self, discovery: Any) -> None:
        """Register the real URL; a hosted exporter does not (see :meth:`_registered_url`)."""
        url = self._registered_url()
        if url is None:
            return
        assert self.TRANSPORT is not None and self.service_name is not None
        if str(self.service_host) in _WILDCARDS:
            log.warning("%s registers %s, which other hosts cannot connect to; set service_host to the address "
                        "clients use", self.service_name, url)
        try:
            self._registration = discovery.register(self.service_name, url, self.TRANSPORT, self.metadata)
        except ValueError as exc:
            raise ConfigurationError(f"{type(self).__name__}: cannot register {url}: {exc}") from None

    def _deregister_endpoint(self, record: "Registration") -> None:
        try:
            self.registry.deregister(record)  # type: ignore[attr-defined]
        except Exception:  # the service must still leave the network
            log.warning("deregistering %s failed", record.key, exc_info=True)

    def _registered_url(self) -> str | None:
        """The URL registered for clients; None when the process does not own its listener."""
        return self.service_url

    @property
    def exported(self) -> bool:
        """Whether the service is on the network now."""
        return self._exported

    @property
    def service_url(self) -> str:
        """The URL a client uses to reach the service (with the real port once exported)."""
        raise NotImplementedError

    @property
    def _keeps_process_serving(self) -> bool:
        """Whether the process keeps serving this exporter at exit (not when hosted by
        another server, which owns the process's lifetime)."""
        return True

    def _service_loop(self) -> ServiceLoop:
        """The loop on which the service's ``async def`` methods run when a thread
        calls them (:mod:`springpython.remoting.invocation`); its thread starts with the
        first such call and stops when the service leaves the network."""
        loop = self._sp_loop
        if loop is None:
            loop = self._sp_loop = ServiceLoop(str(self.service_name or type(self.service).__name__))
        return loop

    def _close_service_loop(self) -> None:
        loop, self._sp_loop = self._sp_loop, None
        if loop is not None:
            loop.close()

    def _export(self) -> None:
        raise NotImplementedError

    def _unexport(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> "ServiceExporter":
        self.after_properties_set()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.destroy()

    def __repr__(self) -> str:
        state = "exported" if self._exported else "not exported"
        try:
            where = self.service_url
        except Exception:  # an incomplete configuration must still have a repr
            where = f"{self.service_host}:{self.service_port}"
        return f"<{type(self).__name__} {self.service_name!r} {where} {state}>"
