"""The sample's service: ``async def`` methods beside a plain one."""

import asyncio
import threading


class Kitchen:
    """Cooks take time (awaited, not blocked on); adding is instant."""

    async def cook(self, dish, ms):
        await asyncio.sleep(ms / 1000)
        return f"{dish} after {ms} ms"

    async def where(self):
        """The thread the coroutine ran on."""
        return threading.current_thread().name

    def add(self, a, b):
        return a + b
