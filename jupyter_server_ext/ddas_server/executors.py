"""Separate, bounded lanes of worker threads, so one user's slow work never queues another's.

Every blocking call of a handler (a registry query, a probe of a remote) runs on a thread, never on
the tornado event loop. With one shared pool, four lookups of a stalled remote took all four threads
and another user's ``datasets`` waited a minute behind them (head-of-line blocking). So work runs on
one of three lanes, each its own thread pool:

- ``query``: ordinary registry reads and writes (search, details, events, forget), milliseconds;
- ``heavy``: reads over the whole registry (duplicates, stats), seconds on a large one;
- ``probe``: lookups that ask a remote for its version, bounded by the network's timeouts.

Each lane limits how many calls one user may have running or waiting (429 beyond that: the client
is told to wait, the server does not queue without bound) and how long a caller waits (504; the
thread finishes on its own and only then frees the user's slot, so a user cannot pile up stalled
threads by retrying).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TypeVar

from ddas_server.validation import BadRequest

T = TypeVar("T")

#: The lane of each route's registry calls (``DDASHandler.route``); unlisted routes: ``query``.
ROUTE_LANES: dict[str, str] = {"duplicates": "heavy", "stats": "heavy"}


@dataclass
class Lane:
    """One thread pool with a per-user limit and a caller timeout (seconds)."""

    name: str
    threads: int
    per_user: int
    timeout: float
    setting: str  # the traitlet prefix an admin tunes, named in the 429/504 messages
    _executor: ThreadPoolExecutor = field(init=False, repr=False)
    _busy: Counter[str] = field(init=False, default_factory=Counter, repr=False)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock, repr=False)
    _running: set[Future] = field(init=False, default_factory=set, repr=False)

    def __post_init__(self) -> None:
        self._executor = ThreadPoolExecutor(
            max_workers=max(1, self.threads), thread_name_prefix=f"ddas-{self.name}"
        )

    def busy(self, user: str) -> int:
        """How many of ``user``'s calls run or wait on this lane now."""
        with self._lock:
            return self._busy[user]

    def _claim(self, user: str | None) -> None:
        if user is None:
            return
        with self._lock:
            if self._busy[user] >= self.per_user:
                raise BadRequest(
                    f"you already have {self._busy[user]} {self.name} requests running (the "
                    f"limit per user is {self.per_user}, c.DDASExtension.{self.setting}_per_user); "
                    "wait for them to finish and retry",
                    status=429,
                )
            self._busy[user] += 1

    def _release(self, user: str | None) -> None:
        if user is None:
            return
        with self._lock:
            self._busy[user] -= 1
            if self._busy[user] <= 0:
                del self._busy[user]

    async def run(self, fn: Callable[[], T], user: str | None) -> T:
        """Run ``fn`` on this lane for ``user`` (``None``: the server itself, never limited)."""
        self._claim(user)
        try:
            future: Future[T] = self._executor.submit(fn)
        except RuntimeError:  # shut down: the server is stopping
            self._release(user)
            raise BadRequest("the server is shutting down; retry in a moment", status=503) from None
        with self._lock:
            self._running.add(future)
        future.add_done_callback(lambda done: self._finished(done, user))
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)
        except TimeoutError:
            raise BadRequest(
                f"this {self.name} request took longer than {self.timeout:g} s "
                f"(c.DDASExtension.{self.setting}_timeout); retry later",
                status=504,
            ) from None

    def _finished(self, future: Future, user: str | None) -> None:
        with self._lock:
            self._running.discard(future)
        self._release(user)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def drain(self, timeout: float) -> int:
        """Take no more work, drop what waits, and wait up to ``timeout`` s for what runs; return
        how many calls still run. A caller that got its 504 left its thread running; whoever
        tears the registry down next (a schema dropped, an engine disposed) must not do it under
        that thread's query (PostgreSQL deadlocked on DROP SCHEMA under one, seen in CI)."""
        self.shutdown()
        with self._lock:
            running = list(self._running)
        return len(wait(running, timeout).not_done)


class Lanes:
    """The extension's lanes by name (see the module docstring)."""

    def __init__(self, lanes: list[Lane]) -> None:
        self._lanes = {lane.name: lane for lane in lanes}

    def __getitem__(self, name: str) -> Lane:
        return self._lanes[name]

    async def run(self, lane: str, fn: Callable[[], T], user: str | None = None) -> T:
        return await self._lanes[lane].run(fn, user)

    def shutdown(self) -> None:
        for lane in self._lanes.values():
            lane.shutdown()

    def drain(self, timeout: float) -> dict[str, int]:
        """:meth:`Lane.drain` of every lane, within ``timeout`` s in all: the calls still running
        after it, by lane (empty when every lane is idle)."""
        self.shutdown()  # none takes new work while another is waited for
        deadline = time.monotonic() + timeout
        left = {
            name: lane.drain(max(0.0, deadline - time.monotonic()))
            for name, lane in self._lanes.items()
        }
        return {name: n for name, n in left.items() if n}
