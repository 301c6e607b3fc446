"""The Registry's reports as the sidebar's Duplicates and Savings tabs read them, on SQLite and
PostgreSQL: what is waste (not a hardlink, not a missing copy), what is saved and by whom, and the
activity feed.
"""

from __future__ import annotations

import hashlib

import pytest

from ddas.records import RegistryStats
from tests.registry_stories import GB, V1, b3, download, md5

# -- duplicates ----------------------------------------------------------------------------------


def test_hardlinks_to_one_inode_are_not_waste(registry) -> None:
    kw = {"size": 1000, "blake3": b3("x"), "device": 5, "inode": 77, "host": "node1"}
    registry.register_file("/shared/a/x.nc", **kw)
    registry.register_file("/shared/b/x.nc", **kw)
    assert registry.duplicates().total == 0, "two names, one inode: linking is the cure"

    registry.register_file("/shared/c/x.nc", **{**kw, "inode": 78})
    [group] = registry.duplicates().items
    assert (group.wasted_bytes, len(group.copy_list)) == (1000, 3)

    registry.register_file("/shared/a/x.nc", **{**kw, "host": "node2"})  # another machine's disk
    assert registry.duplicates().items[0].wasted_bytes == 2000


def test_duplicates_ignore_missing_copies_and_sort_by_waste(registry) -> None:
    for label, size in [("small", 10), ("big", 1000)]:
        for i in range(3):
            registry.register_file(f"/d{i}/{label}.nc", size=size, blake3=b3(label), inode=i)
    lost = registry.register_file("/d9/big.nc", size=1000, blake3=b3("big"), inode=9)
    registry.mark_copy(lost.id, "missing")

    page = registry.duplicates()
    assert [(g.name, g.wasted_bytes) for g in page.items] == [("big.nc", 2000), ("small.nc", 20)]
    second = registry.duplicates(offset=1, limit=1)
    assert (second.total, [g.name for g in second.items]) == (2, ["small.nc"])


# -- stats and events ----------------------------------------------------------------------------


def test_stats_count_bytes_and_downloads_saved_by_user_and_file_type(registry) -> None:
    nc = download(registry, label="era5", size=300)
    gz = download(registry, "https://data.example.org/g.tar.gz", label="g", size=50, owner="bob")
    for user, copy in [("bob", nc), ("carol", nc), ("carol", gz)]:
        registry.record_event("reuse", user=user, content_id=copy.content_id, nbytes=copy.size)
    registry.record_event("verify", user="dave", content_id=nc.content_id, nbytes=10**9)

    typed = registry.stats()
    stats = typed.to_dict()

    assert isinstance(typed, RegistryStats) and typed.reuses == 3
    assert (stats["downloads"], stats["reuses"]) == (2, 3), "a reuse is a download saved"
    assert "downloads_saved" not in stats and "copies" not in stats, "one name per number"
    assert stats["bytes_saved"] == 650
    assert [r["user"] for r in stats["by_user"]] == ["carol", "bob", "alice"], "most saved first"
    by_user = {r["user"]: r for r in stats["by_user"]}
    assert by_user["carol"] == {
        "user": "carol",
        "reuses": 2,
        "bytes_saved": 350,
        "downloads": 0,
        "bytes_downloaded": 0,
    }
    assert by_user["bob"] == {
        "user": "bob",
        "reuses": 1,
        "bytes_saved": 300,
        "downloads": 1,
        "bytes_downloaded": 50,
    }
    assert by_user["alice"]["downloads"] == 1 and "dave" not in by_user
    assert stats["by_type"] == [
        {"ext": ".nc", "contents": 1, "bytes": 300, "reuses": 2, "bytes_saved": 600},
        {"ext": ".tar.gz", "contents": 1, "bytes": 50, "reuses": 1, "bytes_saved": 50},
    ]
    [today] = stats["over_time"]
    assert (today["reuses"], today["bytes_saved"]) == (3, 650)
    assert (stats["contents"], stats["copy_count"], stats["present_bytes"]) == (2, 2, 350)


def test_stats_count_wasted_bytes(registry) -> None:
    copy = download(registry, label="era5", size=300)
    registry.register_file("/home/bob/era5.nc", size=300, blake3=copy.blake3, inode=3)
    stats = registry.stats()
    assert (stats.wasted_bytes, stats.duplicate_groups) == (300, 1)


def test_events_since_an_id_arrive_oldest_first(registry) -> None:
    copy = download(registry)
    mark = registry.last_event_id()
    ids = [
        registry.record_event("reuse", user="bob", content_id=copy.content_id, nbytes=GB),
        registry.record_event("alert", user="carol", content_id=copy.content_id),
        registry.record_event("scan", user="bob", detail={"url": "https://x.org/y"}),
    ]
    assert registry.last_event_id() == ids[-1]

    assert [e.id for e in registry.events(since=mark)] == ids
    assert [e.id for e in registry.events(since=ids[0])] == ids[1:]
    assert registry.events(since=ids[-1]) == []
    assert [e.kind for e in registry.events(since=mark, user="bob")] == ["reuse", "scan"]
    assert [e.user for e in registry.events(since=mark, kinds=("alert",))] == ["carol"]
    assert [e.id for e in registry.events(since=mark, limit=1)] == ids[:1]
    reuse, _, lookup = registry.events(since=mark)
    assert (reuse.name, reuse.bytes) == ("2020.nc", GB)
    assert (lookup.name, lookup.detail) == (None, {"url": "https://x.org/y"})
    with pytest.raises(ValueError):
        registry.record_event("bogus")  # type: ignore[arg-type]
    with pytest.raises(ValueError):  # never written by any code, so no longer a kind
        registry.record_event("lookup")  # type: ignore[arg-type]


def test_a_dataset_shows_every_copy_source_digest_and_recent_event(registry) -> None:
    copy = download(registry)
    registry.add_source(copy.content_id, "https://mirror.example.net/2020.nc", V1)
    detail = registry.dataset(copy.content_id)
    assert detail.digests == {
        "blake3": b3("era5-2020"),
        "md5": md5("era5-2020"),
        "sha256": hashlib.sha256(b"era5-2020").hexdigest(),
    }
    assert detail.urls == [
        "https://data.example.org/era5/2020.nc",
        "https://mirror.example.net/2020.nc",
    ]
    assert [c.id for c in detail.copy_list] == [copy.id]
    assert [e.kind for e in detail.events] == ["download"]
    assert detail.to_dict()["last_used"].endswith("Z")
    assert registry.dataset(copy.content_id + 100) is None
