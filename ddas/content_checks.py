"""Is this answer the dataset? An HTML page for a URL that does not name one is not.

A ``302`` to a login page, a portal's error page, a directory index: each answers ``200`` with
``text/html``, and storing it would hand every later user a web page named ``data.nc``. Browsers
show such pages, but ``pd.read_csv(url)`` would fail on them — so DDAS refuses them (with
``allow_html=True`` / ``DDAS_ALLOW_HTML=1`` as the way out), and says what the page looks like: a
directory listing gets a pointer to ``ddas.fetch_tree``.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from ddas.config import DownloadSettings
from ddas.errors import NotDatasetError
from ddas.identity import redact
from ddas.probe import Probe

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
HTML_SUFFIXES = (".html", ".htm", ".xhtml", ".shtml")
_HREF = re.compile(rb"""<a\s[^>]*href\s*=\s*["']?([^"'\s>]+)""", re.IGNORECASE)
_INDEX_TITLE = re.compile(rb"<(title|h1)[^>]*>\s*(index of|directory listing)", re.IGNORECASE)


def asks_for_html(url: str) -> bool:
    """A URL whose file name says HTML is allowed to get HTML."""
    return urlsplit(url).path.lower().endswith(HTML_SUFFIXES)


def looks_like_listing(head: bytes) -> bool:
    """An "Index of" page (Apache, nginx autoindex, python -m http.server), or a page that is
    mostly links to relative names."""
    if _INDEX_TITLE.search(head):
        return True
    relative = [
        h for h in _HREF.findall(head) if not h.startswith((b"http", b"/", b"#", b"?", b"mailto:"))
    ]
    return len([h for h in relative if h not in (b"../", b"./")]) >= 3


def refuse_html(
    url: str, nurl: str, answer: Probe, head: bytes, settings: DownloadSettings
) -> None:
    """Raise :class:`NotDatasetError` if ``answer`` is an HTML page the URL did not ask for."""
    if answer.content_type not in HTML_TYPES or settings.allow_html or asks_for_html(nurl):
        return
    final = answer.chain[-1] if answer.chain else nurl
    via = f" (after redirects to {final})" if final != nurl else ""
    if looks_like_listing(head):
        raise NotDatasetError(
            f"{redact(url)} is a directory listing{via}, not a file; nothing was stored. To "
            f"download the files it lists, use ddas.fetch_tree({nurl!r}).",
            listing=True,
        )
    raise NotDatasetError(
        f"{redact(url)} answered with an HTML page{via} instead of the dataset — often a login "
        "or error page; nothing was stored. Check the URL (and credentials: storage_options="
        "{'headers': ...}, ~/.netrc); if the page is what you want, pass allow_html=True "
        "(DDAS_ALLOW_HTML=1)."
    )
