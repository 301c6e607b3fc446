"""The registry's memory of a scan's roots, handed to the plan a slice at a time during the walk.

A rescan must compare every walked file with the copy the registry knows at its path. Walking
while the copies load and comparing once all had arrived held both whole at that moment (a million
files: a million known copies beside a million walked entries, 1.3 GiB), because the walk of
unchanged storage is over before the registry is read. So the registrar's thread reads the copies
in slices into a queue, and the walking thread, between two directories, gives each slice to
:class:`~ddas.scanning.plan.Plan`, which settles the files that waited for it and lets a known
copy go as soon as its file is walked: what is held is the copies not walked yet and the files
walked so far, never both whole.

Only the walk's first :data:`WALK_BESIDE_LOADING` files are taken while the loading goes on; then
the walk waits for the rest. Two threads running Python at once hand the GIL back and forth (a
million-file rescan: 130,000-380,000 context switches and up to a fifth more CPU; 4,000-18,000
when the walk waits); the overlap pays only for a small tree, whose copies load in a fraction of
a second. It does not raise the peak: each file walked afterwards frees its known copy.
"""

from __future__ import annotations

from queue import Empty, SimpleQueue
from typing import TYPE_CHECKING

from ddas import config
from ddas.scanning.remote import is_remote

#: Files the walk takes beside the loading of the registry's memory before it waits for the rest
WALK_BESIDE_LOADING = 50_000

if TYPE_CHECKING:  # pragma: no cover
    from ddas.registry.scanview import ScanView
    from ddas.scanning.plan import Plan
    from ddas.scanning.registrar import Registrar
    from ddas.scanning.walk import FileEntry


class KnownFeed:
    """Slices of known copies on their way from the registrar's thread to the plan."""

    def __init__(self, registrar: Registrar, roots: list[str]) -> None:
        self._slices: SimpleQueue[list[tuple] | None] = SimpleQueue()
        self._loading = registrar.submit(_load, roots, self._slices)
        self.complete = False

    def poll(self, plan: Plan, *, wait: bool = False) -> list[FileEntry]:
        """Give the plan the slices that arrived (``wait``: all of them, until the last); the
        files it settled that can be hashed now."""
        ready: list[FileEntry] = []
        while not self.complete:
            try:
                part = self._slices.get(timeout=0.5) if wait else self._slices.get_nowait()
            except Empty:
                if self._loading.done() and self._slices.empty():
                    self._loading.result()  # it failed before its first slice (opening): raise
                if not wait:
                    break
                continue
            if part is None:  # the last one: the loading is over (a failure raises here)
                self._loading.result()
                self.complete = True
                ready.extend(plan.learned_all())
            else:
                ready.extend(plan.learn(part))
        return ready


def _load(view: ScanView, roots: list[str], out: SimpleQueue[list[tuple] | None]) -> None:
    """Every copy the registry knows under ``roots`` (rows in ``KnownCopy``'s field order), a
    slice a put, then ``None``."""
    host = config.hostname()
    try:
        for root in roots:
            for part in view.known_copy_slices_under("" if is_remote(root) else host, root):
                out.put(part)
    finally:
        out.put(None)
