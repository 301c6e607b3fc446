"""People's metadata: ``ddas.annotate`` tags and describes a dataset for everyone; searchable, kept
across versions of the same URL, and only owners (or admins) may change it."""

from __future__ import annotations

import pytest

import ddas
from ddas.annotations import InvalidAnnotationError, UnknownDatasetError
from ddas.errors import NotAllowedError
from ddas.registry import Registry
from tests.fixtures.http_server import CountingServer


def test_an_owner_annotates_and_everyone_finds_it_also_in_the_next_version(
    ddas_env: dict[str, str], http_server: CountingServer
) -> None:
    url = http_server.add("obs/stations_v.csv", b"a,b\n1,2\n")
    ddas.fetch(url, progress=False)

    note = ddas.annotate(
        url,
        tags=["station-network", "quality controlled"],
        description="Hourly observations from the regional mesonet",
        license="CC-BY-4.0",
        doi="https://doi.org/10.5281/zenodo.1234567",
    )

    assert note.doi == "10.5281/zenodo.1234567" and note.updated_by == "alice"
    registry = Registry()
    [first] = registry.copies_for_url(url)
    for q in ("mesonet", "station", "quality controlled", "cc"):
        assert [d.id for d in registry.search(q).items] == [first.content_id], q

    http_server.add("obs/stations_v.csv", b"a,b\n1,2\n3,4\n")  # the remote publishes v2
    ddas.fetch(url, progress=False)
    newer = next(c for c in registry.copies_for_url(url) if c.content_id != first.content_id)
    [kept] = registry.annotations_for_content(newer.content_id)
    assert kept.tags == ["station-network", "quality controlled"] and kept.license == "CC-BY-4.0"
    assert sorted(d.id for d in registry.search("mesonet").items) == sorted(
        [first.content_id, newer.content_id]
    )

    changed = ddas.annotate(f"blake3:{newer.blake3}", tags=["v2"])
    assert changed.content_id == newer.content_id
    assert {a.tags[0] for a in registry.annotations_for_content(newer.content_id)} == {
        "station-network",
        "v2",
    }


def test_only_owners_may_annotate_and_bad_input_says_what_to_fix(
    ddas_env: dict[str, str], http_server: CountingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = http_server.add("own/data.csv", b"x\n1\n")
    ddas.fetch(url, progress=False)

    with pytest.raises(InvalidAnnotationError, match=r"10\.<registrant>"):
        ddas.annotate(url, doi="not-a-doi")
    with pytest.raises(InvalidAnnotationError, match="list of strings"):
        ddas.annotate(url, tags="one-string")  # type: ignore[arg-type]
    with pytest.raises(UnknownDatasetError, match="fetch or scan it first"):
        ddas.annotate(http_server.url("own/never-fetched.csv"), tags=["x"])
    monkeypatch.setenv("DDAS_USER", "bob")
    with pytest.raises(NotAllowedError, match="alice"):
        ddas.annotate(url, tags=["mine now"])
    assert Registry().annotation_for_url(url) is None
