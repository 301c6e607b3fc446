"""Only the dataset is registered, however the server behaves: our misbehaving server and nginx.

HTML pages a URL did not ask for, directory listings, bodies shorter than announced, a forced
``Content-Encoding``, drip-fed transfers, redirects and ``Content-Disposition``.
"""

from __future__ import annotations

import gzip
import io
import os
import time
from pathlib import Path

import pandas as pd
import pytest

import ddas
from ddas.registry import Registry
from ddas.transfer import probe
from tests.fixtures.http_server import CountingServer
from tests.fixtures.nginx import Nginx

DATA = os.urandom(800_000)
CSV = b"station,t2m\n" + b"".join(b"s%d,%d.5\n" % (i, i % 40) for i in range(20_000))
LOGIN = b"<!doctype html><html><body><form action='/login'>Sign in</form></body></html>"
LISTING = (
    b"<html><head><title>Index of /multi/</title></head><body><h1>Index of /multi/</h1>"
    b'<a href="../">../</a><a href="a.nc">a.nc</a><a href="b.nc">b.nc</a>'
    b'<a href="c.nc">c.nc</a></body></html>'
)


def _nothing_registered_or_stored(store_root: Path) -> None:
    assert Registry().search().total == 0
    assert [p for p in store_root.rglob("*") if p.is_file() and ".tmp" not in p.parts] == []


# -- not the dataset ----------------------------------------------------------------------------


def test_a_redirect_to_a_login_page_is_refused_and_nothing_is_stored(
    ddas_env: dict[str, str], http_server: CountingServer, store_root: Path
) -> None:
    http_server.add("login", LOGIN, content_type="text/html; charset=utf-8")
    url = http_server.add("private/data.nc", b"", redirect_to="/login")
    with pytest.raises(ddas.NotDatasetError, match=r"HTML page .*login.* allow_html=True") as err:
        ddas.fetch(url, progress=False)
    assert not err.value.listing
    _nothing_registered_or_stored(store_root)
    assert list((store_root / ".tmp").glob("*")) == []


def test_nginx_a_redirect_to_a_login_page_is_refused(
    ddas_env: dict[str, str], nginx: Nginx, store_root: Path
) -> None:
    nginx.put("sso/login.html", LOGIN)
    nginx.reload("location = /private/data.nc { return 302 /sso/login.html?next=/private; }")
    with pytest.raises(ddas.NotDatasetError, match=r"after redirects to .*login\.html"):
        ddas.fetch(nginx.url("private/data.nc"), progress=False)
    _nothing_registered_or_stored(store_root)


def test_a_directory_listing_points_to_fetch_tree(
    ddas_env: dict[str, str], http_server: CountingServer, store_root: Path
) -> None:
    url = http_server.add("multi", LISTING, content_type="text/html")
    with pytest.raises(ddas.NotDatasetError, match=r"directory listing.*ddas\.fetch_tree\(") as err:
        ddas.fetch(url, progress=False)
    assert err.value.listing
    _nothing_registered_or_stored(store_root)


def test_nginx_autoindex_is_a_listing(
    ddas_env: dict[str, str], nginx: Nginx, store_root: Path
) -> None:
    nginx.put("multi/a.nc", DATA[:100])
    nginx.put("multi/b.nc", DATA[:200])
    nginx.put("multi/c.nc", DATA[:300])
    with pytest.raises(ddas.NotDatasetError, match=r"ddas\.fetch_tree\("):
        ddas.fetch(nginx.url("list/multi/"), progress=False)
    _nothing_registered_or_stored(store_root)


def test_html_is_fine_when_asked_for(
    ddas_env: dict[str, str], http_server: CountingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = http_server.add("docs/readme.html", LOGIN, content_type="text/html")
    assert ddas.fetch(page, progress=False).read_bytes() == LOGIN
    other = http_server.add("portal/page", LOGIN, content_type="text/html")
    assert ddas.fetch(other, progress=False, allow_html=True).read_bytes() == LOGIN
    monkeypatch.setenv("DDAS_ALLOW_HTML", "1")
    third = http_server.add("portal/other", LOGIN + b"2", content_type="text/html")
    assert ddas.fetch(third, progress=False).read_bytes() == LOGIN + b"2"


@pytest.mark.parametrize("cut", [300_000, 0], ids=["cut-short", "empty"])
def test_a_close_delimited_body_ending_early_is_an_error_and_the_partial_resumes(
    ddas_env: dict[str, str], http_server: CountingServer, store_root: Path, cut: int
) -> None:
    url = http_server.add("close/obs.nc", DATA, close_delimited=True, fail_after=cut)
    with pytest.raises(ddas.IncompleteDownloadError, match=f"after {cut} of {len(DATA)}") as err:
        ddas.fetch(url, progress=False, retries=0)
    assert err.value.received == cut and err.value.kept == (cut > 0)
    _nothing_registered_or_stored(store_root)
    http_server.resources["/close/obs.nc"].fail_after = None
    http_server.reset()
    assert ddas.fetch(url, progress=False).read_bytes() == DATA
    assert http_server.body_bytes() == len(DATA) - cut


def test_a_body_shorter_than_its_content_length_is_retried_from_where_it_broke(
    ddas_env: dict[str, str], http_server: CountingServer
) -> None:
    url = http_server.add("short/obs.nc", DATA, fail_after=500_000, drops=2)
    assert ddas.fetch(url, progress=False).read_bytes() == DATA
    gets = [h for h in http_server.hits if h.method == "GET"]
    assert [g.range for g in gets] == [None, "bytes=500000-", "bytes=1000000-"][: len(gets)]
    assert len(gets) == 2 and http_server.body_bytes() == len(DATA)


def test_a_forced_gzip_encoding_is_stored_decoded_as_pandas_reads_it(
    ddas_env: dict[str, str], http_server: CountingServer
) -> None:
    url = http_server.add("tables/p.csv", CSV, force_gzip=True, content_type="text/csv")
    path = ddas.fetch(url, progress=False)
    assert path.read_bytes() == CSV
    assert pd.read_csv(path).equals(pd.read_csv(io.BytesIO(gzip.decompress(gzip.compress(CSV)))))
    assert {h.accept_encoding for h in http_server.hits} == {"identity"}


def test_nginx_gzip_on_still_gives_length_and_ranges_to_an_identity_request(
    ddas_env: dict[str, str], nginx: Nginx
) -> None:
    nginx.put("t/p.csv", CSV)
    seen = probe(nginx.url("gz/t/p.csv"))
    assert seen.validators.size == len(CSV) and seen.accepts_ranges and not seen.encoded
    assert ddas.fetch(nginx.url("gz/t/p.csv"), progress=False).read_bytes() == CSV
    assert {e.accept_encoding for e in nginx.log()} == {"identity"}


# -- stalls ---------------------------------------------------------------------------------------


def test_a_drip_fed_transfer_is_given_up_naming_the_rate_and_the_setting(
    ddas_env: dict[str, str], http_server: CountingServer, store_root: Path
) -> None:
    url = http_server.add("drip/data.bin", DATA[:5000], drip=0.02)
    with pytest.raises(
        ddas.StalledDownloadError, match=r"below the minimum of 1000 bytes/s.*DDAS_MIN_RATE"
    ):
        ddas.fetch(url, progress=False, min_rate=1000, stall_seconds=0.5)
    _nothing_registered_or_stored(store_root)
    http_server.resources["/drip/data.bin"].drip = None
    http_server.reset()
    assert ddas.fetch(url, progress=False).read_bytes() == DATA[:5000]
    [get] = [h for h in http_server.hits if h.method == "GET"]
    assert get.status == 206, "the stalled partial was kept and resumed"


def test_nginx_limit_rate_below_the_minimum_rate_is_a_stall(
    ddas_env: dict[str, str], nginx: Nginx
) -> None:
    nginx.put("big/data.bin", DATA * 4)
    with pytest.raises(ddas.StalledDownloadError, match="DDAS_STALL_SECONDS"):
        ddas.fetch(nginx.url("slow/big/data.bin"), progress=False, min_rate=50e6, stall_seconds=0.5)


# -- redirects and names ----------------------------------------------------------------------


def test_after_latest_redirects_to_v3_fetching_v3_is_a_hit(
    ddas_env: dict[str, str], http_server: CountingServer
) -> None:
    v3 = http_server.add("v3/data.nc", DATA)
    latest = http_server.add("latest/data.nc", b"", redirect_to="/v3/data.nc")
    path = ddas.fetch(latest, progress=False)
    http_server.reset()
    assert ddas.fetch(v3, progress=False) == path
    assert http_server.body_bytes() == 0
    urls = {s.url for s in Registry().dataset(Registry().copies_for_url(v3)[0].content_id).sources}
    assert {latest, v3} <= urls


def test_latest_moving_to_a_target_with_the_same_etag_is_a_new_version(
    ddas_env: dict[str, str], http_server: CountingServer
) -> None:
    http_server.add("v3/grid.nc", DATA, etag='"5f3a-c3500"', last_modified=1e9)
    http_server.add("v4/grid.nc", DATA[::-1], etag='"5f3a-c3500"', last_modified=1e9)
    latest = http_server.add("latest/grid.nc", b"", redirect_to="/v3/grid.nc")
    assert ddas.fetch(latest, progress=False).read_bytes() == DATA
    http_server.resources["/latest/grid.nc"].redirect_to = "/v4/grid.nc"
    assert ddas.fetch(latest, progress=False).read_bytes() == DATA[::-1]


def test_nginx_latest_moving_to_a_same_etag_target_is_a_new_version(
    ddas_env: dict[str, str], nginx: Nginx
) -> None:
    stamp = time.time() - 3600  # the same mtime and size: nginx gives both the same ETag
    nginx.put("v3/grid.nc", DATA, mtime=stamp)
    nginx.put("v4/grid.nc", DATA[::-1], mtime=stamp)
    nginx.reload("location = /latest { return 302 /v3/grid.nc; }")
    assert ddas.fetch(nginx.url("latest"), progress=False).read_bytes() == DATA
    assert ddas.fetch(nginx.url("v3/grid.nc"), progress=False).read_bytes() == DATA
    assert nginx.body_bytes() == len(DATA), "the target was a hit"
    nginx.reload("location = /latest { return 302 /v4/grid.nc; }")
    assert ddas.fetch(nginx.url("latest"), progress=False).read_bytes() == DATA[::-1]


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ('attachment; filename="era5 2020.nc"', "era5 2020.nc"),
        ("attachment; filename*=UTF-8''temp%C3%A9rature.csv", "température.csv"),
        ('attachment; filename="../../etc/passwd"', "passwd"),
    ],
)
def test_content_disposition_names_the_stored_file(
    ddas_env: dict[str, str], http_server: CountingServer, header: str, name: str
) -> None:
    url = http_server.add("download", DATA, headers={"Content-Disposition": header})
    path = ddas.fetch(url + "?id=7", progress=False)
    assert path.name == name and path.read_bytes() == DATA
    assert Registry().copies_for_url(url + "?id=7")[0].location == str(path)


# -- object stores ------------------------------------------------------------------------------


def test_an_s3_single_part_etag_is_checked_as_the_objects_md5(ddas_env: dict[str, str], s3) -> None:
    import hashlib

    s3.pipe(f"{s3.bucket}/raw/run42.bin", DATA)
    url = f"s3://{s3.bucket}/raw/run42.bin"
    options = {"client_kwargs": {"endpoint_url": s3.endpoint_url}}
    seen = probe(url, options)
    assert seen.checksum is not None and seen.checksum.header == "S3 ETag"
    path = ddas.fetch(url, progress=False, storage_options=options)
    assert path.read_bytes() == DATA
    md5 = hashlib.md5(DATA).hexdigest()
    assert seen.checksum.hex == md5
    assert Registry().copies_for_digest(f"md5:{md5}")[0].location == str(path)


def test_several_breaks_in_one_body_are_each_resumed(
    ddas_env: dict[str, str], http_server: CountingServer
) -> None:
    url = http_server.add("flaky/obs.nc", DATA, fail_after=150_000, drops=4)
    assert ddas.fetch(url, progress=False, backoff=0).read_bytes() == DATA
    ranges = [h.range for h in http_server.hits if h.method == "GET"]
    assert ranges == [None, "bytes=150000-", "bytes=300000-", "bytes=450000-", "bytes=600000-"]
    assert http_server.body_bytes() == len(DATA)


def test_retries_are_bounded_and_the_partial_is_kept_for_the_next_fetch(
    ddas_env: dict[str, str], http_server: CountingServer, store_root: Path
) -> None:
    url = http_server.add("flaky/always.nc", DATA, fail_after=100_000)
    with pytest.raises(ddas.RemoteError, match=r"after 2 retries.*partial is kept"):
        ddas.fetch(url, progress=False, retries=2, backoff=0)
    assert http_server.count("GET") == 3
    _nothing_registered_or_stored(store_root)
    [part] = (store_root / ".tmp").glob("*.part")
    assert part.stat().st_size == 300_000
