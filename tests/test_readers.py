"""Every reader gets the registry's copy: xarray (netCDF4 and h5netcdf), open_mfdataset, pyarrow.

The files are real: written by xarray's netCDF4 engine and by pyarrow, served by our HTTP server.
Each reader's user story is the same: alice's read downloads once, bob's read of the same URL
transfers no body and is recorded as a reuse.
"""

from __future__ import annotations

from pathlib import Path

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xarray as xr
from pyarrow.fs import FSSpecHandler, PyFileSystem

import ddas
from ddas.registry import Registry
from tests.fixtures.http_server import CountingServer


def serve_years(server: CountingServer, tmp_path: Path, years: list[int]) -> list[str]:
    """One netCDF-4 file per year, written by xarray's netCDF4 engine; their ``ddas::`` URLs."""
    urls = []
    for year in years:
        days = np.arange(3) + 3 * (year - years[0])
        data = xr.Dataset({"t2m": (("time",), 270.0 + days)}, coords={"time": days})
        path = tmp_path / f"t2m_{year}.nc"
        data.to_netcdf(path, engine="netcdf4", format="NETCDF4")
        urls.append("ddas::" + server.add(f"era5/t2m_{year}.nc", path.read_bytes()))
    return urls


def reuses() -> list[str]:
    return [e.user for e in Registry().events() if e.kind == "reuse"]


def test_h5netcdf_opens_a_ddas_url_and_bob_reuses_alices_download(
    ddas_env: dict[str, str],
    http_server: CountingServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (url,) = serve_years(http_server, tmp_path, [2020])
    with xr.open_dataset(url, engine="h5netcdf") as alice:
        assert alice.t2m.values.tolist() == [270.0, 271.0, 272.0]
    monkeypatch.setenv("DDAS_USER", "bob")
    with xr.open_dataset(url, engine="h5netcdf") as bob:
        xr.testing.assert_identical(bob.load(), alice)
    assert http_server.count("GET") == 1 and reuses() == ["bob"]


def test_netcdf4_the_default_engine_reads_the_path_open_local_hands_out(
    ddas_env: dict[str, str], http_server: CountingServer, tmp_path: Path
) -> None:
    """netCDF-C opens only paths: fsspec.open_local gives it the registry's local copy."""
    (url,) = serve_years(http_server, tmp_path, [2021])
    local = fsspec.open_local(url)
    assert Path(local).is_relative_to(ddas_env["DDAS_STORE"]) and local.endswith("t2m_2021.nc")
    assert xr.backends.plugins.guess_engine(local) == "netcdf4"
    with xr.open_dataset(local) as data:
        assert data.t2m.values.tolist() == [270.0, 271.0, 272.0]
    assert fsspec.open_local(url) == local and http_server.count("GET") == 1


@pytest.mark.parametrize("spelling", ["ddas:: URLs with h5netcdf", "open_local paths"])
def test_open_mfdataset_combines_years_each_downloaded_once(
    ddas_env: dict[str, str], http_server: CountingServer, tmp_path: Path, spelling: str
) -> None:
    urls = serve_years(http_server, tmp_path, [2018, 2019, 2020])
    if spelling == "open_local paths":
        opened = xr.open_mfdataset(fsspec.open_local(urls), combine="by_coords")
    else:
        opened = xr.open_mfdataset(urls, engine="h5netcdf", combine="by_coords")
    with opened as data:
        assert data.t2m.values.tolist() == [270.0 + d for d in range(9)]
    assert http_server.count("GET") == 3 and http_server.body_bytes() == sum(
        (tmp_path / f"t2m_{y}.nc").stat().st_size for y in (2018, 2019, 2020)
    )


@pytest.mark.parametrize("wrap", ["fsspec filesystem", "PyFileSystem(FSSpecHandler)"])
def test_pyarrow_reads_parquet_through_ddas_filesystem(
    ddas_env: dict[str, str],
    http_server: CountingServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    wrap: str,
) -> None:
    table = pa.table({"station": ["A", "B", "C"], "temp": [1.5, 2.5, 3.5]})
    pq.write_table(table, tmp_path / "obs.parquet")
    url = http_server.add("obs/obs.parquet", (tmp_path / "obs.parquet").read_bytes())
    fs = ddas.filesystem()
    filesystem = PyFileSystem(FSSpecHandler(fs)) if wrap.startswith("PyFile") else fs
    assert pq.read_table(url, filesystem=filesystem).equals(table)
    monkeypatch.setenv("DDAS_USER", "bob")
    assert pq.read_table(url, filesystem=filesystem).equals(table)
    assert http_server.count("GET") == 1 and reuses() == ["bob"]


def test_ddas_filesystem_paths_are_whole_urls(ddas_env: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="whole URLs"):
        ddas.filesystem().open("obs/obs.parquet")
