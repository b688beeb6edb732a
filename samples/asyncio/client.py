"""Awaits the sample's service through the async proxies of client.xml: 50 dishes
at once per transport, each cooking 50 ms."""

import asyncio
import time

from springpython.config import XMLConfig
from springpython.context import ApplicationContext

DISHES = 50


async def main(context):
    for name in ("hessian", "xmlrpc", "pyro"):
        async with context.get_object(name) as kitchen:
            print(f"CLIENT: {name} add(20, 22) =", await kitchen.add(20, 22))
            start = time.perf_counter()
            dishes = await asyncio.gather(*(kitchen.cook(f"dish {i}", 50) for i in range(DISHES)))
            elapsed = time.perf_counter() - start
            print(f"CLIENT: {name} cooked {len(dishes)} dishes of 50 ms in {'under' if elapsed < 1 else 'over'} "
                  "a second")


context = ApplicationContext(XMLConfig("client.xml"))
try:
    asyncio.run(main(context))
finally:
    context.shutdown()
