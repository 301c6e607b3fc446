"""The Registry API as its callers use it, on SQLite and PostgreSQL (the ``registry`` fixture).

Each test is a small user story: what gets recorded, how it is found again (by URL, by digest, by
text), what a scan adds, how duplicates and savings are counted, and who gets the credit.
"""

from __future__ import annotations

import getpass
import hashlib

import pytest

from ddas import config
from ddas.identity import Validators
from ddas.registry import Registry
from tests.registry_stories import GB, V1, b3, download, md5, rows

# -- recording a download ------------------------------------------------------------------------


def test_a_download_is_recorded_as_content_digests_source_copy_and_event(registry) -> None:
    copy = download(registry)

    assert rows(registry) == {
        "contents": 1,
        "digests": 2,
        "sources": 1,
        "copies": 1,
        "events": 1,
        "leases": 0,
        # registering a download writes nothing else (metadata comes later, off its path)
        **dict.fromkeys(
            (
                "collections",
                "collection_members",
                "content_metadata",
                "metadata_words",
                "annotations",
                "annotation_words",
                "scan_runs",
            ),
            0,
        ),
    }
    assert (copy.owner, copy.state, copy.in_store, copy.size) == ("alice", "present", True, GB)
    assert copy.blake3 == b3("era5-2020") and copy.location == "/shared/store/era5-2020.nc"
    assert copy.host == config.hostname()
    [event] = registry.events()
    assert (event.kind, event.user, event.bytes, event.copy_id) == (
        "download",
        "alice",
        GB,
        copy.id,
    )
    assert event.detail == {"url": "https://data.example.org/era5/2020.nc"}
    assert event.name == "2020.nc"


def test_second_registration_of_the_same_download_creates_no_new_rows(registry) -> None:
    first = download(registry)
    before = rows(registry)

    again = download(registry, "HTTPS://DATA.example.org:443/era5/./2020.nc#x")

    assert again.id == first.id and again.content_id == first.content_id
    assert rows(registry) == {**before, "events": before["events"] + 1}, "only the event is new"


def test_a_failed_registration_leaves_no_row_behind(registry) -> None:
    with pytest.raises(ValueError, match="unknown event kind"):
        download(registry, kind="teleport")
    assert set(rows(registry).values()) == {0}, "content, source and copy rolled back together"


# -- lookup by URL -------------------------------------------------------------------------------


def test_any_spelling_of_the_url_finds_the_copy_and_secrets_do_not_matter(registry) -> None:
    copy = download(registry)
    for spelling in [
        "https://data.example.org/era5/2020.nc",
        "https://DATA.EXAMPLE.ORG/era5/../era5/2020.nc?X-Amz-Signature=abc&token=t",
        "https://user:pw@data.example.org:443/era5/2020.nc#fragment",
    ]:
        assert registry.copies_for_url(spelling) == [copy], spelling
    assert registry.copies_for_url("https://data.example.org/era5/2021.nc") == []


def test_validators_select_the_version_of_the_url(registry) -> None:
    old = download(registry, label="v1")
    v2 = Validators(etag='"v2"', size=GB + 1)
    new = download(registry, label="v2", validators=v2, size=GB + 1)
    url = "https://data.example.org/era5/2020.nc"

    assert registry.copies_for_url(url, V1) == [old]
    assert registry.copies_for_url(url, v2) == [new]
    assert registry.copies_for_url(url, Validators(etag='"v3"')) == []
    assert {c.id for c in registry.copies_for_url(url)} == {old.id, new.id}
    assert [s.etag for s in registry.sources_for_url(url)] == ['"v2"', '"v1"'], "latest first"


def test_copies_in_the_store_come_before_copies_elsewhere(registry) -> None:
    scratch = download(registry, location="/home/bob/era5.nc", in_store=False, owner="bob")
    stored = download(registry)
    assert registry.copies_for_url("https://data.example.org/era5/2020.nc") == [stored, scratch]


def test_a_mirror_url_finds_the_same_copy(registry) -> None:
    copy = download(registry)
    registry.add_source(copy.content_id, "https://mirror.example.net/ERA5-2020.nc", V1)
    assert registry.copies_for_url("https://mirror.example.net/ERA5-2020.nc") == [copy]


# -- lookup by digest ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "digest",
    [
        b3("era5-2020"),
        "blake3:" + b3("era5-2020"),
        b3("era5-2020").upper(),
        "md5:" + md5("era5-2020"),
        "MD5:" + md5("era5-2020").upper(),
        "sha256:" + hashlib.sha256(b"era5-2020").hexdigest(),
        "  sha256:" + hashlib.sha256(b"era5-2020").hexdigest() + " ",
    ],
)
def test_a_digest_or_an_alias_finds_the_copy(registry, digest: str) -> None:
    copy = download(registry)
    assert registry.copies_for_digest(digest) == [copy]
    assert registry.content_id_for_digest(digest) == copy.content_id


def test_an_unknown_digest_finds_nothing(registry) -> None:
    download(registry)
    assert registry.copies_for_digest(b3("something else")) == []
    assert registry.copies_for_digest("md5:" + b3("era5-2020")[:32]) == []
    assert registry.copies_for_digest("sha1:" + md5("era5-2020")) == []


# -- search --------------------------------------------------------------------------------------


@pytest.fixture
def catalogue(registry) -> Registry:
    """Three datasets: two owned by alice, one by bob; era5 has a second copy (bob's)."""
    download(registry, label="era5", size=300)
    download(registry, label="era5", size=300, location="/home/bob/era5.nc", owner="bob")
    download(registry, "https://data.example.org/cmip6/tas_day.nc", label="cmip6", size=100)
    download(
        registry,
        "https://files.example.com/Genome_100%.fa.gz",
        label="genome",
        size=200,
        owner="bob",
    )
    return registry


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("", {"2020.nc", "tas_day.nc", "Genome_100%.fa.gz"}),
        ("TAS_", {"tas_day.nc"}),
        ("cmip6", {"tas_day.nc"}),  # URL substring
        ("files.example", {"Genome_100%.fa.gz"}),
        (b3("era5")[:12], {"2020.nc"}),  # BLAKE3 prefix
        (md5("genome"), {"Genome_100%.fa.gz"}),  # an alias digest, exactly
        ("100%", {"Genome_100%.fa.gz"}),
        ("%", {"Genome_100%.fa.gz"}),  # LIKE wildcards are literal
        ("_day", {"tas_day.nc"}),
        ("nothing-like-this", set()),
    ],
)
def test_search_finds_datasets_by_name_url_or_digest(catalogue, q: str, expected: set) -> None:
    page = catalogue.search(q)
    assert {item.name for item in page.items} == expected
    assert page.total == len(expected)


def test_search_by_owner_and_summaries_show_copies_owners_and_urls(catalogue) -> None:
    page = catalogue.search(owner="bob", sort="name")
    assert [i.name for i in page.items] == ["2020.nc", "Genome_100%.fa.gz"]
    era5 = page.items[0]
    assert (era5.copy_count, era5.owners, era5.size) == (2, ["alice", "bob"], 300)
    assert era5.urls == ["https://data.example.org/era5/2020.nc"]
    assert catalogue.search(owner="carol").total == 0


@pytest.mark.parametrize(
    ("sort", "names"),
    [
        ("name", ["2020.nc", "Genome_100%.fa.gz", "tas_day.nc"]),
        ("-name", ["tas_day.nc", "Genome_100%.fa.gz", "2020.nc"]),
        ("size", ["tas_day.nc", "Genome_100%.fa.gz", "2020.nc"]),
        ("-size", ["2020.nc", "Genome_100%.fa.gz", "tas_day.nc"]),
        ("-copies", ["2020.nc", "Genome_100%.fa.gz", "tas_day.nc"]),  # ties: newest id first
        ("id", ["2020.nc", "tas_day.nc", "Genome_100%.fa.gz"]),
        ("created", ["2020.nc", "tas_day.nc", "Genome_100%.fa.gz"]),
        ("-last_used", ["Genome_100%.fa.gz", "tas_day.nc", "2020.nc"]),
    ],
)
def test_search_sorts(catalogue, sort: str, names: list[str]) -> None:
    assert [i.name for i in catalogue.search(sort=sort).items] == names


def test_search_pages_through_results(catalogue) -> None:
    pages = [catalogue.search(sort="size", offset=o, limit=2) for o in (0, 2, 4)]
    assert [[i.name for i in p.items] for p in pages] == [
        ["tas_day.nc", "Genome_100%.fa.gz"],
        ["2020.nc"],
        [],
    ]
    assert {(p.total, p.limit) for p in pages} == {(3, 2)}
    assert [p.offset for p in pages] == [0, 2, 4]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"sort": "owner"},
        {"sort": "name; DROP TABLE contents"},
        {"sort": "--name"},
        {"limit": 0},
        {"limit": 501},
        {"offset": -1},
    ],
)
def test_search_rejects_bad_sorts_and_limits(catalogue, kwargs: dict) -> None:
    with pytest.raises(ValueError):
        catalogue.search(**kwargs)
    assert catalogue.search().total == 3, "and the registry is untouched"


# -- scans, states, forgetting -------------------------------------------------------------------


def test_a_scanned_file_with_a_known_content_becomes_a_duplicate(registry) -> None:
    stored = download(registry, label="era5", size=500)
    found = registry.register_file(
        "/home/bob/old/era5_copy.nc",
        size=500,
        blake3=b3("era5"),
        owner="bob",
        device=7,
        inode=42,
        mtime_ns=123,
    )
    assert (found.content_id, found.state, found.in_store) == (stored.content_id, "present", False)
    [group] = registry.duplicates().items
    assert group.wasted_bytes == 500
    assert set(group.paths) == {stored.location, found.location}
    assert rows(registry)["events"] == 1, "a scan registers files without per-file events"


def test_finding_a_file_on_disk_is_not_a_use_but_a_reuse_is(registry) -> None:
    found = registry.register_file(
        "/data/obs/stations.csv", size=10, blake3=b3("obs"), owner="carol"
    )
    assert registry.dataset(found.content_id).last_used is None
    stored = download(registry, label="era5", size=500)
    used = registry.dataset(stored.content_id).last_used
    assert used is not None
    registry.register_file("/home/bob/era5.nc", size=500, blake3=b3("era5"), owner="bob")
    assert registry.dataset(stored.content_id).last_used == used, "a scan must not bump it"
    registry.record_event("reuse", user="bob", content_id=stored.content_id, nbytes=500)
    assert registry.dataset(stored.content_id).last_used > used


def test_an_unhashed_scanned_file_is_registered_then_completed_in_place(registry) -> None:
    pending = registry.register_file("/data/big.h5", size=10, blake3=None, owner="bob")
    assert (pending.state, pending.content_id, pending.verified_at) == ("unhashed", None, None)
    assert rows(registry)["contents"] == 0
    assert registry.duplicates().total == 0

    hashed = registry.register_file("/data/big.h5", size=10, blake3=b3("big"), owner="bob")
    assert hashed.id == pending.id and hashed.state == "present"
    assert registry.dataset(hashed.content_id).name == "big.h5"


@pytest.mark.parametrize("state", ["missing", "corrupt"])
def test_a_copy_marked_missing_or_corrupt_is_no_longer_offered(registry, state: str) -> None:
    copy = download(registry)
    registry.mark_copy(copy.id, state)
    assert registry.copies_for_url("https://data.example.org/era5/2020.nc") == []
    assert registry.copies_for_digest(b3("era5-2020")) == []
    assert registry.copy(copy.id).state == state
    detail = registry.dataset(copy.content_id)
    assert (detail.copy_count, [c.state for c in detail.copy_list]) == (0, [state])

    registry.mark_verified(copy.id, size=GB, mtime_ns=99)
    assert registry.copies_for_url("https://data.example.org/era5/2020.nc")[0].mtime_ns == 99


def test_marking_rejects_unknown_states_and_copies(registry) -> None:
    copy = download(registry)
    with pytest.raises(ValueError, match="state"):
        registry.mark_copy(copy.id, "lost")
    with pytest.raises(KeyError):
        registry.mark_copy(copy.id + 1000, "missing")
    assert registry.copy(copy.id).state == "present"


def test_forgetting_a_copy_removes_its_row_but_keeps_the_history(registry) -> None:
    copy = download(registry)
    registry.forget_copy(copy.id, user="admin")
    assert registry.copy(copy.id) is None
    assert registry.copies_for_url("https://data.example.org/era5/2020.nc") == []
    assert [e.kind for e in registry.events()] == ["download", "forget"]
    with pytest.raises(KeyError):
        registry.forget_copy(copy.id)


# -- who gets the credit -------------------------------------------------------------------------


@pytest.fixture
def no_user_vars(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for var in ("DDAS_USER", "JUPYTERHUB_USER"):
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


def test_ddas_user_wins_over_the_hub_user_and_the_os_user(no_user_vars) -> None:
    no_user_vars.setenv("JUPYTERHUB_USER", "hub-alice")
    no_user_vars.setenv("DDAS_USER", "service-account")
    assert config.current_user() == "service-account"


def test_the_hub_user_wins_over_the_os_user(no_user_vars) -> None:
    no_user_vars.setenv("JUPYTERHUB_USER", "hub-alice")
    no_user_vars.setenv("DDAS_USER", "   ")
    assert config.current_user() == "hub-alice"


def test_without_settings_the_os_user_gets_the_credit(no_user_vars) -> None:
    no_user_vars.setenv("LOGNAME", "os-alice")
    assert config.current_user() == getpass.getuser() == "os-alice"


def test_rows_are_attributed_to_the_current_user(registry, no_user_vars) -> None:
    no_user_vars.setenv("JUPYTERHUB_USER", "hub-alice")
    copy = download(registry)
    registry.record_event("reuse", content_id=copy.content_id, nbytes=1)
    lease = registry.acquire_lease("k", "holder-1", ttl=60)
    assert copy.owner == "hub-alice" and lease.user == "hub-alice"
    assert {e.user for e in registry.events()} == {"hub-alice"}
    assert download(registry, owner="bob", location="/x").owner == "bob", "explicit owner wins"
