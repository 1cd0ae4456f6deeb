"""Running a coroutine from a synchronous test."""

from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import anyio

T = TypeVar("T")


def run_async(main: Callable[[], Awaitable[T]]) -> T:
    """`anyio.run(main)` on a thread of its own: another test in this process (Playwright's
    sync API, for one) may keep an event loop running on the main thread, where anyio.run
    (or asyncio.run) would refuse to start."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(anyio.run, main).result()
