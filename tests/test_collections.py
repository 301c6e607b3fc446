"""Datasets made of many files: ``ddas.fetch_tree`` on HTTP listings, globs and S3 prefixes.

Real files (NetCDF written by xarray, Parquet by pyarrow, CSV) are served by the counting HTTP server
(which answers a folder with an nginx-style listing) and by moto's S3; each story checks what moved
over the wire with the server's byte counter.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import ddas
from ddas.cli import main
from ddas.errors import RemoteError
from ddas.registry import Registry
from ddas.trees import fetch_tree_result
from tests.fixtures.http_server import CountingServer


def netcdf_bytes(tmp_path: Path, name: str, start: str, offset: float = 0.0) -> bytes:
    """A small CF NetCDF-4 file written by xarray: t2m on a 0.25° grid, daily for 4 days."""
    import xarray as xr

    time = pd.date_range(start, periods=4, freq="D")
    lat, lon = np.arange(50.0, 51.0, 0.25), np.arange(10.0, 11.0, 0.25)
    data = np.arange(4 * 4 * 4, dtype="float32").reshape(4, 4, 4) + 273.15 + offset
    ds = xr.Dataset(
        {"t2m": (("time", "lat", "lon"), data, {"units": "K", "long_name": "2 metre temperature"})},
        coords={"time": time, "lat": lat, "lon": lon},
        attrs={"title": "ERA5 test slice", "source": "reanalysis"},
    )
    path = tmp_path / name
    ds.to_netcdf(path, engine="h5netcdf")
    return path.read_bytes()


@pytest.fixture
def multi(tmp_path: Path, http_server: CountingServer) -> dict[str, bytes]:
    """``/multi/`` holds two NetCDF days and a CSV in a sub-folder."""
    files = {
        "a.nc": netcdf_bytes(tmp_path, "a.nc", "2020-01-01"),
        "b.nc": netcdf_bytes(tmp_path, "b.nc", "2020-01-05"),
        "sub/stations.csv": b"station;lat;lon\nA;50.1;10.2\nB;50.3;10.4\n",
    }
    for rel, data in files.items():
        http_server.add(f"multi/{rel}", data)
    return files


def member_bytes(server: CountingServer, files: dict[str, bytes]) -> int:
    """Body bytes served for the members themselves (listing pages are not dataset bytes)."""
    return sum(server.body_bytes(f"multi/{rel}") for rel in files)


def test_fetch_tree_of_a_listing_is_a_folder_of_shared_copies_and_one_collection(
    ddas_env: dict[str, str], http_server: CountingServer, multi: dict[str, bytes]
) -> None:
    import xarray as xr

    folder = ddas.fetch_tree(http_server.url("multi/"), progress=False)

    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) == sorted(
        multi
    )
    registry = Registry()
    for rel, data in multi.items():
        assert (folder / rel).read_bytes() == data
        [copy] = registry.copies_for_url(http_server.url(f"multi/{rel}"))
        assert os.path.samefile(folder / rel, copy.location), "a link to the shared copy"
    page = registry.collections()
    assert page.total == 1
    [summary] = page.items
    assert summary.members == 3 and summary.size == sum(map(len, multi.values()))
    assert summary.owners == ["alice"] and summary.url == http_server.url("multi/")
    detail = registry.collection(summary.id)
    assert detail is not None and [m.path for m in detail.member_list] == sorted(multi)
    with xr.open_mfdataset(sorted(folder.glob("*.nc"))) as ds:  # the default engine, netCDF4
        assert ds.sizes["time"] == 8 and str(ds.time.values[-1])[:10] == "2020-01-08"


def test_a_second_user_reuses_the_whole_collection_moving_no_member_bytes(
    ddas_env: dict[str, str],
    http_server: CountingServer,
    multi: dict[str, bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = http_server.url("multi/")
    first = fetch_tree_result(url, progress=False)
    assert (first.downloaded, first.reused) == (3, 0)
    http_server.reset()
    monkeypatch.setenv("DDAS_USER", "bob")

    second = fetch_tree_result(url, progress=False)

    assert member_bytes(http_server, multi) == 0
    assert http_server.count("GET", "multi/a.nc") == 0
    assert (second.downloaded, second.reused) == (0, 3)
    assert second.collection.id == first.collection.id and second.path == first.path
    assert Registry().collections().total == 1


def test_a_partly_present_collection_downloads_only_the_missing_members_and_says_so(
    ddas_env: dict[str, str],
    http_server: CountingServer,
    multi: dict[str, bytes],
    capsys: pytest.CaptureFixture[str],
) -> None:
    ddas.fetch(http_server.url("multi/a.nc"), progress=False)
    http_server.reset()
    capsys.readouterr()

    result = fetch_tree_result(http_server.url("multi/"), progress=False)

    assert (result.reused, result.downloaded) == (1, 2)
    assert http_server.body_bytes("multi/a.nc") == 0
    assert http_server.body_bytes("multi/b.nc") == len(multi["b.nc"])
    assert result.downloaded_bytes == len(multi["b.nc"]) + len(multi["sub/stations.csv"])
    told = capsys.readouterr().err
    assert "1 of 3 files already present" in told and "only the 2 missing" in told


def test_a_changed_member_makes_a_new_version_and_keeps_the_old_one(
    ddas_env: dict[str, str],
    http_server: CountingServer,
    multi: dict[str, bytes],
    tmp_path: Path,
) -> None:
    url = http_server.url("multi/")
    old = fetch_tree_result(url, progress=False)
    changed = netcdf_bytes(tmp_path, "b2.nc", "2020-01-05", offset=1.0)
    http_server.add("multi/b.nc", changed)
    http_server.reset()

    new = fetch_tree_result(url, progress=False)

    assert new.new_version and new.collection.digest != old.collection.digest
    assert (new.reused, new.downloaded) == (2, 1)
    assert member_bytes(http_server, multi) == len(changed)
    assert (new.path / "b.nc").read_bytes() == changed
    assert (old.path / "b.nc").read_bytes() == multi["b.nc"], "the old version's tree is intact"
    registry = Registry()
    assert [c.id for c in registry.collections_of_url(url)] == [
        new.collection.id,
        old.collection.id,
    ]
    listed = registry.collections()
    assert listed.total == 1 and listed.items[0].id == new.collection.id
    assert listed.items[0].versions == 2


class CountingBar:
    """A tqdm-like object (``progress=`` accepts one): what it was told, and how often closed."""

    def __init__(self) -> None:
        self.lock, self.updates, self.closed = threading.Lock(), [], 0

    def update(self, n: int) -> None:
        with self.lock:
            self.updates.append(n)

    def close(self) -> None:
        self.closed += 1


def test_members_download_in_parallel_into_one_progress_bar(
    ddas_env: dict[str, str], http_server: CountingServer
) -> None:
    both = threading.Barrier(2)  # each GET waits for the other: one at a time never completes
    parts = {"a.bin": os.urandom(300_000), "b.bin": os.urandom(200_000)}
    for name, data in parts.items():
        http_server.add(f"par/{name}", data, barrier=both)
    bar = CountingBar()

    result = fetch_tree_result(http_server.url("par/"), progress=bar)

    assert result.downloaded == 2 and not both.broken
    assert sum(bar.updates) == sum(map(len, parts.values())) and bar.closed == 1


def test_a_glob_fetches_only_the_matching_files_into_dest(
    ddas_env: dict[str, str], http_server: CountingServer, multi: dict[str, bytes], tmp_path: Path
) -> None:
    dest = tmp_path / "mine"
    folder = ddas.fetch_tree(http_server.url("multi/*.nc"), dest, progress=False)

    assert folder == dest
    assert sorted(p.name for p in dest.iterdir()) == ["a.nc", "b.nc"]
    assert http_server.count("GET", "multi/sub/stations.csv") == 0
    [summary] = Registry().collections().items
    assert summary.members == 2 and summary.url.endswith("/multi/*.nc")


def test_a_single_file_url_is_not_a_tree(ddas_env: dict[str, str], http_server: CountingServer):
    url = http_server.add("one/file.csv", b"a,b\n1,2\n")
    with pytest.raises(RemoteError, match=r"use ddas\.fetch for one file"):
        ddas.fetch_tree(url, progress=False)
    assert Registry().collections().total == 0


def test_a_member_that_cannot_be_fetched_names_itself_and_keeps_the_others(
    ddas_env: dict[str, str], http_server: CountingServer
) -> None:
    page = b'<html><body><a href="gone.nc">gone.nc</a> <a href="ok.csv">ok.csv</a></body></html>'
    http_server.add("broken/", page, content_type="text/html")
    ok = http_server.add("broken/ok.csv", b"a,b\n1,2\n")

    with pytest.raises(RemoteError) as err:
        ddas.fetch_tree(http_server.url("broken/"), progress=False)

    message = str(err.value)
    assert "1 of 2 files" in message and "gone.nc" in message and "404" in message
    assert "again downloads only what is still missing" in message
    registry = Registry()
    assert len(registry.copies_for_url(ok)) == 1 and registry.collections().total == 0


def test_fsspec_open_files_globs_through_the_ddas_protocol(
    ddas_env: dict[str, str], http_server: CountingServer, multi: dict[str, bytes]
) -> None:
    import fsspec

    files = fsspec.open_files(f"ddas::{http_server.url('multi/*.nc')}")

    assert len(files) == 2
    for of in files:
        with of as f:
            assert f.read() == multi[of.path.rsplit("/", 1)[-1]]
    assert len(Registry().copies_for_url(http_server.url("multi/a.nc"))) == 1


def test_a_partitioned_parquet_prefix_on_s3_reads_back_with_pandas(
    ddas_env: dict[str, str], s3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = pd.DataFrame(
        {"year": [2020, 2020, 2021, 2021], "station": list("ABAB"), "t": [1.0, 2.0, 3.0, 4.0]}
    )
    local = tmp_path / "parts"
    frame.to_parquet(local, partition_cols=["year"], engine="pyarrow")
    s3.put(str(local), f"{s3.bucket}/parts", recursive=True)
    url = f"s3://{s3.bucket}/parts/"

    first = fetch_tree_result(url, progress=False)
    monkeypatch.setenv("DDAS_USER", "bob")
    second = fetch_tree_result(url, progress=False)

    back = pd.read_parquet(second.path).sort_values("t").reset_index(drop=True)
    assert back["t"].tolist() == frame["t"].tolist()
    assert sorted(back["year"].astype(int).unique()) == [2020, 2021]
    assert first.downloaded == 2 and (second.reused, second.downloaded) == (2, 0)
    assert second.collection.id == first.collection.id


def test_cli_fetch_tree_prints_the_folder_or_json(
    ddas_env: dict[str, str], http_server: CountingServer, multi: dict[str, bytes]
) -> None:
    runner = CliRunner()
    url = http_server.url("multi/")
    plain = runner.invoke(main, ["fetch", "--tree", url, "--no-progress"])
    assert plain.exit_code == 0, plain.output
    folder = Path(plain.stdout.strip().splitlines()[-1])
    assert (folder / "a.nc").read_bytes() == multi["a.nc"]

    again = runner.invoke(main, ["fetch", "--tree", url, "--json"])
    info = json.loads(again.stdout)
    assert info["reused"] == 3 and info["downloaded"] == 0 and info["path"] == str(folder)
    assert info["collection"]["members"] == 3

    missing = runner.invoke(main, ["fetch", "--tree", http_server.url("nothing/")])
    assert missing.exit_code == 3 and "ddas: error:" in missing.stderr
