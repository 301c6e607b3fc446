"""Turning query strings, path pieces and bodies into typed values, or a 400 that says why.

Every value that reaches the registry passes through one of these functions first, so a client mistake
(a non-numeric id, a limit of a million, a 5 kB query, a sort the API does not offer) is answered with a
4xx and a message the sidebar can show, never with a database error turned 500. The functions are
plain (no tornado) so they read, and can be reused, as the API's input rules.
"""

from __future__ import annotations

import json
import os
from pathlib import PurePosixPath
from typing import Any

from ddas.errors import InvalidURLError
from ddas.identity import normalize_url
from ddas.records import MAX_PAGE
from ddas.vocabulary import EVENT_KINDS

MAX_QUERY_CHARS = 1000
MAX_NAME_CHARS = 255  # users and owners: the registry's String(255) columns
MAX_URL_CHARS = 8192
#: Request line (method, target, version) and header fields DDAS reads: an 8,192-character URL of
#: 4-byte UTF-8, percent-encoded, is 98,304 bytes; the server reads up to ``max_header_size``.
MAX_REQUEST_LINE_BYTES = 128 * 1024
MAX_HEADER_FIELDS_BYTES = 64 * 1024
MAX_ID = 2**63 - 1  # BIGINT on PostgreSQL, INTEGER on SQLite: larger ids cannot exist
MAX_OFFSET = 2**31 - 1
MAX_EVENTS = 1000
MAX_ROOTS = 100
MAX_PATH_CHARS = 4096
#: Sorts the REST contract offers (the registry knows a few more, kept internal).
DATASET_SORTS = frozenset(
    f"{sign}{key}" for sign in ("", "-") for key in ("name", "size", "copies", "last_used")
)


class BadRequest(ValueError):
    """A client mistake: the handler answers ``status`` with ``{"message": str(self)}``."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _show(value: str, limit: int = 40) -> str:
    """Echo a bit of the bad value back, short and without anything that could be a secret."""
    return repr(value if len(value) <= limit else value[:limit] + "...")


def integer(
    raw: str | None, name: str, *, default: int | None = None, low: int = 0, high: int = MAX_ID
) -> int:
    """An integer in ``[low, high]``; absent means ``default`` (400 when there is none).

    ``?limit=`` (present but empty) is a mistake like ``?limit=abc``, not a request for the default.
    """
    if raw is None:
        if default is None:
            raise BadRequest(f"{name} is required")
        return default
    text = raw.strip()
    if not (text.isascii() and text.lstrip("+-").isdigit()) or len(text) > 20:
        raise BadRequest(f"{name} must be an integer, not {_show(raw)}")
    value = int(text)
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low} and {high}, not {value}")
    return value


def record_id(raw: str, name: str = "id") -> int:
    """A row id from the path (``datasets/{id}``): a positive integer that can exist."""
    return integer(raw, name, low=1)


def text(raw: str | None, name: str, *, limit: int = MAX_NAME_CHARS) -> str:
    """A free-text parameter, stripped; too long is a 400 (it would never match anyway)."""
    value = (raw or "").strip()
    if len(value) > limit:
        raise BadRequest(f"{name} is longer than {limit} characters")
    return value


def page(offset: str | None, limit: str | None, *, high: int = MAX_PAGE) -> tuple[int, int]:
    """``offset`` >= 0 and 1 <= ``limit`` <= ``high`` (defaults 0 and 50)."""
    return (
        integer(offset, "offset", default=0, high=MAX_OFFSET),
        integer(limit, "limit", default=min(50, high), low=1, high=high),
    )


def dataset_sort(raw: str | None) -> str:
    """One of the contract's sorts; the default lists recently used datasets first."""
    value = "-last_used" if raw is None else raw.strip()
    if value not in DATASET_SORTS:
        raise BadRequest(f"sort must be one of {', '.join(sorted(DATASET_SORTS))}")
    return value


def dataset_url(raw: str | None) -> str:
    """A URL that :func:`ddas.identity.normalize_url` accepts (the handler passes the raw one on).

    Messages never echo the URL: it may carry a signature or a token.
    """
    value = (raw or "").strip()
    if not value:
        raise BadRequest("url is required")
    if len(value) > MAX_URL_CHARS:
        raise BadRequest(f"url is longer than {MAX_URL_CHARS} characters")
    if "://" not in value and not value.startswith(("/", "~")):
        # A relative path would be resolved against the server's working directory.
        raise BadRequest("url must be a URL (scheme://...) or an absolute path")
    try:
        normalize_url(value)
    except InvalidURLError as exc:
        raise BadRequest(f"malformed URL: {exc}") from None
    return value


def event_kinds(raw: str | None) -> tuple[str, ...] | None:
    """``kind=download,scan``: a comma-separated subset of the registry's event kinds (None: all).

    Lets the sidebar ask "did anything that changes the list happen?" without pulling every
    lookup of every user.
    """
    if raw is None:
        return None
    kinds = tuple(dict.fromkeys(k.strip() for k in raw.split(",")))
    if len(raw) > 200 or any(k not in EVENT_KINDS for k in kinds):
        raise BadRequest(
            f"kind must be a comma-separated list of {', '.join(EVENT_KINDS)}, not {_show(raw)}"
        )
    return kinds


def flag(raw: str | None, name: str, *, default: bool) -> bool:
    """A boolean query parameter (``1/0``, ``true/false``, ``yes/no``)."""
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise BadRequest(f"{name} must be true or false, not {_show(raw)}")


def json_object(body: bytes) -> dict[str, Any]:
    """A request body that is empty (= ``{}``) or a JSON object."""
    if not body.strip():
        return {}
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the request body is not valid JSON") from None
    if not isinstance(value, dict):
        raise BadRequest("the request body must be a JSON object")
    return value


def scan_roots(body: dict[str, Any], configured: list[str]) -> list[str]:
    """The roots a scan may walk: the configured ones, or a subset of paths inside them.

    An admin starts scans from the sidebar, but only the server's configuration decides *where*
    scanning is allowed: a request cannot point the server at ``/`` or another user's home.
    """
    if not configured:
        raise BadRequest("no scan roots are configured (c.DDASExtension.scan_roots)", status=409)
    if "roots" not in body:
        return list(configured)
    requested = body["roots"]
    if not isinstance(requested, list) or not requested:
        raise BadRequest("roots must be a non-empty list of paths")
    if len(requested) > MAX_ROOTS:
        raise BadRequest(f"at most {MAX_ROOTS} roots per scan")
    allowed = [PurePosixPath(os.path.realpath(c)) for c in configured]
    out = []
    for root in requested:
        if not isinstance(root, str) or not root.strip() or len(root) > MAX_PATH_CHARS:
            raise BadRequest("each root must be a non-empty path string")
        if "\x00" in root or not root.startswith("/") or ".." in PurePosixPath(root).parts:
            raise BadRequest(f"root {_show(root)} must be an absolute path without '..'")
        path = PurePosixPath(os.path.realpath(root))  # a link in a root may lead anywhere
        if not any(path == a or a in path.parents for a in allowed):
            raise BadRequest(f"root {_show(root)} is not inside a configured scan root", 403)
        out.append(str(path))
    return out
