"""Progress a person can see: our own download's bar, or the notice while someone else downloads.

Kept apart from ``fetching`` because it is about presentation (tqdm.auto chooses a widget in a
notebook, text in a terminal, nothing under papermill) while ``fetching`` is about decisions.
"""

from __future__ import annotations

import sys
from typing import Any

from ddas.alerts import Alert, announce, frontend_attached
from ddas.identity import NormalizedURL
from ddas.records import LeaseInfo


class ProgressBar:
    """tqdm.auto when wanted: a widget in notebooks, text in terminals, silent in batch runs.

    ``progress`` may be True/False, None (auto: a person is watching), or a tqdm-like object with
    ``update``/``close`` (pluggable, as pooch users asked for).
    """

    def __init__(self, progress: Any, total: int | None, desc: str, initial: int = 0) -> None:
        self.done = initial
        if progress is None:
            progress = frontend_attached() or sys.stderr.isatty()
        if progress is True:
            from tqdm.auto import tqdm

            self.bar = tqdm(
                total=total,
                desc=desc[:40],
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                initial=initial,
                leave=False,
            )
        else:
            self.bar = progress or None
            if self.bar is not None and initial:
                self.bar.update(initial)

    def update_to(self, done: int) -> None:
        """Move the bar to ``done`` bytes (never backwards: a resumed download starts ahead)."""
        if self.bar is not None and done > self.done:
            self.bar.update(done - self.done)
        self.done = max(self.done, done)

    def close(self) -> None:
        if self.bar is not None and hasattr(self.bar, "close"):
            self.bar.close()


class WaitNotice:
    """Shown while another user's download of the same dataset is in flight, so that a waiting
    cell says whom it waits for and how far they are instead of looking hung."""

    def __init__(
        self, nurl: NormalizedURL, lease: LeaseInfo, progress: Any, quiet: bool = False
    ) -> None:
        total = lease.total_bytes
        pct = f", {100 * lease.progress_bytes // total}%" if total else ""
        self.bar = ProgressBar(progress, total, f"waiting for {lease.user}")
        message = f"waiting for {lease.user}'s download{pct}; will reuse it"
        announce(Alert("waiting", nurl.name, nurl.url, message, size=total), quiet=quiet)

    def update(self, done: int) -> None:
        self.bar.update_to(done)

    def close(self) -> None:
        self.bar.close()
