"""The registry questions of :mod:`ddas.api` and the CLI, answered by the JupyterHub service."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from ddas.hashes import digest_or_none
from ddas.records import MAX_PAGE, CopyInfo
from ddas.remote.client import ServiceClient, client

_COPY_FIELDS = {f.name for f in dataclasses.fields(CopyInfo)}


def _epoch(value: Any) -> float | None:
    if not value:
        return None
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC).timestamp()


def copy_from_dict(data: dict[str, Any]) -> CopyInfo:
    """A :class:`CopyInfo` from the REST API's copy object (timestamps back to epoch seconds)."""
    values = {k: v for k, v in data.items() if k in _COPY_FIELDS}
    for name in CopyInfo._timestamps:
        values[name] = _epoch(values.get(name))
    return CopyInfo(**values)


def lookup(url: str, *, service: ServiceClient | None = None) -> list[CopyInfo]:
    """Every present copy of what ``url`` gave, as the service's registry knows it (no probe)."""
    reply = (service or client()).get("lookup", url=url, probe="false")
    return [copy_from_dict(c) for c in reply["copies"]]


def forget(copy_id: int, *, service: ServiceClient | None = None) -> None:
    """Forget a copy: allowed to its owner and to DDAS admins, as the Hub says who you are."""
    (service or client()).delete(f"copies/{int(copy_id)}")


def find(query: str, limit: int, *, service: ServiceClient | None = None) -> list[dict[str, Any]]:
    """``ddas find``: copies by URL, else by the service's text/digest search.

    A digest is read by :func:`ddas.hashes.parse_digest` as locally (bare hex is BLAKE3): the
    search is asked for its hex, and only datasets with that very digest are kept."""
    service = service or client()
    if "://" in query:
        return [c.to_dict() for c in lookup(query, service=service)][:limit]
    known = digest_or_none(query)
    page = service.get("datasets", q=known.value if known else query, limit=min(limit, MAX_PAGE))
    rows: list[dict[str, Any]] = []
    for item in page["items"]:
        detail = service.get(f"datasets/{item['id']}")
        if known and detail.get("digests", {}).get(known.algorithm) != known.value:
            continue  # a BLAKE3 prefix or another algorithm's alias: not this digest
        rows += [c for c in detail["copy_list"] if c.get("state") == "present"]
    return rows[:limit]


def stats(*, service: ServiceClient | None = None) -> dict[str, Any]:
    return (service or client()).get("stats")
