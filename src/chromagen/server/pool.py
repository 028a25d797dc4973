"""A bounded worker pool: inference runs off the event loop, and work beyond capacity is refused, not queued.

Refusing early (503 + Retry-After) keeps memory bounded under any load: at most ``capacity`` uploads are
on disk and at most ``workers`` images are decoded at once.
"""

import asyncio
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class WorkerPool:
    """``workers`` threads plus an admission counter capped at ``capacity`` (running + waiting)."""

    def __init__(self, workers: int, capacity: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="chromagen-worker")
        self._workers = workers
        self._capacity = capacity
        self._in_flight = 0
        self._lock = threading.Lock()
        self._durations: deque[float] = deque([1.0], maxlen=32)  # recent task seconds, for Retry-After

    def try_admit(self) -> bool:
        """Take a slot if one is free; the caller must ``release`` it when its work is over."""
        with self._lock:
            if self._in_flight >= self._capacity:
                return False
            self._in_flight += 1
            return True

    def release(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def retry_after(self) -> int:
        """Seconds until a slot is likely free: the queue ahead divided among the workers."""
        mean = sum(self._durations) / len(self._durations)
        return max(1, math.ceil(mean * self._in_flight / self._workers))

    def _timed(self, fn: Callable[..., T], *args: object) -> T:
        start = time.perf_counter()
        try:
            return fn(*args)
        finally:
            self._durations.append(time.perf_counter() - start)

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """Run ``fn(*args)`` on a worker thread and await its result (the caller holds a slot)."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._timed, fn, *args)

    def submit(self, fn: Callable[..., object], *args: object) -> Future:
        """Run in the background (jobs); the slot the caller took is released when ``fn`` ends."""
        def task() -> object:
            try:
                return self._timed(fn, *args)
            finally:
                self.release()
        return self._executor.submit(task)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
