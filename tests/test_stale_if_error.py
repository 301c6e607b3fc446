"""A hit must not need the origin: when it cannot be asked, the verified copy is handed out and the
user is told so (RFC 5861 stale-if-error) — unless they asked to refuse, or to never ask at all."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import ddas
from ddas.registry import Registry
from tests.fixtures.http_server import CountingServer
from tests.fixtures.nginx import Nginx

DATA = os.urandom(600_000)


def _host(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[0]


def test_with_the_server_down_alices_copy_is_handed_out_with_a_notice(
    ddas_env: dict[str, str],
    http_server: CountingServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = http_server.add("era5/2020.nc", DATA)
    path = ddas.fetch(url, progress=False)
    http_server.close()  # the portal is down for maintenance
    monkeypatch.setenv("DDAS_USER", "bob")
    capsys.readouterr()

    again = ddas.api.fetch_result(url, progress=False)

    assert again.path == path and again.reused and again.path.read_bytes() == DATA
    err = capsys.readouterr().err
    assert f"could not check {_host(url)} for a newer version (cannot reach" in err
    assert "using alice's copy from 20" in err
    [reuse] = [e for e in Registry().events() if e.kind == "reuse"]
    assert reuse.user == "bob" and "could not check" in reuse.detail["stale"]


def test_on_error_refuse_raises_instead(
    ddas_env: dict[str, str], http_server: CountingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = http_server.add("era5/2021.nc", DATA)
    ddas.fetch(url, progress=False)
    http_server.close()
    with pytest.raises(ddas.OriginUnavailableError, match="cannot reach"):
        ddas.fetch(url, progress=False, on_error="refuse")
    monkeypatch.setenv("DDAS_ON_ERROR", "refuse")
    with pytest.raises(ddas.OriginUnavailableError):
        ddas.fetch(url, progress=False)
    with pytest.raises(ddas.SettingsError, match="DDAS_ON_ERROR"):
        ddas.fetch(url, progress=False, on_error="sometimes")


def test_a_persistent_5xx_hands_out_the_copy_after_bounded_retries(
    ddas_env: dict[str, str], http_server: CountingServer, capsys: pytest.CaptureFixture[str]
) -> None:
    url = http_server.add("obs/stations.csv", DATA)
    path = ddas.fetch(url, progress=False)
    http_server.resources["/obs/stations.csv"].fail_statuses = [(502, None)] * 10
    http_server.reset()
    assert ddas.fetch(url, progress=False, retries=2, backoff=0) == path
    assert http_server.count("HEAD") == 3, "one try and two retries, no more"
    assert "HTTP 502" in capsys.readouterr().err


def test_offline_never_asks_the_origin(
    ddas_env: dict[str, str],
    http_server: CountingServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = http_server.add("cmip6/tas.nc", DATA)
    path = ddas.fetch(url, progress=False)
    http_server.reset()
    monkeypatch.setenv("DDAS_OFFLINE", "1")  # a compute node without internet
    assert ddas.fetch(url, progress=False) == path
    assert http_server.count() == 0
    assert "did not check" in capsys.readouterr().err
    with pytest.raises(ddas.OfflineError, match="DDAS_OFFLINE"):
        ddas.fetch(http_server.add("cmip6/pr.nc", DATA[:10]), progress=False)
    assert http_server.count() == 0
    assert ddas.fetch(url, progress=False, offline=False) == path
    assert http_server.count("HEAD") == 1


@pytest.mark.parametrize("head_status", [405, 403], ids=["HEAD-405", "presigned-HEAD-403"])
def test_a_server_refusing_head_is_asked_with_a_ranged_get(
    ddas_env: dict[str, str], http_server: CountingServer, head_status: int
) -> None:
    url = http_server.add("refuse/head.bin", DATA, head_status=head_status)
    path = ddas.fetch(url + "?X-Amz-Signature=abc", progress=False)  # a miss falls back to GET
    assert path.read_bytes() == DATA
    http_server.reset()
    assert ddas.fetch(url, progress=False) == path  # and a hit needs one byte, not the file
    assert http_server.body_bytes() <= 1
    [probe] = [h for h in http_server.hits if h.method == "GET"]
    assert probe.range == "bytes=0-0"


def test_one_503_with_retry_after_is_waited_for(
    ddas_env: dict[str, str], http_server: CountingServer
) -> None:
    url = http_server.add("busy/data.bin", DATA, fail_statuses=[(503, "1")])
    assert ddas.fetch(url, progress=False).read_bytes() == DATA
    statuses = [h.status for h in http_server.hits]
    assert statuses[0] == 503 and 503 not in statuses[1:]


def test_a_429_then_a_dropped_body_are_retried_resuming(
    ddas_env: dict[str, str], http_server: CountingServer
) -> None:
    url = http_server.add(
        "busy/big.bin", DATA, fail_statuses=[(429, "0")], fail_after=200_000, drops=1
    )
    assert ddas.fetch(url, progress=False).read_bytes() == DATA
    gets = [h for h in http_server.hits if h.method == "GET" and h.status < 300]
    assert [g.status for g in gets] == [200, 206] and gets[1].range == "bytes=200000-"
    assert http_server.body_bytes() == len(DATA), "nothing fetched twice"


def test_nginx_stopped_hands_out_the_copy(
    ddas_env: dict[str, str], nginx: Nginx, capsys: pytest.CaptureFixture[str]
) -> None:
    url = nginx.put("static/grid.nc", DATA)
    path = ddas.fetch(url, progress=False)
    nginx.stop()
    assert ddas.fetch(url, progress=False) == path
    assert f"could not check {_host(url)}" in capsys.readouterr().err


def test_an_unreachable_miss_is_still_an_error_and_registers_nothing(
    ddas_env: dict[str, str], store_root: Path
) -> None:
    with pytest.raises(ddas.OriginUnavailableError, match="cannot reach"):
        ddas.fetch("http://127.0.0.1:9/never-fetched.nc", progress=False, retries=0)
    assert Registry().search().total == 0
