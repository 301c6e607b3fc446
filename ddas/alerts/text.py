"""Registry text as it may be shown: nothing hidden, nothing reordered, nothing endless.

Names, URLs, owners and paths come from whoever registered them. A right-to-left override (U+202E)
makes ``report_\u202egpj.exe`` display as ``report_exe.jpg``; a zero-width space makes two different
names look the same; a 20,000-character name fills a notebook. So every alert shows such text
through :func:`visible` (each deceptive or control character as its escape, ``\\u202e``) and
:func:`cut` — the same character set the sidebar escapes (``labextension/src/format.ts``).
"""

from __future__ import annotations

import re

#: Bidi embeddings/overrides/isolates/marks, zero-width and other invisible format characters.
DECEPTIVE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufeff\uffa0\U000e0000-\U000e007f]"
)
#: C0 and C1 controls, DEL, and the line/paragraph separators.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
MAX_SHOWN = 200


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\U{code:08x}" if code > 0xFFFF else f"\\u{code:04x}"


def visible(text: str | None) -> str:
    """``text`` with every deceptive or control character shown as its escape."""
    if not text:
        return ""
    return CONTROL.sub(_escape, DECEPTIVE.sub(_escape, text))


def cut(text: str, limit: int = MAX_SHOWN) -> str:
    """Shorten the middle of a long text so both its start and its file name stay readable."""
    if len(text) <= limit:
        return text
    head = (limit - 1) * 2 // 5
    return f"{text[:head]}…{text[len(text) - (limit - 1 - head) :]}"


def shown(text: str | None, limit: int = MAX_SHOWN) -> str:
    """What one line shows: visible, cut."""
    return cut(visible(text), limit)
