"""Hessian 1.0 and 2.0 encoding and decoding of calls, replies and faults.

Rules of this file:

* Decoding never names a Python class: Hessian typed maps and objects (Java beans)
  become :class:`HessianObject`, a ``dict`` that keeps the Java type name as text.
  Lists decode to ``list``, binary to ``bytes``, dates to UTC-aware ``datetime``.
* Every malformed, truncated or too deeply nested message raises
  :class:`~springpython.errors.ProtocolError`; nothing else escapes a decoder.
* Decoding has a budget (:class:`DecodeLimits`), so a message of N bytes costs time
  linear in N and memory of at most about 30 times N: every value takes at least
  one byte, and lists, maps and objects (the values that cost most memory for the
  fewest bytes: ~100 bytes of Python objects for a one-byte empty list or a
  one-byte object reference) are counted, ``base_containers`` plus one per
  ``bytes_per_container`` bytes of the message at most. References add no
  objects; nesting is bounded by ``max_depth``. A message over budget is a
  :class:`~springpython.errors.ProtocolError` as soon as it goes over.
* What the encoder writes, the decoder reads: a dict key that would come back as a
  list (a tuple or a frozenset) is refused when encoding.
* Strings count UTF-16 code units, as Java does. A character outside the Basic
  Multilingual Plane is written as a surrogate pair, each half as its own three-byte
  sequence (what Caucho's Java implementation writes and the only form it reads);
  four-byte UTF-8 is accepted when reading.
* Lists and maps met twice in one message are written once and referenced after, so
  shared and cyclic structures survive; references are counted per message exactly
  as Caucho counts them (in Hessian 2 the fault map itself is reference 0).
* Chunk sizes and the compact Hessian 2 forms follow Caucho's writer byte for byte
  (except binaries over 8 KiB in Hessian 2, which Caucho cuts wherever its output
  buffer fills; both forms read alike).
* python-hessian's parser is never used: it creates a Python class for every type
  name on the wire (``pyhessian.protocol.cls_factory``) and reads a string byte by
  byte. From python-hessian only the marker types below are taken: its ``long`` (an
  ``int`` subclass) is what a Hessian long decodes to, and its ``Binary`` is accepted
  for encoding, so code written for python-hessian keeps working.

Dates: an aware ``datetime`` is converted to UTC; a naive one is taken to be UTC
already. Hessian dates have millisecond precision (microseconds are dropped, rounding down) and
decode as aware datetimes in UTC.

Integers: an ``int`` within 32 bits is written as a Hessian int, one within 64 bits
as a long; anything larger is refused. A Hessian long decodes to :data:`Long`
(python-hessian's ``long``, a subclass of ``int``) and is always written back as a
long, so a Java ``Long`` keeps its type through a Python echo; ``Long(5)`` forces a
Java ``long`` for a small value."""

from __future__ import annotations

import builtins
import datetime
import math
import re
from struct import Struct
from typing import TYPE_CHECKING, Any, Callable, Iterable, NamedTuple, NoReturn, TypeVar

from pyhessian.protocol import Binary as _PyHessianBinary

from ...errors import ProtocolError

if TYPE_CHECKING:  # python-hessian has no type information; its long is an int subclass

    class Long(int):
        """python-hessian's ``long``."""

else:
    from pyhessian.data_types import long as Long

__all__ = [
    "HessianObject",
    "Long",
    "Call",
    "Reply",
    "Fault",
    "MAX_DEPTH",
    "DecodeLimits",
    "DEFAULT_LIMITS",
    "encode_value",
    "decode_value",
    "encode_call",
    "encode_call2",
    "decode_call",
    "encode_reply",
    "encode_fault",
    "decode_reply",
]

#: Containers nested deeper than this are refused (both ways), well inside the
#: interpreter's recursion limit.
MAX_DEPTH = 200



class DecodeLimits(NamedTuple):
    """The decode budget of one message (see the rules above)."""

    #: Containers nested deeper than this are refused.
    max_depth: int = MAX_DEPTH
    #: Lists, maps and objects any message may create ...
    base_containers: int = 65536
    #: ... plus one per this many bytes of the message (at least 1).
    bytes_per_container: int = 16

    def containers(self, size: int) -> int:
        """How many lists, maps and objects a message of ``size`` bytes may create."""
        return self.base_containers + size // self.bytes_per_container

    @classmethod
    def of(cls, max_depth: Any, base_containers: Any, bytes_per_container: Any) -> "DecodeLimits":
        """Limits from property values (an int or its decimal text each); ``ValueError``
        naming the property for anything but a positive integer."""
        values = []
        for name, value in (("max_depth", max_depth), ("base_containers", base_containers),
                            ("bytes_per_container", bytes_per_container)):
            if isinstance(value, bool) or not isinstance(value, (int, str)):
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
            try:
                number = int(value)
            except ValueError:
                raise ValueError(f"{name} must be a positive integer, got {value!r}") from None
            if number < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
            values.append(number)
        return cls(*values)


#: The budget every decoder uses unless given another.
DEFAULT_LIMITS = DecodeLimits()

_CHUNK = 0x8000  # Caucho's string and binary chunk size
_I32 = Struct(">i")
_I64 = Struct(">q")
_F64 = Struct(">d")
_U16 = Struct(">H")
_I16 = Struct(">h")
_I8 = Struct(">b")
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_MS = datetime.timedelta(milliseconds=1)
_NON_BMP = re.compile("[\U00010000-\U0010ffff]")
_CONTINUATION = bytes(range(0x80, 0xC0))
_BELOW_F0 = bytes(range(0xF0))
_INT32_MIN, _INT32_MAX = -(1 << 31), (1 << 31) - 1
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1

T = TypeVar("T")
# A handler of a dispatch table: an unbound method of _Encoder1/_Encoder2 called as
# (encoder, value), or of _Decoder1/_Decoder2 called as (decoder, type code).
_Writer = Callable[[Any, Any], None]
_Reader = Callable[[Any, int], Any]


class HessianObject(dict[Any, Any]):
    """A Hessian typed map or object (a Java bean, say): its fields as a plain dict,
    with the Java class name kept as text in ``type_name`` and never resolved.

    Encoding one writes a typed map (Hessian 1) or an object (Hessian 2), so a Java
    peer rebuilds its own class."""

    __slots__ = ("type_name",)

    def __init__(self, type_name: str, *args: Any, **fields: Any) -> None:
        super().__init__(*args, **fields)
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"HessianObject({self.type_name!r}, {dict.__repr__(self)})"

    def __reduce__(self) -> tuple[type[HessianObject], tuple[str, dict[Any, Any]]]:
        return (HessianObject, (self.type_name, dict(self)))


class Call(NamedTuple):
    """A decoded call: the method name, its arguments and the reply version it asks for."""

    method: str
    args: list[Any]
    reply_version: int


class Fault(NamedTuple):
    """A Hessian fault: ``code`` (such as ``NoSuchMethodException``), message and detail."""

    code: str
    message: str
    detail: Any


class Reply(NamedTuple):
    """A decoded reply: a value, or a :class:`Fault` in ``fault``."""

    value: Any
    fault: Fault | None


def _split_pair(match: re.Match[str]) -> str:
    return _split_pair_char(match.group())


def _as_units(text: str) -> str:
    """``text`` with every non-BMP character split into its UTF-16 surrogate pair,
    so that ``len`` counts UTF-16 code units, as Hessian does."""
    if text.isascii() or _NON_BMP.search(text) is None:
        return text
    return _NON_BMP.sub(_split_pair, text)


_FOUR_BYTE = re.compile(rb"[\xf0-\xf4][\x80-\xbf]{3}")


def _cesu_pair(match: re.Match[bytes]) -> bytes:
    return _split_pair_char(match.group().decode("utf-8")).encode("utf-8", "surrogatepass")


def _split_pair_char(char: str) -> str:
    code = ord(char) - 0x10000
    return chr(0xD800 | (code >> 10)) + chr(0xDC00 | (code & 0x3FF))


def _short_text(text: str) -> tuple[int, bytes] | None:
    """``(UTF-16 units, bytes as Caucho writes them)`` of a string that fits one chunk,
    else ``None``: the fast path for all but very long strings."""
    if len(text) > _CHUNK:
        return None
    raw = text.encode("utf-8", "surrogatepass")
    if len(raw) == len(text):
        return len(text), raw
    pairs = len(raw.translate(None, _BELOW_F0))  # one four-byte sequence per non-BMP character
    if not pairs:
        return len(text), raw
    if len(text) + pairs > _CHUNK:
        return None
    return len(text) + pairs, _FOUR_BYTE.sub(_cesu_pair, raw)


def _date_millis(value: datetime.datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return (value - _EPOCH) // _MS


# ----------------------------------------------------------------------------------
# encoding
# ----------------------------------------------------------------------------------


# Keys Hessian can only write as lists, which cannot be dict keys when read back.
_LIST_KEYS = (tuple, frozenset)


def _list_key(key: Any) -> NoReturn:
    raise TypeError(
        f"cannot encode a dict key of type {type(key).__name__} ({key!r:.60}) as Hessian: it is written as a "
        "list, which cannot be a map key when read back; use str, int, float, bool, bytes or datetime keys"
    )


class _Encoder:
    """Writes values of one message; holds the reference and type tables of that message."""

    __slots__ = ("out", "refs", "types", "classes", "depth", "_pin")

    def __init__(self, first_ref: int = 0) -> None:
        self.out = bytearray()
        self.refs: dict[int, int] = {}
        self.types: dict[str, int] = {}
        self.classes: dict[tuple[str, tuple[str, ...]], int] = {}
        self.depth = 0
        self._pin: list[object] = []  # keeps referenced objects alive so their ids stay unique
        if first_ref:
            self._pin.extend(object() for _ in range(first_ref))
            for i, obj in enumerate(self._pin):
                self.refs[id(obj)] = i

    def _ref(self, obj: Any) -> int | None:
        """The reference number of ``obj`` if written before, else register it."""
        key = id(obj)
        index = self.refs.get(key)
        if index is None:
            self.refs[key] = len(self.refs)
            self._pin.append(obj)
        return index

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ValueError(f"cannot encode: containers nested deeper than {MAX_DEPTH} levels")

    _TABLE: dict[type, _Writer]  # type -> handler, set for each version once its methods exist

    def write(self, value: Any) -> None:
        table = self._TABLE
        handler = table.get(type(value))
        if handler is None:
            handler = _find_handler(value, table)
            if handler is None:
                self._unsupported(value)
        handler(self, value)

    def _unsupported(self, value: Any) -> NoReturn:
        raise TypeError(
            f"cannot encode {type(value).__name__} {value!r:.80} as Hessian: expected None, bool, int, "
            "float, str, bytes, datetime, list, tuple, set or dict"
        )


class _Encoder1(_Encoder):
    """Hessian 1.0 serialization (what Caucho's clients send their arguments in)."""

    __slots__ = ()

    def none(self, _: None) -> None:
        self.out += b"N"

    def bool(self, value: bool) -> None:
        self.out += b"T" if value else b"F"

    def int(self, value: int) -> None:
        if _INT32_MIN <= value <= _INT32_MAX:
            self.out += b"I" + _I32.pack(value)
        else:
            self.long(value)

    def long(self, value: builtins.int) -> None:
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise ValueError(f"cannot encode {value} as Hessian: integers must fit in 64 bits")
        self.out += b"L" + _I64.pack(value)

    def float(self, value: float) -> None:
        self.out += b"D" + _F64.pack(value)

    def str(self, value: str) -> None:
        short = _short_text(value)
        if short is not None:
            self.out += b"S" + _U16.pack(short[0]) + short[1]
            return
        units = _as_units(value)
        out = self.out
        offset, length = 0, len(units)
        while length - offset > _CHUNK:
            sub = _CHUNK
            if "\ud800" <= units[offset + sub - 1] <= "\udbff":
                sub -= 1
            out += b"s" + _U16.pack(sub) + units[offset : offset + sub].encode("utf-8", "surrogatepass")
            offset += sub
        out += b"S" + _U16.pack(length - offset)
        out += (units[offset:] if offset else units).encode("utf-8", "surrogatepass")

    def bytes(self, value: bytes) -> None:
        value = bytes(value)
        out = self.out
        offset, length = 0, len(value)
        while length - offset > _CHUNK:
            out += b"b" + _U16.pack(_CHUNK) + value[offset : offset + _CHUNK]
            offset += _CHUNK
        out += b"B" + _U16.pack(length - offset) + value[offset:]

    def binary(self, value: Any) -> None:
        self.bytes(value.value or b"")

    def date(self, value: datetime.datetime) -> None:
        self.out += b"d" + _I64.pack(_date_millis(value))

    def list(self, value: list[Any] | tuple[Any, ...]) -> None:
        ref = self._ref(value)
        if ref is not None:
            self.out += b"R" + _I32.pack(ref)
            return
        self._enter()
        self.out += b"Vl" + _I32.pack(len(value))
        write = self.write
        for item in value:
            write(item)
        self.out += b"z"
        self.depth -= 1

    def set(self, value: set[Any] | frozenset[Any]) -> None:
        self.list(list(value))

    def dict(self, value: dict[Any, Any]) -> None:
        ref = self._ref(value)
        if ref is not None:
            self.out += b"R" + _I32.pack(ref)
            return
        self._enter()
        type_name = getattr(value, "type_name", None)
        # an untyped map carries an empty type, as Caucho writes it
        self.out += b"Mt" + (_len_string(type_name) if type_name else b"\x00\x00")
        write = self.write
        for key, item in value.items():
            if key.__class__ is not str and isinstance(key, _LIST_KEYS):
                _list_key(key)
            write(key)
            write(item)
        self.out += b"z"
        self.depth -= 1


class _Encoder2(_Encoder):
    """Hessian 2.0 serialization with Caucho's compact forms (what its servers reply in)."""

    __slots__ = ()

    none = _Encoder1.none
    bool = _Encoder1.bool

    def int(self, value: int) -> None:
        out = self.out
        if -0x10 <= value <= 0x2F:
            out.append(value + 0x90)
        elif -0x800 <= value <= 0x7FF:
            out += bytes(((value >> 8) + 0xC8, value & 0xFF))
        elif -0x40000 <= value <= 0x3FFFF:
            out += bytes(((value >> 16) + 0xD4, (value >> 8) & 0xFF, value & 0xFF))
        elif _INT32_MIN <= value <= _INT32_MAX:
            out += b"I" + _I32.pack(value)
        else:
            self.long(value)

    def long(self, value: builtins.int) -> None:
        out = self.out
        if -0x08 <= value <= 0x0F:
            out.append(value + 0xE0)
        elif -0x800 <= value <= 0x7FF:
            out += bytes(((value >> 8) + 0xF8, value & 0xFF))
        elif -0x40000 <= value <= 0x3FFFF:
            out += bytes(((value >> 16) + 0x3C, (value >> 8) & 0xFF, value & 0xFF))
        elif _INT32_MIN <= value <= _INT32_MAX:
            out += b"Y" + _I32.pack(value)
        elif _INT64_MIN <= value <= _INT64_MAX:
            out += b"L" + _I64.pack(value)
        else:
            raise ValueError(f"cannot encode {value} as Hessian: integers must fit in 64 bits")

    def float(self, value: float) -> None:
        out = self.out
        if math.isfinite(value) and not (value == 0.0 and math.copysign(1.0, value) < 0):
            if value.is_integer():
                whole = int(value)
                if whole == 0:
                    out.append(0x5B)
                    return
                if whole == 1:
                    out.append(0x5C)
                    return
                if -0x80 <= whole < 0x80:
                    out += b"\x5d" + _I8.pack(whole)
                    return
                if -0x8000 <= whole < 0x8000:
                    out += b"\x5e" + _I16.pack(whole)
                    return
            scaled = value * 1000
            if -2147483648.0 <= scaled < 2147483648.0:
                mills = int(scaled)
                if 0.001 * mills == value:
                    out += b"\x5f" + _I32.pack(mills)
                    return
        out += b"D" + _F64.pack(value)

    def str(self, value: str) -> None:
        out = self.out
        short = _short_text(value)
        if short is not None:
            count, raw = short
            if count <= 0x1F:
                out.append(count)
            elif count <= 0x3FF:
                out += bytes((0x30 + (count >> 8), count & 0xFF))
            else:
                out += b"S" + _U16.pack(count)
            out += raw
            return
        units = _as_units(value)
        offset, length = 0, len(units)
        while length - offset > _CHUNK:
            sub = _CHUNK
            if "\ud800" <= units[offset + sub - 1] <= "\udbff":
                sub -= 1
            out += b"R" + _U16.pack(sub) + units[offset : offset + sub].encode("utf-8", "surrogatepass")
            offset += sub
        rest = length - offset
        if rest <= 0x1F:
            out.append(rest)
        elif rest <= 0x3FF:
            out += bytes((0x30 + (rest >> 8), rest & 0xFF))
        else:
            out += b"S" + _U16.pack(rest)
        out += (units[offset:] if offset else units).encode("utf-8", "surrogatepass")

    def bytes(self, value: bytes) -> None:
        value = bytes(value)
        out = self.out
        offset, length = 0, len(value)
        while length - offset > _CHUNK:
            out += b"A" + _U16.pack(_CHUNK) + value[offset : offset + _CHUNK]
            offset += _CHUNK
        rest = length - offset
        if rest <= 0x0F:
            out.append(0x20 + rest)
        elif rest <= 0x3FF:
            out += bytes((0x34 + (rest >> 8), rest & 0xFF))
        else:
            out += b"B" + _U16.pack(rest)
        out += value[offset:]

    binary = _Encoder1.binary

    def date(self, value: datetime.datetime) -> None:
        millis = _date_millis(value)
        if millis % 60000 == 0 and _INT32_MIN <= millis // 60000 <= _INT32_MAX:
            self.out += b"\x4b" + _I32.pack(millis // 60000)
        else:
            self.out += b"\x4a" + _I64.pack(millis)

    def _write_ref(self, ref: builtins.int) -> None:
        self.out.append(0x51)
        self.int(ref)

    def list(self, value: list[Any] | tuple[Any, ...]) -> None:
        ref = self._ref(value)
        if ref is not None:
            self._write_ref(ref)
            return
        self._enter()
        length = len(value)
        if length <= 7:
            self.out.append(0x78 + length)
        else:
            self.out.append(0x58)
            self.int(length)
        write = self.write
        for item in value:
            write(item)
        self.depth -= 1

    set = _Encoder1.set

    def _object(self, type_name: builtins.str, value: dict[builtins.str, Any]) -> None:
        """A typed object as Caucho writes a Java bean: a class definition once, then instances."""
        out = self.out
        fields = tuple(value)
        index = self.classes.get((type_name, fields))
        if index is None:
            index = self.classes[(type_name, fields)] = len(self.classes)
            out.append(0x43)
            self.str(type_name)
            self.int(len(fields))
            for field in fields:
                self.str(field)
        if index <= 0x0F:
            out.append(0x60 + index)
        else:
            out.append(0x4F)
            self.int(index)
        write = self.write
        for item in value.values():
            write(item)

    def dict(self, value: dict[Any, Any]) -> None:
        ref = self._ref(value)
        if ref is not None:
            self._write_ref(ref)
            return
        self._enter()
        type_name = getattr(value, "type_name", None)
        if type_name and all(type(key) is str for key in value):
            self._object(type_name, value)
            self.depth -= 1
            return
        if type_name:
            self.out.append(0x4D)
            index = self.types.get(type_name)
            if index is None:
                self.types[type_name] = len(self.types)
                self.str(type_name)
            else:
                self.int(index)
        else:
            self.out.append(0x48)
        write = self.write
        for key, item in value.items():
            if key.__class__ is not str and isinstance(key, _LIST_KEYS):
                _list_key(key)
            write(key)
            write(item)
        self.out.append(0x5A)
        self.depth -= 1


def _handlers(cls: type[_Encoder1] | type[_Encoder2]) -> dict[type, _Writer]:
    table: dict[type, _Writer] = {
        type(None): cls.none,
        bool: cls.bool,
        int: cls.int,
        float: cls.float,
        str: cls.str,
        bytes: cls.bytes,
        bytearray: cls.bytes,
        memoryview: cls.bytes,
        datetime.datetime: cls.date,
        list: cls.list,
        tuple: cls.list,
        set: cls.set,
        frozenset: cls.set,
        dict: cls.dict,
        HessianObject: cls.dict,
    }
    table[Long] = cls.long
    table[_PyHessianBinary] = cls.binary
    return table


_Encoder1._TABLE = _ENCODE1 = _handlers(_Encoder1)
_Encoder2._TABLE = _ENCODE2 = _handlers(_Encoder2)
# Subclasses are matched in this order (bool before int; long before int).
_SUBCLASS_ORDER: tuple[type, ...] = (
    Long, bool, int, float, str, bytes, bytearray, datetime.datetime, list, tuple, dict, set, frozenset,
)


def _find_handler(value: Any, table: dict[type, _Writer]) -> _Writer | None:
    for base in _SUBCLASS_ORDER:
        if isinstance(value, base):
            return table[base]
    return None


def encode_value(value: Any, version: int = 2) -> bytes:
    """One value in Hessian ``version`` 1 or 2 serialization (refs counted from 0)."""
    enc = _Encoder2() if version == 2 else _Encoder1()
    enc.write(value)
    return bytes(enc.out)


def _len_string(text: str) -> bytes:
    """Hessian 1's length-prefixed names (method, type, header): a 16-bit count of
    UTF-16 code units, then the text."""
    units = _as_units(text)
    if len(units) > 0xFFFF:
        raise ValueError(f"a Hessian name must be at most 65535 characters, got {len(units)}")
    return _U16.pack(len(units)) + units.encode("utf-8", "surrogatepass")


def _method_bytes(method: str) -> bytes:
    if not isinstance(method, str) or not method:
        raise ValueError(f"a Hessian method name must be a non-empty string, got {method!r}")
    return _len_string(method)


def encode_call(method: str, args: Iterable[Any], version: int = 2) -> bytes:
    """A call of ``method`` with ``args``.

    ``version=1`` is a Hessian 1.0 call asking for a 1.0 reply (``c 1 0``);
    ``version=2`` is what Caucho's Java client sends by default: the same 1.0 call
    marked ``c 2 0``, asking for a Hessian 2.0 reply (python-hessian's
    ``Call(version=2)`` writes the same bytes)."""
    name = _method_bytes(method)
    enc = _Encoder1()
    enc.out += (b"c\x02\x00m" if version == 2 else b"c\x01\x00m") + name
    for arg in args:
        enc.write(arg)
    enc.out += b"z"
    return bytes(enc.out)


def encode_call2(method: str, args: Iterable[Any]) -> bytes:
    """A Hessian 2.0 call (``H 2 0 C``), as Caucho's client sends with ``setHessian2Request``."""
    args = list(args)
    enc = _Encoder2()
    enc.out += b"H\x02\x00C"
    enc.str(method)
    enc.int(len(args))
    for arg in args:
        enc.write(arg)
    return bytes(enc.out)


def encode_reply(value: Any, version: int = 2) -> bytes:
    """A reply carrying ``value``: ``r 1 0 … z`` for version 1, ``H 2 0 R …`` for version 2."""
    if version == 2:
        enc2 = _Encoder2()
        enc2.out += b"H\x02\x00R"
        enc2.write(value)
        return bytes(enc2.out)
    enc1 = _Encoder1()
    enc1.out += b"r\x01\x00"
    enc1.write(value)
    enc1.out += b"z"
    return bytes(enc1.out)


def encode_fault(code: str, message: str, detail: Any = None, version: int = 2) -> bytes:
    """A fault reply with ``code`` (``NoSuchMethodException``, ``ServiceException``, …)."""
    if version == 2:
        enc2 = _Encoder2(first_ref=1)  # the fault map itself is reference 0
        enc2.out += b"H\x02\x00FH"
        for key, item in (("code", code), ("message", message)):
            enc2.str(key)
            enc2.str(item)
        if detail is not None:
            enc2.str("detail")
            enc2.write(detail)
        enc2.out += b"Z"
        return bytes(enc2.out)
    enc1 = _Encoder1()
    enc1.out += b"r\x01\x00f"
    for key, item in (("code", code), ("message", message)):
        enc1.str(key)
        enc1.str(item)
    if detail is not None:
        enc1.str("detail")
        enc1.write(detail)
    enc1.out += b"zz"  # the end of the fault's fields, then of the reply (as Caucho writes)
    return bytes(enc1.out)


# ----------------------------------------------------------------------------------
# decoding
# ----------------------------------------------------------------------------------


def _date_from_millis(millis: int) -> datetime.datetime:
    try:
        return _EPOCH + datetime.timedelta(milliseconds=millis)
    except OverflowError:
        raise ProtocolError(f"Hessian date {millis} ms since 1970 is outside the years 1-9999") from None


class _Decoder:
    """Reads values of one message from ``data``; holds its reference tables and
    what is left of its budget."""

    __slots__ = ("data", "pos", "refs", "depth", "types", "classes", "limits", "containers", "allowed")

    def __init__(self, data: bytes, pos: int = 0, limits: DecodeLimits = DEFAULT_LIMITS) -> None:
        self.data = data
        self.pos = pos
        self.refs: list[Any] = []
        self.types: list[str] = []
        self.classes: list[tuple[str, list[str]]] = []
        self.limits = limits
        self.allowed: int  # set by the first container
        # Both count up to 0, at the deepest nesting and the last container allowed
        # (one comparison each per container). The budget is added by the first
        # container (see _over_budget): a message without any costs nothing for it.
        self.depth = 0
        self.containers = 0

    # -- primitives --------------------------------------------------------------
    def fail(self, what: str) -> ProtocolError:
        return ProtocolError(f"malformed Hessian message at byte {self.pos}: {what}")

    def truncated(self, need: int) -> ProtocolError:
        return ProtocolError(
            f"truncated Hessian message: {need} more bytes needed at byte {self.pos}, "
            f"{len(self.data) - self.pos} left"
        )

    def take(self, n: int) -> bytes:
        pos = self.pos
        end = pos + n
        if end > len(self.data):
            raise self.truncated(n)
        self.pos = end
        return self.data[pos:end]

    def byte(self) -> int:
        pos = self.pos
        try:
            value = self.data[pos]
        except IndexError:
            raise self.truncated(1) from None
        self.pos = pos + 1
        return value

    def unpack(self, fmt: Struct) -> Any:
        pos = self.pos
        end = pos + fmt.size
        if end > len(self.data):
            raise self.truncated(fmt.size)
        self.pos = end
        return fmt.unpack_from(self.data, pos)[0]

    def units(self, count: int) -> str:
        """``count`` UTF-16 code units of UTF-8 (or Java's surrogate-pair form) text."""
        data, start = self.data, self.pos
        end = start + count
        if end > len(data):
            raise self.truncated(count)
        raw = data[start:end]
        if not raw.isascii():
            end = self._text_end(start, count)
            raw = data[start:end]
        self.pos = end
        try:
            text = raw.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError as exc:
            raise self.fail(f"invalid UTF-8 in a string: {exc.reason}") from None
        if b"\xed" in raw:  # surrogate halves: pair them up into real characters
            text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
        return text

    def _text_end(self, start: int, count: int) -> int:
        """The end of ``count`` code units starting at ``start``: each lead byte is one
        unit (a four-byte lead two), continuation bytes none."""
        data = self.data
        pos, remaining = start, count
        while remaining > 0:
            segment = data[pos : pos + remaining]
            if not segment:
                raise self.truncated(remaining)
            leads = segment.translate(None, _CONTINUATION)
            units = len(leads) + len(leads.translate(None, _BELOW_F0))  # four-byte leads count twice
            pos += len(segment)
            remaining -= units
        if remaining < 0:
            raise self.fail("a string chunk ends inside a surrogate pair")
        # the last character may continue past pos: find its lead byte and length
        lead_at = pos - 1
        while lead_at > start and 0x80 <= data[lead_at] < 0xC0:
            lead_at -= 1
        lead = data[lead_at]
        size = 1 if lead < 0x80 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
        end = max(pos, lead_at + size)
        if end > len(data):
            raise self.truncated(end - len(data))
        return end

    def enter(self) -> None:
        """One more list, map or object, inside the one being read."""
        self.depth += 1
        self.containers -= 1
        if self.depth > 0 or self.containers < 0:
            self._over_budget()

    def _over_budget(self) -> None:
        limits = self.limits
        try:
            allowed: int = self.allowed
        except AttributeError:  # the message's first container: set the budget
            self.allowed = allowed = limits.containers(len(self.data))
            self.depth -= limits.max_depth
            self.containers += allowed
        if self.depth > 0:
            raise self.fail(f"containers nested deeper than {limits.max_depth} levels")
        if self.containers < 0:
            raise ProtocolError(
                f"Hessian message of {len(self.data)} bytes creates more than {allowed} "
                f"lists, maps and objects (its decode budget; at byte {self.pos})"
            )

    def ref(self, index: Any) -> Any:
        if type(index) is not int or not 0 <= index < len(self.refs):
            raise self.fail(f"reference {index!r} to an unknown object ({len(self.refs)} known)")
        return self.refs[index]

    _TABLE: tuple[_Reader | None, ...]  # type code -> handler (None: not a code of this version)
    _VERSION: int

    def read(self) -> Any:
        tag = self.byte()
        handler = self._TABLE[tag]
        if handler is None:
            raise self.fail(f"unknown Hessian {self._VERSION} type code 0x{tag:02x}")
        return handler(self, tag)

    def key(self, value: Any) -> Any:
        try:
            hash(value)
        except TypeError:
            raise self.fail(f"a map key of type {type(value).__name__} cannot be a dict key") from None
        return value


class _Decoder1(_Decoder):
    """Hessian 1.0 serialization."""

    __slots__ = ()

    def r_null(self, tag: int) -> None:
        return None

    def r_true(self, tag: int) -> bool:
        return True

    def r_false(self, tag: int) -> bool:
        return False

    def r_int(self, tag: int) -> int:
        value: int = self.unpack(_I32)
        return value

    def r_long(self, tag: int) -> int:
        return Long(self.unpack(_I64))

    def r_double(self, tag: int) -> float:
        value: float = self.unpack(_F64)
        return value

    def r_date(self, tag: int) -> datetime.datetime:
        return _date_from_millis(self.unpack(_I64))

    def r_string(self, tag: int) -> str:
        final = tag in (0x53, 0x58)  # 'S', 'X'
        if final:
            return self.units(self.unpack(_U16))
        parts = []
        while not final:
            parts.append(self.units(self.unpack(_U16)))
            tag = self.byte()
            if tag not in (0x73, 0x53, 0x78, 0x58):
                raise self.fail(f"expected a string chunk, got 0x{tag:02x}")
            final = tag in (0x53, 0x58)
        parts.append(self.units(self.unpack(_U16)))
        return "".join(parts)

    def r_binary(self, tag: int) -> bytes:
        parts = []
        while tag == 0x62:  # 'b'
            parts.append(self.take(self.unpack(_U16)))
            tag = self.byte()
            if tag not in (0x62, 0x42):
                raise self.fail(f"expected a binary chunk, got 0x{tag:02x}")
        parts.append(self.take(self.unpack(_U16)))
        return b"".join(parts) if len(parts) > 1 else parts[0]

    def r_ref(self, tag: int) -> Any:
        return self.ref(self.unpack(_I32))

    def _type(self) -> str:
        return self.units(self.unpack(_U16))

    def r_list(self, tag: int) -> list[Any]:
        self.enter()
        data = self.data
        if self.pos < len(data) and data[self.pos] == 0x74:  # 't'
            self.pos += 1
            self._type()
        if self.pos < len(data) and data[self.pos] == 0x6C:  # 'l'
            self.pos += 1
            self.unpack(_I32)  # the declared length is only a hint
        result: list[Any] = []
        self.refs.append(result)
        append = result.append
        read = self.read
        while True:
            if self.pos >= len(data):
                raise self.truncated(1)
            if data[self.pos] == 0x7A:  # 'z'
                self.pos += 1
                break
            append(read())
        self.depth -= 1
        return result

    def r_map(self, tag: int) -> dict[Any, Any]:
        self.enter()
        data = self.data
        result: dict[Any, Any]
        if self.pos < len(data) and data[self.pos] == 0x74:  # 't'
            self.pos += 1
            type_name = self._type()
            result = HessianObject(type_name) if type_name else {}
        else:
            result = {}
        self.refs.append(result)
        self._pairs(result)
        self.depth -= 1
        return result

    def _pairs(self, result: dict[Any, Any]) -> None:
        data = self.data
        read = self.read
        while True:
            if self.pos >= len(data):
                raise self.truncated(1)
            if data[self.pos] == 0x7A:  # 'z'
                self.pos += 1
                return
            key = self.key(read())
            result[key] = read()

    def r_remote(self, tag: int) -> Any:
        raise self.fail("remote object references are not supported")


class _Decoder2(_Decoder):
    """Hessian 2.0 serialization, including Caucho's compact forms."""

    __slots__ = ()
    END = 0x5A  # 'Z' ends a variable-length list or map

    r_null = _Decoder1.r_null
    r_true = _Decoder1.r_true
    r_false = _Decoder1.r_false
    r_int = _Decoder1.r_int
    r_long = _Decoder1.r_long
    r_double = _Decoder1.r_double

    def r_int1(self, tag: int) -> int:
        return tag - 0x90

    def r_int2(self, tag: int) -> int:
        return ((tag - 0xC8) << 8) + self.byte()

    def r_int3(self, tag: int) -> int:
        return ((tag - 0xD4) << 16) + (self.byte() << 8) + self.byte()

    def r_long1(self, tag: int) -> int:
        return _LONG1[tag - 0xD8]  # shared: a one-byte value makes no new object

    def r_long2(self, tag: int) -> int:
        return Long(((tag - 0xF8) << 8) + self.byte())

    def r_long3(self, tag: int) -> int:
        return Long(((tag - 0x3C) << 16) + (self.byte() << 8) + self.byte())

    def r_long4(self, tag: int) -> int:
        return Long(self.unpack(_I32))

    def r_double0(self, tag: int) -> float:
        return 0.0

    def r_double1(self, tag: int) -> float:
        return 1.0

    def r_double_byte(self, tag: int) -> float:
        return float(self.unpack(_I8))

    def r_double_short(self, tag: int) -> float:
        return float(self.unpack(_I16))

    def r_double_mill(self, tag: int) -> float:
        mills: int = self.unpack(_I32)
        return 0.001 * mills

    def r_date(self, tag: int) -> datetime.datetime:
        return _date_from_millis(self.unpack(_I64))

    def r_date_minutes(self, tag: int) -> datetime.datetime:
        return _date_from_millis(self.unpack(_I32) * 60000)

    def r_string_short(self, tag: int) -> str:
        return self.units(tag)

    def r_string_medium(self, tag: int) -> str:
        return self.units(((tag - 0x30) << 8) + self.byte())

    def r_string(self, tag: int) -> str:
        if tag == 0x53:  # 'S': one final chunk
            return self.units(self.unpack(_U16))
        parts = []
        while tag == 0x52:  # 'R': a chunk with more to follow
            parts.append(self.units(self.unpack(_U16)))
            tag = self.byte()
            if tag == 0x53:
                parts.append(self.units(self.unpack(_U16)))
            elif tag <= 0x1F:
                parts.append(self.units(tag))
            elif 0x30 <= tag <= 0x33:
                parts.append(self.units(((tag - 0x30) << 8) + self.byte()))
            elif tag != 0x52:
                raise self.fail(f"expected a string chunk, got 0x{tag:02x}")
        return "".join(parts)

    def r_binary_short(self, tag: int) -> bytes:
        return self.take(tag - 0x20)

    def r_binary_medium(self, tag: int) -> bytes:
        return self.take(((tag - 0x34) << 8) + self.byte())

    def r_binary(self, tag: int) -> bytes:
        if tag == 0x42:  # 'B': one final chunk
            return self.take(self.unpack(_U16))
        parts = []
        while tag == 0x41:  # 'A'
            parts.append(self.take(self.unpack(_U16)))
            tag = self.byte()
            if tag == 0x42:
                parts.append(self.take(self.unpack(_U16)))
            elif 0x20 <= tag <= 0x2F:
                parts.append(self.take(tag - 0x20))
            elif 0x34 <= tag <= 0x37:
                parts.append(self.take(((tag - 0x34) << 8) + self.byte()))
            elif tag != 0x41:
                raise self.fail(f"expected a binary chunk, got 0x{tag:02x}")
        return b"".join(parts)

    def r_ref(self, tag: int) -> Any:
        return self.ref(self.read_int("reference"))

    def read_int(self, what: str) -> int:
        tag = self.byte()
        if tag not in _INT_TAGS:
            self.pos -= 1
            raise self.fail(f"expected an integer {what}, got type code 0x{tag:02x}")
        value: int = _DECODE2[tag](self, tag)  # type: ignore[misc]  # every tag of _INT_TAGS has a reader
        return value

    def read_str(self, what: str) -> str:
        tag = self.byte()
        if tag not in _STRING_TAGS:
            self.pos -= 1
            raise self.fail(f"expected a string {what}, got type code 0x{tag:02x}")
        text: str = _DECODE2[tag](self, tag)  # type: ignore[misc]  # every tag of _STRING_TAGS has a reader
        return text

    def _type(self) -> str:
        tag = self.data[self.pos] if self.pos < len(self.data) else None
        if tag in _STRING_TAGS:
            name = self.read_str("type name")
            self.types.append(name)
            return name
        index = self.read_int("type name or type reference")
        if not 0 <= index < len(self.types):
            raise self.fail(f"type reference {index} to an unknown type ({len(self.types)} known)")
        return self.types[index]

    def _items(self, result: list[Any], count: int | None) -> list[Any]:
        self.enter()
        self.refs.append(result)
        append = result.append
        read = self.read
        if count is None:
            data = self.data
            while True:
                if self.pos >= len(data):
                    raise self.truncated(1)
                if data[self.pos] == self.END:
                    self.pos += 1
                    break
                append(read())
        else:
            if count < 0:
                raise self.fail(f"negative list length {count}")
            for _ in range(count):
                append(read())
        self.depth -= 1
        return result

    def r_list_typed_open(self, tag: int) -> list[Any]:  # 'U'
        self._type()
        return self._items([], None)

    def r_list_typed(self, tag: int) -> list[Any]:  # 'V'
        self._type()
        return self._items([], self.read_int("list length"))

    def r_list_open(self, tag: int) -> list[Any]:  # 'W'
        return self._items([], None)

    def r_list(self, tag: int) -> list[Any]:  # 'X'
        return self._items([], self.read_int("list length"))

    def r_list_typed_short(self, tag: int) -> list[Any]:
        self._type()
        return self._items([], tag - 0x70)

    def r_list_short(self, tag: int) -> list[Any]:
        return self._items([], tag - 0x78)

    def _pairs(self, result: dict[Any, Any]) -> dict[Any, Any]:
        self.enter()
        self.refs.append(result)
        data = self.data
        read = self.read
        while True:
            if self.pos >= len(data):
                raise self.truncated(1)
            if data[self.pos] == self.END:
                self.pos += 1
                break
            key = self.key(read())
            result[key] = read()
        self.depth -= 1
        return result

    def r_map(self, tag: int) -> dict[Any, Any]:  # 'H'
        return self._pairs({})

    def r_map_typed(self, tag: int) -> dict[Any, Any]:  # 'M'
        type_name = self._type()
        return self._pairs(HessianObject(type_name) if type_name else {})

    def r_class_def(self, tag: int) -> Any:  # 'C' definitions, then the value that uses them
        while tag == 0x43:
            name = self.read_str("class name")
            count = self.read_int("field count")
            if not 0 <= count <= len(self.data) - self.pos:
                raise self.fail(f"class {name!r:.60} declares {count} fields")
            fields = [self.read_str("field name") for _ in range(count)]
            self.classes.append((name, fields))
            tag = self.byte()
        handler = _DECODE2[tag]
        if handler is None:
            raise self.fail(f"unknown Hessian 2 type code 0x{tag:02x}")
        return handler(self, tag)

    def _instance(self, index: int) -> HessianObject:
        if not 0 <= index < len(self.classes):
            raise self.fail(f"object of undefined class number {index} ({len(self.classes)} defined)")
        name, fields = self.classes[index]
        self.enter()
        result = HessianObject(name)
        self.refs.append(result)
        read = self.read
        for field in fields:
            result[field] = read()
        self.depth -= 1
        return result

    def r_object(self, tag: int) -> HessianObject:  # 'O'
        return self._instance(self.read_int("class number"))

    def r_object_short(self, tag: int) -> HessianObject:
        return self._instance(tag - 0x60)


def _table(cls: type[_Decoder], spec: dict[str, Iterable[int]]) -> tuple[_Reader | None, ...]:
    table: list[_Reader | None] = [None] * 256
    for name, tags in spec.items():
        for tag in tags:
            table[tag] = getattr(cls, name)
    return tuple(table)


def _o(char: str) -> tuple[int]:
    return (ord(char),)


_DECODE1 = _table(
    _Decoder1,
    {
        "r_null": _o("N"),
        "r_true": _o("T"),
        "r_false": _o("F"),
        "r_int": _o("I"),
        "r_long": _o("L"),
        "r_double": _o("D"),
        "r_date": _o("d"),
        "r_string": b"SsXx",
        "r_binary": b"Bb",
        "r_ref": _o("R"),
        "r_list": _o("V"),
        "r_map": _o("M"),
        "r_remote": _o("r"),
    },
)

_DECODE2 = _table(
    _Decoder2,
    {
        "r_null": _o("N"),
        "r_true": _o("T"),
        "r_false": _o("F"),
        "r_int": _o("I"),
        "r_long": _o("L"),
        "r_double": _o("D"),
        "r_int1": range(0x80, 0xC0),
        "r_int2": range(0xC0, 0xD0),
        "r_int3": range(0xD0, 0xD8),
        "r_long1": range(0xD8, 0xF0),
        "r_long2": range(0xF0, 0x100),
        "r_long3": range(0x38, 0x40),
        "r_long4": _o("Y"),
        "r_double0": (0x5B,),
        "r_double1": (0x5C,),
        "r_double_byte": (0x5D,),
        "r_double_short": (0x5E,),
        "r_double_mill": (0x5F,),
        "r_date": (0x4A,),
        "r_date_minutes": (0x4B,),
        "r_string_short": range(0x00, 0x20),
        "r_string_medium": range(0x30, 0x34),
        "r_string": b"RS",
        "r_binary_short": range(0x20, 0x30),
        "r_binary_medium": range(0x34, 0x38),
        "r_binary": b"AB",
        "r_ref": (0x51,),
        "r_list_typed_open": (0x55,),
        "r_list_typed": (0x56,),
        "r_list_open": (0x57,),
        "r_list": (0x58,),
        "r_list_typed_short": range(0x70, 0x78),
        "r_list_short": range(0x78, 0x80),
        "r_map": (0x48,),
        "r_map_typed": (0x4D,),
        "r_class_def": (0x43,),
        "r_object": (0x4F,),
        "r_object_short": range(0x60, 0x70),
    },
)
_Decoder1._TABLE, _Decoder1._VERSION = _DECODE1, 1
_Decoder2._TABLE, _Decoder2._VERSION = _DECODE2, 2


_LONG1 = tuple(Long(value) for value in range(-8, 16))
_INT_TAGS = frozenset([*range(0x80, 0xD8), 0x49])
_STRING_TAGS = frozenset([*range(0x00, 0x20), *range(0x30, 0x34), 0x52, 0x53])


class _Decoder2Draft(_Decoder2):
    """The Hessian 2.0 draft that Caucho Hessian 3.1.x servers reply in (``r 2 0``):
    the 2.0 forms, with lists and maps ended by ``z`` as in Hessian 1."""

    __slots__ = ()
    END = 0x7A  # 'z'


def _guard(decode: Callable[[], T]) -> T:
    """Run a decoder step, turning interpreter limits into a ProtocolError."""
    try:
        return decode()
    except RecursionError:
        raise ProtocolError("Hessian message nested too deeply to decode") from None
    except MemoryError:
        raise ProtocolError("Hessian message too large to decode") from None


def decode_value(data: bytes, version: int = 2, limits: DecodeLimits = DEFAULT_LIMITS) -> Any:
    """One value in Hessian ``version`` 1 or 2 serialization; the whole of ``data``."""
    data = bytes(data)
    dec = _Decoder2(data, 0, limits) if version == 2 else _Decoder1(data, 0, limits)
    value = _guard(dec.read)
    if dec.pos != len(dec.data):
        raise dec.fail(f"{len(dec.data) - dec.pos} bytes after the value")
    return value


def _end(dec: _Decoder, what: str) -> None:
    if dec.pos != len(dec.data):
        raise dec.fail(f"{len(dec.data) - dec.pos} unexpected bytes after the {what}")


def _v1_headers(dec: _Decoder1) -> None:
    """Skip Hessian 1 headers (``H`` name value)."""
    data = dec.data
    while dec.pos < len(data) and data[dec.pos] == 0x48:
        dec.pos += 1
        dec.units(dec.unpack(_U16))
        dec.read()


def decode_call(data: bytes, limits: DecodeLimits = DEFAULT_LIMITS) -> Call:
    """A call from any Caucho client: Hessian 1 (``c 1 0`` or ``c 2 0``, which asks for
    a Hessian 2 reply) or Hessian 2 (``H 2 0 C`` or a bare ``C``)."""
    data = bytes(data)
    if len(data) < 1:
        raise ProtocolError("empty Hessian call")
    tag = data[0]
    if tag == 0x63:  # 'c'
        dec1 = _Decoder1(data, 1, limits)
        major = dec1.byte()
        dec1.byte()
        if major not in (1, 2):
            raise dec1.fail(f"unsupported Hessian call version {major}")

        def read_v1() -> Call:
            _v1_headers(dec1)
            if dec1.byte() != 0x6D:  # 'm'
                dec1.pos -= 1
                raise dec1.fail("expected the method name ('m')")
            method = dec1.units(dec1.unpack(_U16))
            args = []
            data_ = dec1.data
            while True:
                if dec1.pos >= len(data_):
                    raise dec1.truncated(1)
                if data_[dec1.pos] == 0x7A:  # 'z'
                    dec1.pos += 1
                    break
                args.append(dec1.read())
            _end(dec1, "call")
            return Call(method, args, major)

        return _guard(read_v1)
    if tag in (0x48, 0x43):  # 'H' 2 0 'C' or 'C'
        dec2 = _Decoder2(data, 0, limits)
        if tag == 0x48:
            dec2.pos = 1
            major = dec2.byte()
            dec2.byte()
            if major != 2:
                raise dec2.fail(f"unsupported Hessian version {major}")
            if dec2.byte() != 0x43:
                dec2.pos -= 1
                raise dec2.fail("expected a call ('C'); envelopes and other messages are not supported")
        else:
            dec2.pos = 1

        def read_v2() -> Call:
            method = dec2.read_str("method name")
            count = dec2.read_int("argument count")
            if not 0 <= count <= len(data) - dec2.pos:
                raise dec2.fail(f"argument count {count} does not fit the message")
            args = [dec2.read() for _ in range(count)]
            _end(dec2, "call")
            return Call(method, args, 2)

        return _guard(read_v2)
    raise ProtocolError(f"not a Hessian call: first byte 0x{tag:02x}, expected 'c', 'H' or 'C'")


def _fault(fields: Any, dec: _Decoder) -> Fault:
    if not isinstance(fields, dict):
        raise dec.fail(f"a fault must be a map, got {type(fields).__name__}")
    code = fields.get("code")
    message = fields.get("message")
    return Fault(
        code if isinstance(code, str) else str(code),
        message if isinstance(message, str) else str(message),
        fields.get("detail"),
    )


def _read_r_reply(dec: _Decoder1 | _Decoder2Draft) -> Reply:
    """The rest of an ``r`` reply after its version: a value, or ``f`` and the fault's
    pairs; then ``z`` (Caucho ends a fault with a second ``z``). Hessian 1 (``r 1 0``,
    which may carry headers first) and the 2.0 draft of Caucho 3.1.x (``r 2 0``)
    differ only in how values are encoded: the decoder."""
    data = dec.data
    if isinstance(dec, _Decoder1):
        _v1_headers(dec)
    if dec.pos < len(data) and data[dec.pos] == 0x66:  # 'f'
        dec.pos += 1
        fields: dict[Any, Any] = {}
        dec._pairs(fields)
        if dec.pos < len(data) and data[dec.pos] == 0x7A:  # Caucho ends the reply too
            dec.pos += 1
        _end(dec, "fault")
        return Reply(None, _fault(fields, dec))
    value = dec.read()
    if dec.byte() != 0x7A:
        dec.pos -= 1
        raise dec.fail("expected the end of the reply ('z')")
    _end(dec, "reply")
    return Reply(value, None)


def decode_reply(data: bytes, limits: DecodeLimits = DEFAULT_LIMITS) -> Reply:
    """A reply in Hessian 1 (``r 1 0``), the Hessian 2.0 draft of Caucho 3.1.x
    (``r 2 0``), or Hessian 2 (``H 2 0 R``/``F``, or bare ``R``/``F``)."""
    data = bytes(data)
    if len(data) < 1:
        raise ProtocolError("empty Hessian reply")
    tag = data[0]
    if tag == 0x72:  # 'r'
        dec1 = _Decoder1(data, 1, limits)
        major = dec1.byte()
        dec1.byte()
        if major not in (1, 2):
            raise dec1.fail(f"unsupported Hessian reply version {major} (expected 1, or 2 for the 2.0 draft)")
        dec: _Decoder1 | _Decoder2Draft = dec1 if major == 1 else _Decoder2Draft(data, dec1.pos, limits)
        return _guard(lambda: _read_r_reply(dec))
    dec2 = _Decoder2(data, 0, limits)
    if tag == 0x48:  # 'H' 2 0
        dec2.pos = 1
        major = dec2.byte()
        dec2.byte()
        if major != 2:
            raise dec2.fail(f"unsupported Hessian reply version {major}")

    def read_v2() -> Reply:
        kind = dec2.byte()
        if kind == 0x52:  # 'R'
            value = dec2.read()
            _end(dec2, "reply")
            return Reply(value, None)
        if kind == 0x46:  # 'F'
            fields = dec2.read()
            _end(dec2, "fault")
            return Reply(None, _fault(fields, dec2))
        dec2.pos -= 1
        raise dec2.fail(f"expected a reply ('R') or fault ('F'), got 0x{kind:02x}")

    return _guard(read_v2)
