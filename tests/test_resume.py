"""A version is a version: an interrupted download resumes only the bytes of the version it began.

Each story interrupts a real transfer (a server that drops the connection, or a fetching process
killed with SIGKILL), changes — or does not change — the file on the server, and fetches again.
"""

from __future__ import annotations

import base64
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import ddas
from ddas import partials
from ddas.hashes import file_blake3
from ddas.registry import Registry
from tests.fixtures.http_server import CountingServer
from tests.fixtures.nginx import Nginx

OLD = os.urandom(3 << 20)
SAME_SIZE = os.urandom(len(OLD))
LARGER = os.urandom(len(OLD) + (1 << 20))


def _stored(path: Path) -> bytes:
    return path.read_bytes()


def _partials(store_root: Path) -> list[Path]:
    return sorted((store_root / ".tmp").glob("*.part"))


def _interrupted(url: str, store_root: Path) -> Path:
    """A first fetch the server cuts off mid-way (no retries): one partial is left, with the
    version it holds beside it."""
    with pytest.raises(ddas.RemoteError):
        ddas.fetch(url, progress=False, retries=0)
    assert Registry().search().total == 0
    [part] = _partials(store_root)
    assert 0 < part.stat().st_size < len(OLD)
    assert partials.read_meta(part) is not None
    return part


@pytest.mark.parametrize("new", [SAME_SIZE, LARGER], ids=["same-size", "larger"])
def test_a_partial_of_a_replaced_file_is_never_spliced_into_the_new_one(
    ddas_env: dict[str, str], http_server: CountingServer, store_root: Path, new: bytes
) -> None:
    url = http_server.add("era5/t2m.nc", OLD, fail_after=1 << 20)
    _interrupted(url, store_root)
    http_server.add("era5/t2m.nc", new)  # the publisher replaces the file
    http_server.reset()

    path = ddas.fetch(url, progress=False)

    assert _stored(path) == new
    assert Registry().copies_for_url(url)[0].blake3 == file_blake3(path)
    assert http_server.body_bytes() == len(new), "restarted from zero, nothing spliced"
    assert _partials(store_root) == []


def test_if_range_sends_the_partials_validators_not_the_ones_seen_a_moment_ago(
    ddas_env: dict[str, str], http_server: CountingServer, store_root: Path
) -> None:
    """The file changes between the HEAD and the GET: If-Range names the old version, so the
    server sends the whole new file (200) and that is what is stored and registered."""
    url = http_server.add("obs/stations.csv", OLD, fail_after=1 << 20)
    part = _interrupted(url, store_root)
    old_etag = partials.read_meta(part).etag
    resource = http_server.resources["/obs/stations.csv"]
    resource.fail_after, resource.swap_on_get = None, SAME_SIZE
    http_server.reset()

    path = ddas.fetch(url, progress=False)

    [get] = [h for h in http_server.hits if h.method == "GET"]
    assert get.if_range == old_etag and get.range and get.status == 200
    assert _stored(path) == SAME_SIZE
    http_server.reset()
    assert ddas.fetch(url, progress=False) == path, "registered under the new version's ETag"
    assert http_server.body_bytes() == 0


def test_a_partial_of_the_same_version_resumes_and_only_the_tail_moves(
    ddas_env: dict[str, str], http_server: CountingServer, store_root: Path
) -> None:
    url = http_server.add("kill/scene.tif", OLD, fail_after=1 << 20)
    part = _interrupted(url, store_root)
    had = part.stat().st_size
    http_server.resources["/kill/scene.tif"].fail_after = None
    http_server.reset()

    path = ddas.fetch(url, progress=False)

    assert _stored(path) == OLD
    [get] = [h for h in http_server.hits if h.method == "GET"]
    assert (get.status, get.range) == (206, f"bytes={had}-")
    assert http_server.body_bytes() == len(OLD) - had


def test_another_user_resumes_alices_partial(
    ddas_env: dict[str, str],
    http_server: CountingServer,
    store_root: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = http_server.add("shared/big.zarr.zip", OLD, fail_after=1 << 20)
    _interrupted(url, store_root)
    http_server.resources["/shared/big.zarr.zip"].fail_after = None
    monkeypatch.setenv("DDAS_USER", "bob")
    http_server.reset()
    path = ddas.fetch(url, progress=False)
    assert _stored(path) == OLD and http_server.body_bytes() < len(OLD)
    [download] = [e for e in Registry().events() if e.kind == "download"]
    assert download.user == "bob"


def test_a_wrong_whole_object_checksum_keeps_nothing(
    ddas_env: dict[str, str], http_server: CountingServer, store_root: Path
) -> None:
    wrong = base64.b64encode(hashlib.md5(b"another file").digest()).decode()
    url = http_server.add("sum/data.bin", OLD, headers={"Content-MD5": wrong})
    with pytest.raises(ddas.ChecksumMismatchError, match="Content-MD5"):
        ddas.fetch(url, progress=False)
    assert Registry().search().total == 0
    assert [p for p in store_root.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize(
    "header",
    [
        ("Repr-Digest", "sha-256=:{sha256}:"),
        ("Digest", "SHA-256={sha256}"),
        ("x-amz-checksum-sha256", "{sha256}"),
        ("Content-MD5", "{md5}"),
    ],
    ids=["repr-digest", "digest", "x-amz-checksum", "content-md5"],
)
def test_a_resumed_download_is_checked_against_the_announced_checksum(
    ddas_env: dict[str, str],
    http_server: CountingServer,
    store_root: Path,
    header: tuple[str, str],
) -> None:
    digests = {
        "sha256": base64.b64encode(hashlib.sha256(OLD).digest()).decode(),
        "md5": base64.b64encode(hashlib.md5(OLD).digest()).decode(),
    }
    name, template = header
    url = http_server.add(
        "sum/ok.bin", OLD, fail_after=1 << 20, headers={name: template.format(**digests)}
    )
    _interrupted(url, store_root)
    http_server.resources["/sum/ok.bin"].fail_after = None
    path = ddas.fetch(url, progress=False)
    assert _stored(path) == OLD
    algorithm = "md5" if name == "Content-MD5" else "sha256"
    value = hashlib.new(algorithm, OLD).hexdigest()
    assert Registry().copies_for_digest(f"{algorithm}:{value}")[0].location == str(path)


FETCH = "import sys, ddas; print(ddas.fetch(sys.argv[1], progress=False))"


def _fetch_in_a_process_and_kill_it(url: str, nginx: Nginx, env: dict[str, str]) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", FETCH, url],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    part_dir = Path(env["DDAS_STORE"]) / ".tmp"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        parts = list(part_dir.glob("*.part")) if part_dir.exists() else []
        if parts and parts[0].stat().st_size >= 256 << 10:
            break
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)


@pytest.mark.slow
@pytest.mark.parametrize("new", [SAME_SIZE, LARGER], ids=["same-size", "larger"])
def test_nginx_a_killed_download_of_a_replaced_file_stores_the_new_file(
    ddas_env: dict[str, str],
    nginx: Nginx,
    store_root: Path,
    new: bytes,
    capsys: pytest.CaptureFixture[str],
) -> None:
    nginx.put("v/data.nc", OLD, mtime=time.time() - 3600)
    slow = nginx.url("slow/v/data.nc")  # limit_rate: the kill lands mid-transfer
    env = {**ddas_env, "DDAS_LEASE_TTL": "3600"}  # a dead holder must not be waited out
    _fetch_in_a_process_and_kill_it(slow, nginx, env)
    [part] = _partials(store_root)
    assert partials.read_meta(part).etag is not None
    nginx.put("v/data.nc", new)  # a new mtime, so nginx's ETag changes

    path = ddas.fetch(slow, progress=False, min_rate=0)

    assert _stored(path) == new
    assert "waiting for" not in capsys.readouterr().err, "its own dead process is not waited for"
    gets = [e for e in nginx.log() if e.method == "GET"]
    assert gets[-1].status == 200


@pytest.mark.slow
def test_nginx_resumes_a_killed_download_of_the_same_file_with_if_range(
    ddas_env: dict[str, str], nginx: Nginx, store_root: Path
) -> None:
    nginx.put("v/same.nc", OLD, mtime=time.time() - 3600)
    slow = nginx.url("slow/v/same.nc")
    _fetch_in_a_process_and_kill_it(slow, nginx, {**ddas_env, "DDAS_LEASE_TTL": "3600"})
    [part] = _partials(store_root)
    had = part.stat().st_size

    path = ddas.fetch(slow, progress=False, min_rate=0)

    assert _stored(path) == OLD
    resumed = [e for e in nginx.log() if e.method == "GET" and e.status == 206]
    assert resumed and resumed[-1].range == f"bytes={had}-" and resumed[-1].if_range
    assert resumed[-1].body_bytes == len(OLD) - had


def test_an_s3_style_etag_over_http_is_the_md5_that_is_checked(
    ddas_env: dict[str, str], http_server: CountingServer, store_root: Path
) -> None:
    """Behind an S3 endpoint (x-amz-request-id), a single-part ETag is the object's MD5."""
    s3ish = {"x-amz-request-id": "4442587FB7D0A2F9"}
    good = http_server.add("bucket/ok.bin", OLD, headers=s3ish)  # our server's ETag is the MD5
    assert _stored(ddas.fetch(good, progress=False)) == OLD
    md5 = hashlib.md5(OLD).hexdigest()
    assert Registry().copies_for_digest(f"md5:{md5}")
    wrong = '"' + hashlib.md5(b"not this").hexdigest() + '"'
    bad = http_server.add("bucket/bad.bin", SAME_SIZE, etag=wrong, headers=s3ish)
    with pytest.raises(ddas.ChecksumMismatchError, match="S3 ETag"):
        ddas.fetch(bad, progress=False)
    assert not Registry().copies_for_url(bad)
