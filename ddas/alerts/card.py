"""The alert as a researcher sees it: an HTML card in notebooks, one concise line elsewhere.

Every value shown is user data (dataset names, paths, user names) and is escaped: a dataset named
``<img src=x onerror=alert(1)>`` must render as text, and one named with a right-to-left override must
not display reordered (:mod:`ddas.alerts.text`). URLs shown are always redacted (secrets stripped).
"""

from __future__ import annotations

import datetime as dt
import html
import time

from ddas.alerts.text import MAX_SHOWN, shown, visible
from ddas.records import CopyInfo
from ddas.units import human_size

_TITLES = {
    "reuse": "Already downloaded — reusing the existing copy",
    "warn": "Already downloaded — downloading again as asked (policy 'warn')",
    "mirror": "Same content as a dataset already registered (a mirror)",
    "new_version": "A new version of a dataset that exists in an older version",
    "waiting": "Someone is downloading this right now",
    "ask": "This dataset already exists",
    "collection": "A collection of files: only the missing ones were downloaded",
}


def ago(ts: float | None, now: float | None = None) -> str:
    """'3 days ago' for a timestamp, so 'when' reads naturally in an alert."""
    if ts is None:
        return "never"
    delta = max(0.0, (now or time.time()) - ts)
    for seconds, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if delta >= seconds:
            count = int(delta // seconds)
            return f"{count} {unit}{'s' if count > 1 else ''} ago"
    return "just now"


def _iso(ts: float | None) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if ts else "—"


def render_html(
    kind: str,
    name: str,
    url: str,
    message: str,
    copies: list[CopyInfo],
    size: int | None,
    saved_bytes: int,
    summary: str = "",
) -> str:
    """The notebook card: name, what the data is (``summary``, from its metadata), message, and a
    table of the existing copies."""
    e = html.escape
    rows = "".join(
        "<tr>"
        # A store path ends in a 64-character digest folder: let it break anywhere, or the
        # when/size/verified columns are pushed out of the output area.
        f"<td>{isolated(c.owner, 64)}</td><td style='text-align:left'>"
        "<code style='overflow-wrap:anywhere;word-break:break-all'>"
        f"{isolated(c.location)}</code></td>"
        f"<td title='{e(_iso(c.created))}'>{e(ago(c.created))}</td>"
        f"<td>{e(human_size(c.size))}</td>"
        f"<td title='{e(c.blake3 or '')}'>"
        f"{'✔ ' + e(ago(c.verified_at)) if c.verified_at else 'not yet'}</td>"
        f"<td>{e(c.state)}</td></tr>"
        for c in copies[:20]
    )
    more = f"<p>…and {len(copies) - 20} more copies.</p>" if len(copies) > 20 else ""
    digest = next((c.blake3 for c in copies if c.blake3), None)
    saved = (
        f"<p><b>Saved:</b> {e(human_size(saved_bytes))} not downloaded.</p>" if saved_bytes else ""
    )
    table = (
        "<table><thead><tr><th>owner</th><th>location</th><th>when</th><th>size</th>"
        f"<th>verified</th><th>state</th></tr></thead><tbody>{rows}</tbody></table>{more}"
        if copies
        else ""
    )
    return (
        f"<div class='ddas-alert ddas-alert-{e(kind)}' style='border-left:4px solid "
        "var(--jp-warn-color1,#f0ad4e);padding:6px 12px;margin:4px 0;"
        "background:var(--jp-layout-color2,#f7f7f7)'>"
        f"<div><b>DDAS · {e(_TITLES.get(kind, kind))}</b></div>"
        f"<div><b>{isolated(name)}</b> ({e(human_size(size))}) — <code>{isolated(url)}</code>"
        "</div>"
        + (f"<div class='ddas-alert-summary'>{e(visible(summary))}</div>" if summary else "")
        + f"<p>{e(visible(message))}</p>{saved}{table}"
        + (f"<div style='font-size:85%'>BLAKE3 <code>{e(digest)}</code></div>" if digest else "")
        + "</div>"
    )


def isolated(text: str | None, limit: int = MAX_SHOWN) -> str:
    """Registry text in HTML: visible, cut, escaped, isolated left-to-right, full on hover."""
    full = html.escape(visible(text))
    return f"<bdi dir='ltr' title='{full}'>{html.escape(shown(text, limit))}</bdi>"


def render_text(kind: str, name: str, message: str, copies: list[CopyInfo]) -> str:
    """One line for terminals and logs (registry text visible and cut: see ``text``)."""
    where = ""
    if copies:
        first = copies[0]
        where = f" — {shown(first.location)} ({shown(first.owner, 64)}, {ago(first.created)})"
        if len(copies) > 1:
            where += f" +{len(copies) - 1} more"
    return f"DDAS: {shown(name)}: {visible(message)}{where}"
