"""A service with ``async def`` methods, exported on every transport by the asyncio tests."""

from __future__ import annotations

import asyncio
import threading


class Napper:
    """Coroutine methods that sleep, answer, raise; and one plain method."""

    async def nap(self, ms):
        await asyncio.sleep(ms / 1000)
        return ms

    async def where(self):
        """The name of the thread the coroutine runs on."""
        return threading.current_thread().name

    async def fail(self, text):
        await asyncio.sleep(0)
        raise KeyError(text)

    def add(self, a, b):
        return a + b
