"""Telling a caller how a scan is going: an ``on_progress`` callback and/or a tqdm bar.

A scan of a petabyte file system runs for hours, so progress matters; but it must cost nothing when
nobody watches. The callback receives the same mutable :class:`ScanProgress` each time (at most
every ``interval`` seconds, and at each phase change); tqdm is imported only when ``progress=True``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

PHASES = ("walk", "plan", "read", "register", "done")


@dataclass
class ScanProgress:
    """Where a scan is: ``files``/``bytes`` found so far, ``hashed_bytes`` read to hash them."""

    phase: str = "walk"
    files: int = 0
    bytes: int = 0
    hashed_bytes: int = 0
    candidates: int = 0  # files that share their size with another (the ones that may be read)
    registered: int = 0
    errors: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "elapsed": self.elapsed}


class Reporter:
    """Throttled fan-out of :class:`ScanProgress` to a callback and an optional tqdm bar."""

    def __init__(
        self,
        *,
        show: bool = False,
        callback: Callable[[ScanProgress], Any] | None = None,
        interval: float = 0.2,
    ) -> None:
        self.state = ScanProgress()
        self._callback = callback
        self._interval = interval
        self._last = 0.0
        self._bar: Any = None
        self._shown_bytes = 0
        if show:
            from tqdm.auto import tqdm

            self._bar = tqdm(
                desc="ddas scan: walk",
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                leave=True,
                dynamic_ncols=True,
            )

    @property
    def active(self) -> bool:
        return self._callback is not None or self._bar is not None

    def update(self, *, force: bool = False, **changes: Any) -> None:
        """Apply ``changes`` and notify if ``interval`` elapsed (or the phase changed)."""
        state = self.state
        if "phase" in changes and changes["phase"] != state.phase:
            force = True
        for key, value in changes.items():
            setattr(state, key, value)
        if not self.active:
            return
        now = time.monotonic()
        if not force and now - self._last < self._interval:
            return
        self._last = now
        if self._bar is not None:
            self._bar.set_description(f"ddas scan: {state.phase}", refresh=False)
            self._bar.set_postfix(files=state.files, refresh=False)
            self._bar.update(state.hashed_bytes - self._shown_bytes)
            self._shown_bytes = state.hashed_bytes
        if self._callback is not None:
            self._callback(state)

    def close(self) -> None:
        self.update(force=True)
        if self._bar is not None:
            self._bar.close()
            self._bar = None
