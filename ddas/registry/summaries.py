"""A page of the dataset listing as the sidebar shows it: each content with its owners and URLs.

A page's rows come from whichever way :mod:`ddas.registry.queries` found them; their owners and
URLs are then asked in one statement each for the whole page, never once per row (an N+1 of 50
round trips on PostgreSQL).
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy.orm import Session

from ddas.records import DatasetSummary
from ddas.registry.models import Content
from ddas.registry.pagesql import statement
from ddas.registry.reports import urls_by_content


def summaries(s: Session, contents: list[Content]) -> list[DatasetSummary]:
    """Summaries of a page of contents: owners and URLs in one statement each, not per row."""
    ids = [c.id for c in contents]
    owners: dict[int, set[str]] = defaultdict(set)
    if ids:
        for cid, who in s.execute(statement("owners", "", False), {"ids": ids}):
            owners[cid].add(who)
    urls = urls_by_content(s, ids)
    return [
        DatasetSummary(
            id=c.id,
            blake3=c.blake3,
            size=c.size,
            name=c.name,
            copy_count=c.copy_count,
            owners=sorted(owners[c.id]),
            last_used=c.last_used_at,
            urls=urls[c.id],
        )
        for c in contents
    ]
