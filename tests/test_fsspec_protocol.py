"""``ddas::`` through fsspec and pandas, over real HTTP and a real S3 endpoint (moto server)."""

from __future__ import annotations

import io

import fsspec
import pandas as pd
import pytest

import ddas
from ddas.registry import Registry
from tests.fixtures.http_server import CountingServer

CSV = b"station,temp\nA,1.5\nB,2.5\n"


def test_read_csv_by_two_users_transfers_the_body_once(
    ddas_env: dict[str, str], http_server: CountingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = http_server.add("obs/stations.csv", CSV)
    alice = pd.read_csv(f"ddas::{url}")
    monkeypatch.setenv("DDAS_USER", "bob")
    bob = pd.read_csv(f"ddas::{url}")
    pd.testing.assert_frame_equal(alice, bob)
    assert list(bob["station"]) == ["A", "B"]
    assert http_server.count("GET") == 1 and http_server.body_bytes() == len(CSV)
    assert [e.user for e in Registry().events() if e.kind == "reuse"] == ["bob"]


def test_fsspec_open_text_mode_and_protocol_is_registered(
    ddas_env: dict[str, str], http_server: CountingServer
) -> None:
    assert fsspec.get_filesystem_class("ddas").__name__ == "DDASFileSystem"
    url = http_server.add("t/notes.txt", b"line1\nline2\n")
    with fsspec.open(f"ddas::{url}", "rt") as f:
        assert f.read().splitlines() == ["line1", "line2"]
    with pytest.raises(ValueError, match="read-only"):
        fsspec.open(f"ddas::{url}", "wb").open()


def _s3_options(s3) -> dict:
    return {
        "client_kwargs": {"endpoint_url": s3.endpoint_url},
        "key": "testing",
        "secret": "testing",
    }


def test_s3_dataset_is_fetched_once_then_reused(
    ddas_env: dict[str, str],
    s3,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    payload = b"x" * 300_000 + b"end"
    s3.pipe(f"{s3.bucket}/scenes/L8_0001.tif", payload)
    url = f"s3://{s3.bucket}/scenes/L8_0001.tif"
    first = ddas.api.fetch_result(url, storage_options=_s3_options(s3))
    assert not first.reused and first.path.read_bytes() == payload
    monkeypatch.setenv("DDAS_USER", "bob")
    second = ddas.api.fetch_result(url, storage_options=_s3_options(s3))
    assert second.reused and second.path == first.path
    s3.pipe(f"{s3.bucket}/scenes/L8_0001.tif", payload + b"v2")  # new ETag: a new version
    third = ddas.api.fetch_result(url, storage_options=_s3_options(s3))
    assert not third.reused and third.path.read_bytes() == payload + b"v2"


def test_read_parquet_through_ddas_s3_with_storage_options(
    ddas_env: dict[str, str],
    s3,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frame = pd.DataFrame({"lat": [1.0, 2.0], "lon": [3.0, 4.0]})
    buf = io.BytesIO()
    frame.to_parquet(buf)
    s3.pipe(f"{s3.bucket}/grid.parquet", buf.getvalue())
    url = f"ddas::s3://{s3.bucket}/grid.parquet"
    options = {"s3": _s3_options(s3)}
    pd.testing.assert_frame_equal(pd.read_parquet(url, storage_options=options), frame)
    monkeypatch.setenv("DDAS_USER", "bob")
    pd.testing.assert_frame_equal(pd.read_parquet(url, storage_options=options), frame)
    assert [e.user for e in Registry().events() if e.kind == "reuse"] == ["bob"]
