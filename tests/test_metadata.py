"""Scientific metadata: what NetCDF, HDF5, Parquet, CSV and Zarr files say about themselves, extracted
after registration off the fetch's path, searchable, and grouping "same data, different files".

Files are real: written by xarray, h5py and pyarrow, served by the counting HTTP server.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ddas
from ddas import metadata
from ddas.api import fetch_result
from ddas.registry import Registry
from tests.fixtures.http_server import CountingServer

WAIT = 120.0  # seconds: generous on a loaded machine; metadata.wait returns as soon as it is done


def era5(path: Path, *, compress: bool = False, chunks: bool = False) -> Path:
    """A year of daily 2 m temperature on a 0.25° grid, as xarray writes it."""
    import xarray as xr

    time = pd.date_range("2020-01-01", "2020-12-31", freq="D")
    lat, lon = np.arange(40.0, 41.0, 0.25), np.arange(5.0, 6.0, 0.25)
    data = np.linspace(260, 300, time.size * 16, dtype="float32").reshape(time.size, 4, 4)
    ds = xr.Dataset(
        {
            "t2m": (
                ("time", "latitude", "longitude"),
                data,
                {
                    "units": "K",
                    "long_name": "2 metre temperature",
                    "standard_name": "air_temperature",
                },
            )
        },
        coords={
            "time": time,
            "latitude": ("latitude", lat, {"units": "degrees_north"}),
            "longitude": ("longitude", lon, {"units": "degrees_east"}),
        },
        attrs={"title": "ERA5 hourly reanalysis subset", "institution": "ECMWF", "source": "IFS"},
    )
    encoding = {"t2m": {}}
    if compress:
        encoding["t2m"].update(zlib=True, complevel=4)
    if chunks:
        encoding["t2m"]["chunksizes"] = (30, 2, 2)
    ds.to_netcdf(path, engine="h5netcdf", encoding=encoding)
    return path


def fetch_described(server: CountingServer, name: str, data: bytes) -> tuple[Registry, int]:
    url = server.add(name, data)
    result = fetch_result(url, progress=False, quiet=True)
    assert metadata.wait(WAIT)
    registry = Registry()
    cid = registry.content_id_for_digest(result.blake3 or "")
    assert cid is not None
    return registry, cid


def test_a_fetched_netcdf_is_described_and_found_by_variable_and_title_words(
    ddas_env: dict[str, str], http_server: CountingServer, tmp_path: Path
) -> None:
    data = era5(tmp_path / "e.nc").read_bytes()
    registry, cid = fetch_described(http_server, "era5/e5_sfc.nc", data)

    meta = registry.metadata(cid)
    assert meta is not None and meta.format == "netcdf"
    assert meta.summary == "t2m (K), 2020-01-01…2020-12-31, 0.25°"
    doc = meta.doc
    t2m = next(v for v in doc["variables"] if v["name"] == "t2m")
    assert t2m["long_name"] == "2 metre temperature" and t2m["units"] == "K"
    assert t2m["dims"] == ["time", "latitude", "longitude"] and t2m["shape"] == [366, 4, 4]
    assert doc["dims"] == {"time": 366, "latitude": 4, "longitude": 4}
    assert doc["time"] == {"start": "2020-01-01", "end": "2020-12-31"}
    assert doc["lat"]["min"] == 40.0 and doc["lon"]["max"] == 5.75
    assert doc["attrs"]["institution"] == "ECMWF"
    for q in ("t2m", "temperature", "temp", "reanalysis", "ecmwf", "air_temperature", "2 metre"):
        assert [d.id for d in registry.search(q).items] == [cid], q
    assert registry.search("precipitation").total == 0


def test_hdf5_parquet_csv_and_zarr_metadata(
    ddas_env: dict[str, str], http_server: CountingServer, tmp_path: Path
) -> None:
    import h5py
    import pyarrow as pa
    import pyarrow.parquet as pq

    h5 = tmp_path / "scan.h5"
    with h5py.File(h5, "w") as f:
        f.attrs["title"] = "beamline scan"
        dset = f.create_dataset("entry/detector/counts", data=np.zeros((10, 20), "uint16"))
        dset.attrs["units"] = "counts"
    pqf = tmp_path / "obs.parquet"
    pq.write_table(pa.table({"station": ["A", "B", "C"], "precip_mm": [0.0, 1.5, 3.0]}), pqf)
    zmeta = {
        "zarr_consolidated_format": 1,
        "metadata": {
            ".zattrs": {"title": "ocean model"},
            "sst/.zarray": {"shape": [12, 180], "dtype": "<f4", "chunks": [1, 180]},
            "sst/.zattrs": {"_ARRAY_DIMENSIONS": ["month", "x"], "units": "degC"},
        },
    }

    registry, h5_id = fetch_described(http_server, "d/scan.h5", h5.read_bytes())
    _, pq_id = fetch_described(http_server, "d/obs.parquet", pqf.read_bytes())
    _, csv_id = fetch_described(http_server, "d/obs.csv", b"day;station;t\n1;A;3.5\n2;B;4.0\n")
    _, z_id = fetch_described(http_server, "d/store.zarr/.zmetadata", json.dumps(zmeta).encode())

    h5_doc = registry.metadata(h5_id).doc
    assert h5_doc["variables"][0] == {
        "name": "entry/detector/counts",
        "shape": [10, 20],
        "dtype": "uint16",
        "units": "counts",
    }
    pq_meta = registry.metadata(pq_id)
    assert pq_meta.doc["rows"] == 3 and [c["name"] for c in pq_meta.doc["columns"]] == [
        "station",
        "precip_mm",
    ]
    assert pq_meta.summary == "2 columns (station, precip_mm), 3 rows"
    csv_doc = registry.metadata(csv_id).doc
    assert csv_doc["delimiter"] == ";" and csv_doc["header"] == ["day", "station", "t"]
    z_doc = registry.metadata(z_id).doc
    assert z_doc["variables"][0]["dims"] == ["month", "x"] and z_doc["dims"] == {
        "month": 12,
        "x": 180,
    }
    assert [d.id for d in registry.search("precip_mm").items] == [pq_id]
    assert [d.id for d in registry.search("sst").items] == [z_id]


def test_an_unreadable_file_never_fails_its_fetch(
    ddas_env: dict[str, str], http_server: CountingServer
) -> None:
    url = http_server.add("bad/broken.nc", b"\x89HDF\r\n\x1a\n" + b"not really hdf5" * 100)

    path = ddas.fetch(url, progress=False)

    assert path.read_bytes().startswith(b"\x89HDF")
    assert metadata.wait(WAIT)
    registry = Registry()
    [copy] = registry.copies_for_url(url)
    assert registry.metadata(copy.content_id) is None


def test_without_the_optional_readers_metadata_is_simply_absent(
    ddas_env: dict[str, str],
    http_server: CountingServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pqf = tmp_path / "t.parquet"
    pq.write_table(pa.table({"x": [1, 2]}), pqf)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)  # as if ddas[meta] were absent

    registry, cid = fetch_described(http_server, "nometa/t.parquet", pqf.read_bytes())

    assert registry.metadata(cid) is None
    assert registry.dataset(cid) is not None


def test_recompressed_and_rechunked_copies_are_same_data_never_exact_duplicates(
    ddas_env: dict[str, str], http_server: CountingServer, tmp_path: Path
) -> None:
    plain = era5(tmp_path / "plain.nc").read_bytes()
    packed = era5(tmp_path / "packed.nc", compress=True, chunks=True).read_bytes()
    assert plain != packed
    registry, a = fetch_described(http_server, "m1/e5.nc", plain)
    _, b = fetch_described(http_server, "m2/e5_zip.nc", packed)
    other = era5(tmp_path / "other.nc").read_bytes()  # same bytes as plain: an exact duplicate
    assert other == plain

    groups = registry.same_data().items

    assert len(groups) == 1
    [group] = groups
    assert group.label == "same data, different files"
    assert sorted(c["id"] for c in group.contents) == sorted([a, b])
    assert group.summary.startswith("t2m (K)")
    assert registry.duplicates().total == 0, "different bytes are never exact duplicates"


def test_a_scanned_and_hashed_file_is_described_too(
    ddas_env: dict[str, str], tmp_path: Path
) -> None:
    root = tmp_path / "home"
    (root / "backup").mkdir(parents=True)
    era5(root / "found.nc")
    (root / "backup" / "found.nc").write_bytes((root / "found.nc").read_bytes())

    ddas.scan(root, min_size=0)

    assert metadata.wait(WAIT)
    registry = Registry()
    [hit] = registry.search("t2m").items
    assert hit.name == "found.nc"
    assert registry.metadata(hit.id).summary.startswith("t2m (K), 2020-01-01")


def test_the_reuse_alert_card_says_what_the_data_is(
    ddas_env: dict[str, str],
    http_server: CountingServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = http_server.add("card/e5.nc", era5(tmp_path / "e.nc").read_bytes())
    fetch_result(url, progress=False, quiet=True)
    assert metadata.wait(WAIT)
    monkeypatch.setenv("DDAS_USER", "bob")

    again = fetch_result(url, progress=False, quiet=True)

    assert again.reused and again.alert is not None
    summary = "t2m (K), 2020-01-01…2020-12-31, 0.25°"
    assert again.alert.summary == summary
    assert f"<div class='ddas-alert-summary'>{summary}</div>" in again.alert._repr_html_()
    assert f"e5.nc [{summary}]" in str(again.alert)


def test_a_scanned_netcdf_of_a_unique_size_is_hashed_and_described_others_are_not_read(
    ddas_env: dict[str, str], tmp_path: Path
) -> None:
    root = tmp_path / "data"
    root.mkdir()
    lone = era5(root / "lone.nc")
    (root / "image.bin").write_bytes(b"\x00" * (lone.stat().st_size + 1))  # unique, unknown type

    report = ddas.scan(root, min_size=0)

    counts = report.counts()
    assert (counts["described_hashed"], counts["describe_left"]) == (1, 0)
    assert report.summary()["hashed_bytes"] == lone.stat().st_size, "image.bin is never read"
    assert metadata.wait(WAIT)
    registry = Registry()
    [hit] = registry.search("t2m").items
    assert hit.name == "lone.nc"
    assert registry.metadata(hit.id).summary == "t2m (K), 2020-01-01…2020-12-31, 0.25°"
    [unhashed] = registry.unhashed_copies()
    assert unhashed.location == str(root / "image.bin")


def test_describing_unique_sizes_stays_within_the_budget_and_the_next_scan_goes_on(
    ddas_env: dict[str, str], tmp_path: Path
) -> None:
    root = tmp_path / "data"
    root.mkdir()
    small = era5(root / "small.nc", compress=True)
    large = era5(root / "large.nc")
    assert small.stat().st_size < large.stat().st_size

    off = ddas.scan(root, min_size=0, describe_bytes=0)
    assert off.summary()["hashed_bytes"] == 0 and off.counts()["describe_left"] == 0
    first = ddas.scan(root, min_size=0, describe_bytes=small.stat().st_size)
    assert (first.counts()["described_hashed"], first.counts()["describe_left"]) == (1, 1)
    assert first.summary()["hashed_bytes"] == small.stat().st_size, "smallest first"
    second = ddas.scan(root, min_size=0)

    assert second.summary()["hashed_bytes"] == large.stat().st_size, "small.nc is not read again"
    assert metadata.wait(WAIT)
    registry = Registry()
    assert sorted(d.name for d in registry.search("temperature").items) == ["large.nc", "small.nc"]
    assert registry.unhashed_copies() == []
