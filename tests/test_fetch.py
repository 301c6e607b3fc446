"""User stories of ``ddas.fetch``: the duplicate download is caught before any body byte moves."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa

import ddas
from ddas.hashes import file_blake3
from ddas.registry import Registry
from tests.fixtures.http_server import CountingServer

DATA = os.urandom(2_500_000)


def test_second_user_reuses_alices_copy_without_downloading(
    ddas_env: dict[str, str], http_server: CountingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = http_server.add("era5/2020.nc", DATA)
    alice_path = ddas.fetch(url)
    assert alice_path.read_bytes() == DATA
    assert http_server.body_bytes() == len(DATA)

    monkeypatch.setenv("DDAS_USER", "bob")
    http_server.reset()
    bob_path = ddas.fetch(url)

    assert bob_path == alice_path
    assert http_server.body_bytes() == 0
    assert http_server.count("GET") == 0 and http_server.count("HEAD") == 1
    registry = Registry()
    reuse = [e for e in registry.events() if e.kind == "reuse"]
    assert len(reuse) == 1 and reuse[0].user == "bob" and reuse[0].bytes == len(DATA)
    stats = registry.stats()
    assert stats.bytes_saved == len(DATA) and stats.reuses == 1


def test_the_hit_alert_names_who_where_and_the_verified_hash(
    ddas_env: dict[str, str],
    http_server: CountingServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = http_server.add("genome/hg38.fa", DATA)
    path = ddas.fetch(url)
    monkeypatch.setenv("DDAS_USER", "bob")
    result = ddas.api.fetch_result(url)
    err = capsys.readouterr().err
    assert "hg38.fa" in err and "alice" in err and str(path) in err
    html = result.alert._repr_html_()
    assert "alice" in html and file_blake3(path) in html and "reused" in html


def test_changed_etag_is_a_new_version_and_the_old_one_is_kept(
    ddas_env: dict[str, str], http_server: CountingServer, capsys: pytest.CaptureFixture[str]
) -> None:
    url = http_server.add("obs/stations.csv", DATA)
    old = ddas.fetch(url)
    new_data = DATA[:-10] + b"0123456789"
    http_server.add("obs/stations.csv", new_data)
    http_server.reset()
    new = ddas.fetch(url)
    assert new != old and new.read_bytes() == new_data and old.read_bytes() == DATA
    assert http_server.body_bytes() == len(new_data)
    assert "new version" in capsys.readouterr().err
    versions = Registry().sources_for_url(url)
    assert len(versions) == 2 and len({v.content_id for v in versions}) == 2


def test_a_mirror_is_learned_and_its_next_fetch_is_a_hit(
    ddas_env: dict[str, str],
    http_server: CountingServer,
    store_root: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    primary = http_server.add("primary/data.bin", DATA)
    mirror = http_server.add("mirror/copy-of-data.bin", DATA)
    first = ddas.fetch(primary)
    second = ddas.fetch(mirror)
    assert "mirror of" in capsys.readouterr().err
    assert second == first  # one stored copy, not two
    stored = [p for p in store_root.rglob("*") if p.is_file() and ".tmp" not in p.parts]
    assert len(stored) == 1
    http_server.reset()
    assert ddas.fetch(mirror) == first
    assert http_server.body_bytes() == 0


def test_signed_url_secrets_appear_nowhere_in_the_registry(
    ddas_env: dict[str, str], http_server: CountingServer, capsys: pytest.CaptureFixture[str]
) -> None:
    url = http_server.add("private/scene.tif", DATA)
    signed = f"{url}?X-Amz-Signature=SIGSECRET123&X-Amz-Credential=AKIASECRET&token=TOKSECRET"
    ddas.fetch(signed)
    ddas.fetch(signed)  # the hit path logs and alerts too
    engine = sa.create_engine(
        ddas_env["DDAS_REGISTRY"].replace("postgresql://", "postgresql+psycopg://")
    )
    dump = []
    with engine.connect() as conn:
        for table in sa.inspect(engine).get_table_names():
            dump += [repr(tuple(row)) for row in conn.execute(sa.text(f"SELECT * FROM {table}"))]
    engine.dispose()
    text = "\n".join(dump) + capsys.readouterr().err
    assert "scene.tif" in text  # the dump is real
    for secret in ("SIGSECRET123", "AKIASECRET", "TOKSECRET"):
        assert secret not in text


def test_known_hash_mismatch_raises_and_keeps_nothing(
    ddas_env: dict[str, str], http_server: CountingServer, store_root: Path
) -> None:
    url = http_server.add("x/model.bin", DATA)
    with pytest.raises(ddas.HashMismatchError, match="sha256"):
        ddas.fetch(url, known_hash="sha256:" + "0" * 64)
    assert [p for p in store_root.rglob("*") if p.is_file()] == []
    registry = Registry()
    assert registry.copies_for_url(url) == [] and registry.search().total == 0


def test_known_hash_match_is_accepted_and_aliases_are_learned(
    ddas_env: dict[str, str], http_server: CountingServer
) -> None:
    import hashlib

    url = http_server.add("x/weights.bin", DATA)
    sha = hashlib.sha256(DATA).hexdigest()
    path = ddas.fetch(url, known_hash=f"sha256:{sha}")
    assert Registry().copies_for_digest(f"sha256:{sha}")[0].location == str(path)


def test_policy_error_raises_with_the_copies_and_policy_warn_downloads_again(
    ddas_env: dict[str, str], http_server: CountingServer
) -> None:
    url = http_server.add("y/big.zarr.zip", DATA)
    path = ddas.fetch(url)
    with pytest.raises(ddas.DuplicateDownloadError) as info:
        ddas.fetch(url, policy="error")
    assert info.value.copies[0].location == str(path)
    http_server.reset()
    assert ddas.fetch(url, policy="warn") == path
    assert http_server.body_bytes() == len(DATA)
    with pytest.raises(ValueError, match="policy"):
        ddas.fetch(url, policy="sometimes")


def test_a_corrupted_copy_is_never_handed_out(
    ddas_env: dict[str, str], http_server: CountingServer
) -> None:
    url = http_server.add("z/table.parquet", DATA)
    path = ddas.fetch(url)
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:  # same size, different bytes, new mtime
        f.write(b"garbage!")
    http_server.reset()
    again = ddas.fetch(url)
    assert http_server.body_bytes() == len(DATA)  # re-downloaded, not the corrupt one
    assert again.read_bytes() == DATA
    verify = [e for e in Registry().events() if e.kind == "verify"]
    assert [e.detail["state"] for e in verify] == ["corrupt"]
    quarantined = list((Path(ddas_env["DDAS_STORE"]) / ".corrupt").iterdir())
    assert len(quarantined) == 1 and quarantined[0].read_bytes().startswith(b"garbage!")


def test_dest_gets_a_hard_link_not_a_second_copy(
    ddas_env: dict[str, str], http_server: CountingServer, tmp_path: Path
) -> None:
    url = http_server.add("w/era5.grib", DATA)
    stored = ddas.fetch(url)
    mine = ddas.fetch(url, dest=f"{tmp_path}/project/data/")  # a folder, by its trailing slash
    assert mine == tmp_path / "project" / "data" / "era5.grib"
    assert os.path.samefile(mine, stored)


def test_open_reads_the_reused_copy_in_text_and_binary(
    ddas_env: dict[str, str], http_server: CountingServer
) -> None:
    url = http_server.add("t/readme.txt", b"hello\nworld\n")
    with ddas.open(url, "r", encoding="utf-8") as f:
        assert f.read().splitlines() == ["hello", "world"]
    with ddas.open(url) as f:
        assert f.read() == b"hello\nworld\n"
    with pytest.raises(ValueError, match="read-only"):
        ddas.open(url, "wb")


def test_local_paths_are_looked_up_never_copied(
    ddas_env: dict[str, str], tmp_path: Path, store_root: Path
) -> None:
    local = tmp_path / "mine.csv"
    local.write_text("a,b\n")
    assert ddas.fetch(str(local)) == local
    assert ddas.fetch(f"file://{local}") == local
    assert not store_root.exists() or not any(p.is_file() for p in store_root.rglob("*"))
    with pytest.raises(ddas.RemoteError):
        ddas.fetch(str(tmp_path / "absent.csv"))


def test_bad_urls_and_unreachable_hosts_register_nothing(
    ddas_env: dict[str, str], http_server: CountingServer
) -> None:
    with pytest.raises(ddas.InvalidURLError):
        ddas.fetch("http://")
    with pytest.raises(ddas.RemoteError, match="404"):
        ddas.fetch(http_server.url("nope.nc"))
    with pytest.raises(ddas.RemoteError, match="cannot reach"):
        ddas.fetch("http://127.0.0.1:9/data.nc")  # discard port: connection refused
    assert Registry().search().total == 0


def test_lookup_and_lookup_status_do_not_download(
    ddas_env: dict[str, str], http_server: CountingServer
) -> None:
    url = http_server.add("l/data.h5", DATA)
    assert ddas.lookup(url) == []
    assert ddas.api.lookup_status(url)["status"] == "miss"
    path = ddas.fetch(url)
    http_server.reset()
    assert [c.location for c in ddas.lookup(url)] == [str(path)]
    status = ddas.api.lookup_status(url)
    assert status["status"] == "hit" and status["copies"][0]["location"] == str(path)
    http_server.add("l/data.h5", DATA + b"v2")
    assert ddas.api.lookup_status(url)["status"] == "new_version"
    assert http_server.body_bytes() == 0


def test_duplicates_and_stats_are_dataframes(
    ddas_env: dict[str, str],
    http_server: CountingServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    url = http_server.add("d/obs.nc", DATA)
    stored = ddas.fetch(url)
    monkeypatch.setenv("DDAS_USER", "bob")
    ddas.fetch(url)
    copy = tmp_path / "bob-copy.nc"
    copy.write_bytes(DATA)
    st = copy.stat()
    Registry().register_file(
        str(copy),
        size=len(DATA),
        blake3=file_blake3(stored),
        device=st.st_dev,
        inode=st.st_ino,
        owner="bob",
    )
    dupes = ddas.duplicates()
    assert list(dupes["wasted_bytes"]) == [len(DATA)]
    assert sorted(dupes["paths"][0]) == sorted([str(stored), str(copy)])
    stats = ddas.stats()
    bob = stats.set_index("user").loc["bob"]
    assert bob["reuses"] == 1 and bob["bytes_saved"] == len(DATA)
    assert stats.attrs["wasted_bytes"] == len(DATA)


@pytest.fixture
def small_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ddas_env: dict[str, str]):
    """A store on its own 1 MiB tmpfs (a real full disk, ENOSPC from the kernel); yields a
    function growing it, as an admin freeing space would."""
    import subprocess

    root = tmp_path / "small"
    root.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(root)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    monkeypatch.setenv("DDAS_STORE", str(root / "store"))

    def grow(size: str) -> None:
        subprocess.run(["mount", "-o", f"remount,size={size}", str(root)], check=True)

    yield root / "store", grow
    subprocess.run(["umount", "-l", str(root)], check=False)


def test_a_full_store_is_a_clear_error_and_the_next_fetch_resumes(
    small_store, http_server: CountingServer
) -> None:
    store, grow = small_store
    url = http_server.add("full/era5.nc", DATA)  # 2.5 MB into 1 MiB
    with pytest.raises(ddas.StoreFullError, match=r"store .* is full .* resumes it") as err:
        ddas.fetch(url, progress=False)
    assert isinstance(err.value, OSError) and err.value.kept and 0 < err.value.received < len(DATA)
    assert str(store) in str(err.value)
    assert Registry().search().total == 0  # no row points at a half-written file
    assert {p.parent.name for p in store.rglob("*") if p.is_file()} == {".tmp"}  # no final file
    assert len(list((store / ".tmp").glob("*.part"))) == 1  # one partial (and its sidecar)

    grow("8m")  # the admin frees space
    http_server.reset()
    path = ddas.fetch(url, progress=False)
    assert (
        path.read_bytes() == DATA and file_blake3(path) == Registry().copies_for_url(url)[0].blake3
    )
    assert http_server.body_bytes() == len(DATA) - err.value.received  # resumed, not restarted
