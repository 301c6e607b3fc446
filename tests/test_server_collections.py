"""Collections, metadata, annotations and "same data" groups over REST (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from traitlets.config import Config

from ddas import metadata
from ddas.api import fetch_result
from ddas.registry import Registry
from ddas.trees import fetch_tree_result
from tests.fixtures.http_server import CountingServer
from tests.test_metadata import era5


@pytest.fixture
def jp_server_config(ddas_server_config: Config) -> Config:
    return ddas_server_config


@pytest.fixture
def tree(ddas_env: dict[str, str], http_server: CountingServer, tmp_path: Path):
    http_server.add("grid/e5.nc", era5(tmp_path / "e5.nc").read_bytes())
    http_server.add("grid/e5_zip.nc", era5(tmp_path / "z.nc", compress=True).read_bytes())
    http_server.add("grid/readme.csv", b"k;v\na;1\n")
    result = fetch_tree_result(http_server.url("grid/"), progress=False, quiet=True)
    assert metadata.wait(120)
    return result


async def test_a_collection_is_one_row_with_its_members_in_the_details(ddas_api, tree) -> None:
    code, page = await ddas_api("collections")
    assert code == 200 and page["total"] == 1
    [row] = page["items"]
    assert row["members"] == 3 and row["owners"] == ["alice"] and row["versions"] == 1
    assert row["size"] == tree.collection.size

    code, detail = await ddas_api(f"collections/{row['id']}")
    assert code == 200
    assert [m["path"] for m in detail["member_list"]] == ["e5.nc", "e5_zip.nc", "readme.csv"]
    assert all(
        m["copy_count"] == 1 and "copies" not in m and m["owners"] == ["alice"]
        for m in detail["member_list"]
    )

    code, found = await ddas_api("collections", params={"q": "GRID/"})
    assert code == 200 and [c["id"] for c in found["items"]] == [row["id"]]
    assert (await ddas_api("collections", params={"q": "elsewhere"}))[1]["total"] == 0
    assert (await ddas_api("collections/999999"))[0] == 404
    assert (await ddas_api("collections/abc"))[0] == 400
    assert (await ddas_api("collections", params={"limit": "0"}))[0] == 400


async def test_metadata_is_searchable_and_shown_and_owners_annotate(ddas_api, tree) -> None:
    code, page = await ddas_api("datasets", params={"q": "temperature"})
    assert code == 200 and sorted(d["name"] for d in page["items"]) == ["e5.nc", "e5_zip.nc"]
    cid = page["items"][0]["id"]

    code, about = await ddas_api(f"datasets/{cid}/metadata")
    assert code == 200 and about["can_annotate"] is True
    assert about["metadata"]["summary"] == "t2m (K), 2020-01-01…2020-12-31, 0.25°"
    assert [c["members"] for c in about["collections"]] == [3]
    code, about = await ddas_api(f"datasets/{cid}/metadata", user="bob")
    assert about["can_annotate"] is False

    change = {"tags": ["era5"], "description": "daily means", "doi": "10.24381/cds.adbb2d47"}
    code, reply = await ddas_api(
        f"datasets/{cid}/annotations", method="PATCH", data=change, user="bob"
    )
    assert code == 403 and "alice" in reply["message"]
    code, note = await ddas_api(f"datasets/{cid}/annotations", method="PATCH", data=change)
    assert code == 200 and note["tags"] == ["era5"] and note["updated_by"] == "alice"
    code, page = await ddas_api("datasets", params={"q": "daily means"})
    assert [d["id"] for d in page["items"]] == [cid]
    code, reply = await ddas_api(
        f"datasets/{cid}/annotations", method="PATCH", data={"doi": "nope"}
    )
    assert code == 400 and "DOI" in reply["message"]
    code, reply = await ddas_api(f"datasets/{cid}/annotations", method="PATCH", data={"x": 1})
    assert code == 400 and "unknown fields" in reply["message"]


async def test_same_data_groups_are_a_separate_route_from_duplicates(ddas_api, tree) -> None:
    code, page = await ddas_api("duplicates/same-data")
    assert code == 200 and page["total"] == 1
    [group] = page["items"]
    assert group["label"] == "same data, different files"
    assert sorted(c["name"] for c in group["contents"]) == ["e5.nc", "e5_zip.nc"]
    code, dupes = await ddas_api("duplicates")
    assert code == 200 and dupes["total"] == 0


async def test_an_admin_annotates_what_others_own_and_a_non_owner_may_not(
    ddas_api, ddas_env, http_server: CountingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DDAS_USER", "bob")
    url = http_server.add("bobs/notes.csv", b"k;v\nb;2\n")
    fetched = fetch_result(url, progress=False, quiet=True)
    cid = Registry().content_id_for_digest(fetched.blake3 or "")
    path = f"datasets/{cid}/annotations"

    for user, allowed in (("alice", True), ("bob", True), ("carol", False)):  # admin, owner, other
        code, about = await ddas_api(f"datasets/{cid}/metadata", user=user)
        assert code == 200 and about["can_annotate"] is allowed, user
    code, reply = await ddas_api(path, method="PATCH", data={"tags": ["x"]}, user="carol")
    assert code == 403 and "bob" in reply["message"]
    code, note = await ddas_api(path, method="PATCH", data={"tags": ["checked"]}, user="alice")
    assert code == 200 and note["updated_by"] == "alice"
    code, note = await ddas_api(path, method="PATCH", data={"license": "CC0-1.0"}, user="bob")
    assert code == 200 and note["tags"] == ["checked"] and note["license"] == "CC0-1.0"


def test_the_openapi_schemas_are_the_collection_metadata_and_annotation_records() -> None:
    """A renamed field (``copies`` -> ``copy_count``) must be renamed in the spec too."""
    import dataclasses

    import yaml

    from ddas.records import (
        AnnotationInfo,
        CollectionDetail,
        CollectionSummary,
        MemberInfo,
        MetadataInfo,
        SameDataGroup,
    )

    spec = Path(__file__).parents[1] / "jupyter_server_ext" / "ddas_server" / "openapi.yaml"
    schemas = yaml.safe_load(spec.read_text())["components"]["schemas"]

    def fields(record: type) -> set[str]:
        return {f.name for f in dataclasses.fields(record)}

    def documented(schema: dict) -> tuple[set[str], set[str]]:
        return set(schema["properties"]), set(schema["required"])

    detail = schemas["CollectionDetail"]["allOf"][1]
    member = detail["properties"]["member_list"]["items"]
    same = schemas["SameDataPage"]["properties"]["items"]["items"]
    for schema, record in [
        (schemas["CollectionSummary"], CollectionSummary),
        (member, MemberInfo),
        (schemas["Metadata"], MetadataInfo),
        (schemas["Annotation"], AnnotationInfo),
        (same, SameDataGroup),
    ]:
        assert documented(schema) == (fields(record), fields(record)), record.__name__
    assert set(detail["properties"]) == fields(CollectionDetail) - fields(CollectionSummary)
