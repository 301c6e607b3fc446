"""Writing a scan report for people who will not open a notebook: one HTML page plus CSV files.

``save_report(report, "scan.html")`` writes ``scan.html`` (summary, most wasteful groups, wasted bytes
by folder / owner / file type, errors, and any matplotlib figures given, embedded as PNG so the page
is a single file that can be mailed or served) and next to it ``scan.files.csv``,
``scan.duplicates.csv`` and ``scan.errors.csv`` for spreadsheets.
"""

from __future__ import annotations

import base64
import html
import io
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ddas.scanning.report import ScanReport
from ddas.units import human_size

_STYLE = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;padding:2px 8px}
th{background:#f3f3f3}td{text-align:right}td:first-child{text-align:left}"""


def _table(frame: Any, sizes: Iterable[str] = ()) -> str:
    shown = frame.copy()
    for column in sizes:
        if column in shown:
            shown[column] = shown[column].map(human_size)
    return shown.to_html(index=False, escape=True, border=0)


def _png(figure: Any) -> str:
    buf = io.BytesIO()
    figure.savefig(buf, format="png", dpi=96, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode()


def save_report(
    report: ScanReport,
    path: str | os.PathLike[str],
    *,
    top: int = 50,
    figures: Iterable[Any] = (),
) -> list[Path]:
    """Write the HTML page and the CSV files; returns the paths written."""
    import pandas as pd

    page = Path(path)
    if page.suffix.lower() not in (".html", ".htm"):
        page = page.with_suffix(".html")
    page.parent.mkdir(parents=True, exist_ok=True)
    stem = page.with_suffix("")
    summary = pd.DataFrame([{k: v for k, v in report.summary().items()}])
    groups = report.duplicates.head(top).assign(paths=lambda d: d["paths"].map("\n".join))
    parts = [
        f"<h1>Duplicate datasets under {html.escape(', '.join(report.roots))}</h1>",
        f"<p>Scanned {time.strftime('%Y-%m-%d %H:%M %Z')} in {report.seconds:.1f} s.</p>",
        _table(summary, ["bytes", "hashed_bytes", "wasted_bytes"]),
        f"<h2>Most wasteful duplicate groups (top {top})</h2>",
        _table(groups.drop(columns=["blake3"]), ["size", "wasted_bytes"]),
    ]
    for by, title in (("top", "top-level folder"), ("owner", "owner"), ("ext", "file type")):
        parts += [
            f"<h2>Wasted bytes by {title}</h2>",
            _table(report.wasted_by(by).head(top), ["wasted_bytes"]),
        ]
    for figure in figures:
        parts.append(f'<p><img alt="chart" src="data:image/png;base64,{_png(figure)}"></p>')
    parts += [
        f"<h2>Could not be scanned ({len(report.error_list)})</h2>",
        _table(report.errors.head(500)),
    ]
    page.write_text(
        f"<!doctype html><meta charset='utf-8'><title>ddas scan</title>"
        f"<style>{_STYLE}</style>\n" + "\n".join(parts),
        encoding="utf-8",
    )
    written = [page]
    for name, frame in (
        ("files", report.files),
        ("duplicates", report.duplicates),
        ("errors", report.errors),
    ):
        out = Path(f"{stem}.{name}.csv")
        frame.to_csv(out, index=False)
        written.append(out)
    return written
