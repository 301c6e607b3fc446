"""How a hit is told: a rich card in notebooks, a ``logging`` warning and a stderr line elsewhere.

This is the only part of ``ddas`` that knows about Jupyter, and it imports IPython lazily: a script or
the CLI never pays for it. The ``ddas`` logger gets a ``NullHandler`` (library etiquette), so the
stderr line is written once by us rather than again by logging's last-resort handler.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field

from ddas.alerts.card import human_size, render_html, render_text
from ddas.records import CopyInfo
from ddas.vocabulary import AlertKind

log = logging.getLogger("ddas")
log.addHandler(logging.NullHandler())

__all__ = ["Alert", "announce", "frontend_attached", "human_size", "in_kernel"]


@dataclass
class Alert:
    """One thing DDAS tells the user: what happened (``kind``), about which dataset, where copies are."""

    kind: AlertKind
    name: str
    url: str  # always the redacted, normalized URL
    message: str
    copies: list[CopyInfo] = field(default_factory=list)
    size: int | None = None
    saved_bytes: int = 0
    summary: str = ""  # what the data is, from its extracted metadata ("t2m (K), 2020-…")

    def _repr_html_(self) -> str:
        return render_html(
            self.kind,
            self.name,
            self.url,
            self.message,
            self.copies,
            self.size,
            self.saved_bytes,
            self.summary,
        )

    def __str__(self) -> str:
        name = f"{self.name} [{self.summary}]" if self.summary else self.name
        return render_text(self.kind, name, self.message, self.copies)


def in_kernel() -> bool:
    """True inside an IPython kernel (a notebook, papermill, or any Jupyter client)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def frontend_attached() -> bool:
    """True when a person is looking: a kernel whose current request came from a live front end.

    JupyterLab sends ``allow_stdin=True`` with each execute request; papermill/nbclient do not. This
    is what lets ``policy="ask"`` fall back to ``reuse`` and progress bars stay silent in batch runs.
    """
    if not in_kernel():
        return False
    import IPython

    kernel = IPython.get_ipython().kernel  # type: ignore[union-attr]
    return bool(getattr(kernel, "_allow_stdin", False))


def announce(alert: Alert, *, quiet: bool = False) -> None:
    """Tell the user: card in a notebook, else a warning on the ``ddas`` logger plus a stderr line."""
    text = str(alert)
    if in_kernel():
        log.info(text)
        if not quiet:
            from IPython.display import display

            display(alert)
        return
    log.warning(text)
    if not quiet:
        print(text, file=sys.stderr)
