"""Drive an async proxy from blocking test code, so tests written for the blocking
proxies check the async ones too (a plain module, imported by name)."""

from __future__ import annotations

import asyncio
from typing import Any


class Blocking:
    """An async proxy whose every call runs to completion on this wrapper's own event
    loop; ``destroy()`` awaits the proxy's ``aclose()`` and closes the loop."""

    def __init__(self, proxy: Any) -> None:
        self.proxy = proxy
        self.loop = asyncio.new_event_loop()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.proxy, name)  # a '_' name raises here, as on the blocking proxy

        def call(*args: Any, **kwargs: Any) -> Any:
            return self.loop.run_until_complete(method(*args, **kwargs))

        return call

    def destroy(self) -> None:
        if not self.loop.is_closed():
            self.loop.run_until_complete(self.proxy.aclose())
            self.loop.close()
