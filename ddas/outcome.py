"""What a fetch hands back, and how it tells the user what happened."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ddas.alerts import Alert, announce
from ddas.identity import NormalizedURL
from ddas.records import CopyInfo
from ddas.vocabulary import AlertKind


@dataclass(frozen=True)
class FetchResult:
    """What a fetch did: where the data is, whether it was reused, and its identity."""

    path: Path
    reused: bool
    blake3: str | None
    size: int
    source: str  # the normalized, secret-free URL
    copy: CopyInfo | None = None
    alert: Alert | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "reused": self.reused,
            "blake3": self.blake3,
            "size": self.size,
            "source": self.source,
        }


def tell(
    kind: AlertKind,
    nurl: NormalizedURL,
    copies: list[CopyInfo],
    size: int | None,
    message: str,
    *,
    saved: int = 0,
    quiet: bool = False,
    summary: str = "",
) -> Alert:
    """Build the alert and show it (card in a notebook, one stderr line elsewhere)."""
    alert = Alert(kind, nurl.name, nurl.url, message, copies, size, saved, summary)
    announce(alert, quiet=quiet)
    return alert
