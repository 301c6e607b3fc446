"""The registry over REST, as the sidebar and any HTTP client use it (SQLite and PostgreSQL).

A real jupyter-server with the ``ddas_server`` extension answers real HTTP requests (``jp_fetch``);
the registry is seeded through ``ddas.registry.Registry`` only.
"""

from __future__ import annotations

import json

import pytest
from traitlets.config import Config

from ddas.identity import Validators
from ddas.registry import lease_key
from tests.fixtures.ddas_server import B3, ERA5_URL, as_user, seed
from tests.fixtures.http_server import CountingServer


@pytest.fixture
def jp_server_config(ddas_server_config: Config) -> Config:
    return ddas_server_config


async def test_the_sidebar_searches_datasets_and_sees_every_copy_and_source(ddas_api, registry):
    ids = seed(registry)
    code, page = await ddas_api("datasets", params={"q": "ERA5"})
    assert code == 200 and page["total"] == 1 and (page["offset"], page["limit"]) == (0, 50)
    (era5,) = page["items"]
    assert era5["id"] == ids["era5"].content_id and era5["blake3"] == B3["era5"]
    assert era5["copy_count"] == 2 and era5["owners"] == ["alice", "bob"]
    assert era5["urls"] == [ERA5_URL]  # the signature never reaches the wire
    assert era5["last_used"].endswith("Z")

    code, page = await ddas_api("datasets", params={"q": "esgf.example.org/cmip6"})
    assert [d["name"] for d in page["items"]] == ["tas_day.tar.gz"]
    code, page = await ddas_api("datasets", params={"q": B3["obs"][:12]})
    assert [d["name"] for d in page["items"]] == ["stations.csv"]


async def test_datasets_paginate_sort_and_filter_by_owner(ddas_api, registry):
    seed(registry)
    code, page = await ddas_api("datasets", params={"sort": "-size", "limit": "2"})
    assert code == 200 and page["total"] == 3 and page["limit"] == 2
    assert [d["size"] for d in page["items"]] == [4000, 1000]
    code, page = await ddas_api("datasets", params={"sort": "-size", "offset": "2", "limit": "2"})
    assert [d["size"] for d in page["items"]] == [10]
    code, page = await ddas_api("datasets", params={"sort": "name"})
    assert [d["name"] for d in page["items"]] == ["era5_2020.nc", "stations.csv", "tas_day.tar.gz"]
    code, page = await ddas_api("datasets", params={"sort": "-copies", "limit": "1"})
    assert page["items"][0]["copy_count"] == 2
    code, page = await ddas_api("datasets", params={"owner": "carol"})
    assert [d["name"] for d in page["items"]] == ["stations.csv"]
    code, page = await ddas_api("datasets", params={"owner": "me"}, user="bob")
    assert sorted(d["name"] for d in page["items"]) == ["era5_2020.nc", "tas_day.tar.gz"]


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"limit": ""}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"offset": "ten"}, "offset"),
        ({"limit": "1e3"}, "limit"),
        ({"offset": "9" * 30}, "offset"),
        ({"sort": "size; DROP TABLE contents"}, "sort"),
        ({"sort": "created"}, "sort"),
        ({"q": "x" * 1001}, "q is longer than 1000"),
        ({"owner": "o" * 256}, "owner"),
    ],
)
async def test_bad_dataset_queries_are_400_with_a_message(ddas_api, registry, params, fragment):
    code, reply = await ddas_api("datasets", params=params)
    assert code == 400 and fragment in reply["message"]


async def test_a_query_of_1000_characters_is_still_a_query(ddas_api, registry):
    seed(registry)
    code, page = await ddas_api("datasets", params={"q": "é" * 1000})
    assert code == 200 and page["total"] == 0


async def test_one_dataset_shows_copies_sources_digests_and_events(ddas_api, registry):
    ids = seed(registry)
    code, detail = await ddas_api(f"datasets/{ids['era5'].content_id}")
    assert code == 200 and detail["name"] == "era5_2020.nc" and detail["size"] == 4000
    assert {c["location"] for c in detail["copy_list"]} == {
        "/store/a1/era5_2020.nc",
        "/home/bob/era5_2020.nc",
    }
    copy = detail["copy_list"][0]
    assert set(copy) >= {
        "id",
        "content_id",
        "host",
        "location",
        "owner",
        "state",
        "created",
        "verified_at",
        "size",
        "in_store",
    }
    assert [s["url"] for s in detail["sources"]] == [ERA5_URL] and detail["sources"][0]["etag"]
    assert detail["digests"] == {"blake3": B3["era5"], "md5": "0" * 32}
    assert {e["kind"] for e in detail["events"]} == {"download", "reuse"}
    assert all("s3cr3t" not in str(e["detail"]) for e in detail["events"])


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("999999", 404),
        ("0", 400),
        ("abc", 400),
        ("-3", 400),
        ("9" * 25, 400),
        ("1.5", 400),
        ("%2e%2e", 400),
    ],
)
async def test_unknown_or_malformed_dataset_ids(ddas_api, registry, raw, code):
    got, reply = await ddas_api(f"datasets/{raw}")
    assert got == code and reply["message"]


async def test_lookup_of_a_registered_url_is_a_hit_without_a_download(ddas_api, registry):
    seed(registry)
    code, hit = await ddas_api("lookup", params={"url": ERA5_URL + "?token=abc", "probe": "0"})
    assert code == 200 and hit["status"] == "hit" and hit["url"] == ERA5_URL
    assert hit["probed"] is False and hit["lease"] is None
    assert {c["owner"] for c in hit["copies"]} == {"alice", "bob"}  # bob's copy: same content
    code, miss = await ddas_api(
        "lookup", params={"url": "https://nowhere.example/x.nc", "probe": "false"}
    )
    assert code == 200 and miss["status"] == "miss" and miss["copies"] == []


async def test_lookup_probes_the_remote_and_sees_a_new_version(
    ddas_api, registry, http_server: CountingServer
):
    from ddas.transfer import probe

    url = http_server.add("obs/v.csv", b"version 1" * 100)
    registry.record_download(
        url=url,
        validators=probe(url).validators,
        blake3="d4" * 32,
        size=900,
        location="/store/d4/v.csv",
        owner="bob",
    )
    http_server.reset()
    code, hit = await ddas_api("lookup", params={"url": url})
    assert (code, hit["status"], hit["probed"]) == (200, "hit", True)
    assert http_server.count("HEAD") == 1 and http_server.body_bytes() == 0

    http_server.add("obs/v.csv", b"version 2" * 100)
    code, changed = await ddas_api("lookup", params={"url": url})
    assert (code, changed["status"]) == (200, "new_version") and changed["copies"] == []


async def test_lookup_with_an_unreachable_remote_answers_from_the_registry(ddas_api, registry):
    dead = "http://127.0.0.1:9/gone.nc"  # discard port: connection refused
    registry.record_download(
        url=dead,
        validators=Validators(size=5),
        blake3="e5" * 32,
        size=5,
        location="/store/e5/gone.nc",
        owner="carol",
    )
    code, reply = await ddas_api("lookup", params={"url": dead})
    assert code == 200 and reply["status"] == "hit" and reply["probed"] is False
    assert "cannot reach" in reply["probe_error"]


async def test_lookup_shows_a_download_in_progress(ddas_api, registry):
    url = "https://data.example.org/big/stream.zarr.zip"
    registry.acquire_lease(lease_key(url), "h:1:x", user="bob", total_bytes=10**9)
    code, reply = await ddas_api("lookup", params={"url": url, "probe": "no"})
    assert code == 200 and reply["status"] == "in_progress"
    assert reply["lease"] == {"user": "bob", "progress_bytes": 0, "total_bytes": 10**9}


async def test_the_server_probes_only_the_schemes_it_is_configured_for(ddas_api, registry):
    code, reply = await ddas_api("lookup", params={"url": "s3://bucket/key.nc"})
    assert code == 200 and reply["status"] == "miss" and reply["probed"] is False
    assert "probe_error" not in reply


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({}, "url is required"),
        ({"url": ""}, "url is required"),
        ({"url": "http://"}, "malformed URL"),
        ({"url": "http://h:notaport/x"}, "malformed URL"),
        ({"url": "relative/path.nc"}, "absolute path"),
        ({"url": "ftp:/x"}, "absolute path"),
        ({"url": "https://h/" + "a" * 9000}, "longer than"),
        ({"url": "https://h/x", "probe": "maybe"}, "probe"),
    ],
)
async def test_malformed_lookups_are_400_and_never_echo_the_url(
    ddas_api, registry, params, fragment
):
    code, reply = await ddas_api("lookup", params=params)
    assert code == 400 and fragment in reply["message"]
    assert "notaport" not in reply["message"] or "port" in fragment


async def test_duplicates_are_sorted_by_waste_with_their_copies(ddas_api, registry):
    seed(registry)
    registry.register_file(
        "/scratch/tas_day.tar.gz", size=1000, blake3=B3["cmip"], owner="carol", host="h1"
    )
    code, dup = await ddas_api("duplicates")
    assert code == 200 and dup["total"] == 2 and dup["wasted_bytes"] == 4000 + 1000
    assert [d["name"] for d in dup["items"]] == ["era5_2020.nc", "tas_day.tar.gz"]
    first = dup["items"][0]
    assert (
        first["wasted_bytes"] == 4000 and first["copy_count"] == 2 and len(first["copy_list"]) == 2
    )
    assert first["owners"] == ["alice", "bob"] and first["urls"] == [ERA5_URL]
    code, page = await ddas_api("duplicates", params={"offset": "1", "limit": "1"})
    assert [d["name"] for d in page["items"]] == ["tas_day.tar.gz"] and page["total"] == 2
    code, reply = await ddas_api("duplicates", params={"limit": "100000"})
    assert code == 400 and "limit" in reply["message"]


async def test_duplicates_page_on_with_the_cursor_each_page_gives(ddas_api, registry):
    seed(registry)
    registry.register_file(
        "/scratch/tas_day.tar.gz", size=1000, blake3=B3["cmip"], owner="carol", host="h1"
    )
    code, first = await ddas_api("duplicates", params={"limit": "1"})
    assert code == 200 and [d["name"] for d in first["items"]] == ["era5_2020.nc"]
    code, second = await ddas_api(
        "duplicates", params={"limit": "1", "cursor": first["next_cursor"]}
    )
    assert code == 200 and [d["name"] for d in second["items"]] == ["tas_day.tar.gz"]
    assert second["total"] == 2 and second["wasted_bytes"] == 5000
    code, end = await ddas_api("duplicates", params={"limit": "1", "cursor": second["next_cursor"]})
    assert (code, end["items"], end["next_cursor"]) == (200, [], None)
    code, whole = await ddas_api("duplicates")
    assert len(whole["items"]) == 2 and whole["next_cursor"] is None, "a short page is the last"

    for bad in ("not-a-cursor", "x" * 65, ""):
        code, reply = await ddas_api("duplicates", params={"cursor": bad})
        assert code == 400 and "cursor" in reply["message"]


async def _get(jp_fetch, path: str, user: str = "alice", etag: str | None = None, **params):
    headers = {**as_user(user), **({"If-None-Match": etag} if etag else {})}
    response = await jp_fetch(
        "ddas", "api", path, params=params, headers=headers, raise_error=False
    )
    body = json.loads(response.body) if response.body else None
    return response.code, response.headers.get("ETag"), body


async def test_an_unchanged_report_is_304_and_any_change_is_seen_at_once(jp_fetch, registry):
    """The sidebar's polls cost one primary-key read while nothing changes; a write from another
    process (here: this test's own Registry) is in the very next answer."""
    ids = seed(registry)
    for path, params in (("stats", {}), ("duplicates", {"limit": "5"}), ("events", {"since": "0"})):
        code, tag, body = await _get(jp_fetch, path, **params)
        assert code == 200 and tag and body
        code, same_tag, empty = await _get(jp_fetch, path, etag=tag, **params)
        assert (code, same_tag, empty) == (304, tag, None)
        code, other_tag, _ = await _get(jp_fetch, path, user="bob", etag=tag, **params)
        assert code == 200 and other_tag != tag, "another user's answer has its own ETag"

    tags = {p: (await _get(jp_fetch, p, **q))[1] for p, q in (("stats", {}), ("duplicates", {}))}
    registry.record_event("alert", user="dave", content_id=ids["obs"].content_id)
    for path, tag in tags.items():  # every fetch writes an event: the reports stay cached
        assert (await _get(jp_fetch, path, etag=tag))[0] == 304, path
    code, tag, events = await _get(jp_fetch, "events", since="0")
    assert code == 200 and events["items"][-1]["kind"] == "alert", "the feed did move on"

    code, tag, before = await _get(jp_fetch, "stats")
    registry.record_event("reuse", user="dave", content_id=ids["era5"].content_id, nbytes=4000)
    code, new_tag, after = await _get(jp_fetch, "stats", etag=tag)
    assert code == 200 and new_tag != tag and after["reuses"] == before["reuses"] + 1
    code, tag, events = await _get(jp_fetch, "events", since="0")
    assert events["items"][-1]["user"] == "dave"

    registry.forget_copy(ids["bob_era5"].id, user="bob")  # era5 is no longer a duplicate
    code, _tag, dup = await _get(jp_fetch, "duplicates", etag=tag)
    assert code == 200 and dup["total"] == 0


async def test_stats_count_savings_by_user_type_and_day(ddas_api, registry):
    seed(registry)
    code, stats = await ddas_api("stats")
    assert code == 200 and stats["contents"] == 3 and stats["copy_count"] == 4
    assert stats["bytes_saved"] == 4000 and stats["reuses"] == 1
    assert stats["wasted_bytes"] == 4000 and stats["downloads"] == 2
    carol = next(u for u in stats["by_user"] if u["user"] == "carol")
    assert carol["reuses"] == 1 and carol["bytes_saved"] == 4000
    assert {t["ext"] for t in stats["by_type"]} == {".nc", ".tar.gz", ".csv"}
    assert sum(d["bytes_saved"] for d in stats["over_time"]) == 4000


async def test_events_since_an_id_and_for_the_acting_user(ddas_api, registry):
    seed(registry)
    code, everything = await ddas_api("events")
    assert code == 200 and len(everything["items"]) == 3
    assert everything["last_id"] == everything["items"][-1]["id"]
    code, newer = await ddas_api("events", params={"since": str(everything["items"][0]["id"])})
    assert [e["id"] for e in newer["items"]] == [e["id"] for e in everything["items"][1:]]
    code, mine = await ddas_api("events", params={"user": "me"}, user="carol")
    assert [e["kind"] for e in mine["items"]] == ["reuse"] and mine["items"][0]["user"] == "carol"
    code, none = await ddas_api("events", params={"since": str(everything["last_id"])})
    newest = everything["last_id"]
    assert none == {"items": [], "last_id": newest, "newest_id": newest}


async def test_events_of_some_kinds_and_the_newest_id_of_anyone(ddas_api, registry):
    seed(registry)
    code, everything = await ddas_api("events")
    kinds = [e["kind"] for e in everything["items"]]
    code, downloads = await ddas_api("events", params={"kind": "download, forget"})
    assert (
        code == 200
        and [e["kind"] for e in downloads["items"]] == [k for k in kinds if k == "download"]
        and "reuse" in kinds
    )
    # The sidebar's "anything new from anyone?": one row at most, and where everything ends.
    code, probe = await ddas_api("events", params={"kind": "download", "limit": "1"})
    assert [e["id"] for e in probe["items"]] == [probe["last_id"]] == [downloads["items"][0]["id"]]
    assert probe["newest_id"] == everything["items"][-1]["id"] > probe["last_id"]
    code, later = await ddas_api(
        "events", params={"since": str(probe["newest_id"]), "kind": "download"}
    )
    assert later["items"] == [] and later["newest_id"] == probe["newest_id"]


@pytest.mark.parametrize(
    "params",
    [
        {"since": "-1"},
        {"since": "x"},
        {"limit": "0"},
        {"limit": "1001"},
        {"user": "u" * 300},
        {"kind": "download,nope"},
        {"kind": ""},
        {"kind": "download,,scan"},
    ],
)
async def test_bad_event_queries_are_400(ddas_api, registry, params):
    code, reply = await ddas_api("events", params=params)
    assert code == 400 and reply["message"]


async def test_whoami_is_the_identity_providers_user(ddas_api, registry):
    assert await ddas_api("whoami") == (200, {"user": "alice", "admin": True})
    assert await ddas_api("whoami", user="bob") == (200, {"user": "bob", "admin": False})
