"""pooch users switch to DDAS with ``downloader=ddas.pooch.DDASDownloader()``: a colleague's pooch
cache gets alice's copy as a hard link, with no body byte transferred, and pooch's own checks hold."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pooch
import pytest

import ddas
import ddas.pooch
from ddas.registry import Registry
from tests.fixtures.http_server import CountingServer

DATA = os.urandom(300_000)
SHA256 = hashlib.sha256(DATA).hexdigest()


def test_second_pooch_cache_gets_alices_copy_without_downloading(
    ddas_env: dict[str, str],
    http_server: CountingServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = http_server.add("grids/t2m.nc", DATA)
    alice = pooch.retrieve(
        url,
        f"sha256:{SHA256}",
        path=tmp_path / "alice-cache",
        downloader=ddas.pooch.DDASDownloader(),
    )
    assert Path(alice).read_bytes() == DATA and http_server.body_bytes() == len(DATA)

    monkeypatch.setenv("DDAS_USER", "bob")
    http_server.reset()
    bob = pooch.retrieve(url, SHA256, path=tmp_path / "bob-cache", downloader=ddas.pooch.downloader)

    assert http_server.body_bytes() == 0 and http_server.count("GET") == 0
    stored = ddas.lookup(url)[0].location
    assert os.path.samefile(bob, stored) and os.path.samefile(alice, stored)  # no second copy
    assert Path(bob).parent == tmp_path / "bob-cache"  # pooch keeps its own layout
    reuse = [e for e in Registry().events() if e.kind == "reuse"]
    assert [(e.user, e.bytes) for e in reuse] == [("bob", len(DATA))]


def test_pooch_fetch_passes_its_registry_hash_to_ddas(
    ddas_env: dict[str, str], http_server: CountingServer, tmp_path: Path
) -> None:
    """The Pooch's hash goes to DDAS: a copy of those bytes under *another* URL is found by
    digest, and a wrong hash is refused by DDAS before pooch would even look at the file."""
    ddas.fetch(http_server.add("mirror-a/t2m.nc", DATA), known_hash=f"sha256:{SHA256}")
    http_server.add("mirror-b/t2m.nc", DATA)
    http_server.reset()
    project = pooch.create(
        path=tmp_path / "cache",
        base_url=http_server.url("mirror-b/"),
        registry={"t2m.nc": f"sha256:{SHA256}"},
    )

    path = project.fetch("t2m.nc", downloader=ddas.pooch.DDASDownloader())

    assert Path(path).read_bytes() == DATA and http_server.body_bytes() == 0

    bad = pooch.create(
        path=tmp_path / "bad",
        base_url=http_server.url("mirror-b/"),
        registry={"t2m.nc": "sha256:" + "0" * 64},
    )
    with pytest.raises(ddas.HashMismatchError):
        bad.fetch("t2m.nc", downloader=ddas.pooch.DDASDownloader(policy="warn"))
    assert not (tmp_path / "bad" / "t2m.nc").exists()


def test_hashes_ddas_does_not_compute_are_left_to_pooch(
    ddas_env: dict[str, str], http_server: CountingServer, tmp_path: Path
) -> None:
    url = http_server.add("x.csv", b"a,b\n1,2\n")
    project = pooch.create(
        path=tmp_path, base_url=http_server.url(""), registry={"x.csv": "xxh128:" + "0" * 32}
    )
    assert ddas.pooch.DDASDownloader()._hash_for(url, project) is None
    assert ddas.pooch.DDASDownloader()._hash_for(url, None) is None
    assert ddas.pooch.DDASDownloader(known_hash="md5:" + "a" * 32)._hash_for(url, None) == (
        "md5:" + "a" * 32
    )
    # pooch's bare hex is sha256; DDAS's is BLAKE3, so the adapter spells pooch's meaning out
    assert (
        ddas.pooch.DDASDownloader(known_hash="b" * 64)._hash_for(url, None) == "sha256:" + "b" * 64
    )


def test_availability_and_file_objects(
    ddas_env: dict[str, str], http_server: CountingServer
) -> None:
    url = http_server.add("y.csv", b"y\n1\n")
    downloader = ddas.pooch.DDASDownloader()
    assert downloader(url, None, None, check_only=True) is True
    assert downloader(http_server.url("missing.csv"), None, None, check_only=True) is False
    assert http_server.body_bytes() == 0  # availability is a HEAD, never a body

    buffer = io.BytesIO()
    assert downloader(url, buffer, None) is None
    assert buffer.getvalue() == b"y\n1\n"
