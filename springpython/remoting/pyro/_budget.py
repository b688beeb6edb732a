"""The decode budget of a Pyro call: bytes in, a reason to refuse them out (no sockets).

A daemon checks a call's serialized data here before Pyro decodes it, so that a small
message cannot make the server build a huge structure:

* **serpent** (Python literals, decoded by ``ast.literal_eval``: about 1 KiB of parser
  memory per item) and **json**: a message has at most ``max_items`` items. The
  count is the commas and opening brackets outside string literals, an upper bound
  of the items. A message of no more bytes than ``max_items`` cannot exceed it and
  is not looked at; a longer one costs a C-level count, and a regular expression
  over its string literals only when the plain count is over the budget. Nesting is
  bounded by the decoders themselves (Python's parser refuses more than 200 nested
  brackets, json's decoder the interpreter's recursion limit), each with a clean error.
* **marshal**: the data is walked once (:func:`marshal_budget`): every object counts,
  a reference counts the objects it refers to (Pyro walks them again, so a chain of
  doubled references is an exponential structure), a container may not claim more
  elements than bytes are left, nesting is bounded by ``max_depth``, and code
  objects and references to an unfinished container are refused. Every marshal call
  is walked: 20 bytes claiming a list of 2³¹ items would otherwise cost seconds.
* Other serializers (Pyro4's ``pickle`` and ``dill``, which run code while loading
  and are only used when named; ``msgpack``, whose decoder bounds its lengths by the
  message) are not looked at."""

from __future__ import annotations

import re
import struct
from typing import NamedTuple

__all__ = ["DecodeBudget", "DEFAULT_MAX_ITEMS", "DEFAULT_MAX_DEPTH", "refusal", "marshal_budget", "TEXT_SERIALIZERS"]

#: Items one call may carry: about 80 MB of parser memory for serpent at most.
DEFAULT_MAX_ITEMS = 65536
#: Containers nested deeper than this are refused (Python's parser stops at 200).
DEFAULT_MAX_DEPTH = 200
#: The serializers whose small messages need no look (see the module docstring).
TEXT_SERIALIZERS = frozenset({"serpent", "json"})

_STRINGS = re.compile(rb"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'", re.DOTALL)


class DecodeBudget(NamedTuple):
    """What one call may cost to decode."""

    max_items: int = DEFAULT_MAX_ITEMS
    max_depth: int = DEFAULT_MAX_DEPTH


def refusal(serializer: str, data: bytes | bytearray | memoryview, budget: DecodeBudget) -> str | None:
    """Why the call ``data`` (serialized with ``serializer``) is over ``budget``, or
    ``None`` when it is within it."""
    if serializer in TEXT_SERIALIZERS:
        if len(data) <= budget.max_items:
            return None
        raw = bytes(data)
        if _items(raw) <= budget.max_items:
            return None
        if _items(_STRINGS.sub(b"", raw)) <= budget.max_items:
            return None
        return f"the call has more than {budget.max_items} items (max_items)"
    if serializer == "marshal":
        return marshal_budget(memoryview(data).cast("B"), budget)
    return None


def _items(text: bytes) -> int:
    return text.count(b",") + text.count(b"[") + text.count(b"(") + text.count(b"{")


_I32 = struct.Struct("<i")
_FLAG_REF = 0x80
# type code -> bytes that follow it (fixed-size payloads)
_FIXED = {ord(c): n for c, n in (("0", 0), ("N", 0), ("F", 0), ("T", 0), ("S", 0), (".", 0),
                                   ("i", 4), ("I", 8), ("g", 8), ("y", 16))}
_SIZED = {ord(c) for c in "stuaA"}  # int32 length, then that many bytes
_SHORT = {ord(c) for c in "zZ"}  # one-byte length, then that many bytes
_SEQUENCES = {ord(c) for c in "([<>"}  # int32 count, then that many objects
_SMALL_TUPLE = ord(")")
_DICT = ord("{")
_NULL = ord("0")
_LONG = ord("l")
_FLOAT = ord("f")
_COMPLEX = ord("x")
_REF = ord("r")


class _Over(Exception):
    """The data is over the budget, or not marshal data this check accepts."""


def marshal_budget(data: memoryview, budget: DecodeBudget) -> str | None:
    """Why marshal ``data`` is over ``budget`` (see the module docstring), or ``None``."""
    try:
        _walk_marshal(data, budget)
    except _Over as exc:
        return str(exc)
    except (IndexError, struct.error):
        return "the call is not complete marshal data"
    return None


def _walk_marshal(data: memoryview, budget: DecodeBudget) -> None:
    """Walk the marshal objects of ``data`` iteratively; raise :class:`_Over`."""
    size = len(data)
    pos = 0
    items = 0
    max_items, max_depth = budget.max_items, budget.max_depth
    # objects of each finished object by reference index; None while unfinished
    refs: list[int | None] = []
    # open containers: [objects still to read (-1: a dict, read until NULL), reference
    # index (-1: none), items counted before it]
    stack: list[list[int]] = []
    while True:
        code = data[pos]
        pos += 1
        kind = code & ~_FLAG_REF
        index = -1
        if code & _FLAG_REF:
            index = len(refs)
            refs.append(None)
        items += 1
        count = 1  # the objects a reference to this one stands for
        if kind == _NULL:  # the end of a dict
            if not stack or stack[-1][0] != -1 or index >= 0:
                raise _Over("the call is not marshal data this server reads")
            items -= 1
            _, index, before = stack.pop()
            if index >= 0:
                refs[index] = items - before
        elif kind in _FIXED:
            pos += _FIXED[kind]
        elif kind in _SIZED:
            pos += 4 + _length(data, pos, size)
        elif kind in _SHORT or kind == _FLOAT:
            pos += 1 + data[pos]
        elif kind == _COMPLEX:
            pos += 1 + data[pos]
            pos += 1 + data[pos]
        elif kind == _LONG:
            pos += 4 + 2 * abs(_I32.unpack_from(data, pos)[0])
        elif kind == _REF:
            target = _I32.unpack_from(data, pos)[0]
            pos += 4
            found = refs[target] if 0 <= target < len(refs) else None
            if found is None:
                raise _Over("the call refers to an object it has not finished (marshal reference)")
            count = found
            items += count - 1
        elif kind in _SEQUENCES or kind == _SMALL_TUPLE or kind == _DICT:
            if kind == _SMALL_TUPLE:
                claimed = data[pos]
                pos += 1
            elif kind == _DICT:
                claimed = -1
            else:
                claimed = _length(data, pos, size)
                pos += 4
            if len(stack) >= max_depth:
                raise _Over(f"the call nests containers deeper than {max_depth} (max_depth)")
            if claimed > size - pos:
                raise _Over("the call claims more items than it has bytes (marshal)")
            if claimed:
                if items > max_items:
                    raise _Over(f"the call has more than {max_items} items (max_items)")
                stack.append([claimed, index, items - 1])
                continue
        else:
            raise _Over(f"the call holds a marshal type this server does not read ({chr(kind)!r})")
        if pos > size:
            raise _Over("the call is not complete marshal data")
        if items > max_items:
            raise _Over(f"the call has more than {max_items} items (max_items)")
        if index >= 0 and kind != _NULL:
            refs[index] = count
        # an object is complete: count it off its container; a container it completes
        # is in turn a complete object of its own container
        while stack:
            top = stack[-1]
            if top[0] == -1:
                break
            top[0] -= 1
            if top[0]:
                break
            stack.pop()
            if top[1] >= 0:
                refs[top[1]] = items - top[2]
        if not stack:
            if pos != size:
                raise _Over("the call has bytes after its marshal data")
            return


def _length(data: memoryview, pos: int, size: int) -> int:
    length = int(_I32.unpack_from(data, pos)[0])
    if not 0 <= length <= size - pos - 4:
        raise _Over("the call claims more bytes than it has (marshal)")
    return length
