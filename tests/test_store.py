"""The shared store: atomic, group-shared, one file per content, and it notices damaged copies."""

from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ddas.hashes import file_blake3
from ddas.identity import Validators
from ddas.records import CopyInfo
from ddas.store import DIR_MODE, FILE_MODE, Store, safe_name

DATA = b"temperature,pressure\n" * 1000


@pytest.fixture
def strict_umask() -> Iterator[None]:
    """A user whose umask keeps everything private: the store must share anyway."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def write_temp(store: Store, key: str, data: bytes = DATA) -> Path:
    temp = store.temp_path(key)
    with store.open_temp(temp) as f:
        f.write(data)
        os.fsync(f.fileno())
    return temp


def blake3_of(data: bytes) -> str:
    import blake3

    return blake3.blake3(data).hexdigest()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def copy_of(path: Path, *, host: str = "", **overrides: object) -> CopyInfo:
    """The registry's view of a file right now (what record_download would have stored)."""
    st = path.stat()
    values: dict[str, object] = {
        "id": 1,
        "content_id": 1,
        "host": host,
        "location": str(path),
        "owner": "alice",
        "state": "present",
        "size": st.st_size,
        "in_store": False,
        "created": time.time(),
        "verified_at": time.time(),
        "mtime_ns": st.st_mtime_ns,
        "blake3": file_blake3(path),
    }
    values.update(overrides)
    return CopyInfo(**values)  # type: ignore[arg-type]


# -- committing ----------------------------------------------------------------------------------


def test_a_finished_download_lands_read_only_in_group_shared_folders_even_under_umask_077(
    tmp_path: Path, strict_umask: None
) -> None:
    store = Store(tmp_path / "shared" / "store")
    temp = write_temp(store, "https://example.org/era5.nc")
    assert mode(temp) == 0o664, "a temp file is group-writable so a colleague can resume it"
    b3 = blake3_of(DATA)

    final = store.commit(temp, b3, "era5.nc")

    assert final == store.root / b3[:2] / b3 / "era5.nc"
    assert final.read_bytes() == DATA
    assert not temp.exists(), "the temp file is gone once the final file exists"
    assert mode(final) == FILE_MODE == 0o444
    for folder in (tmp_path / "shared", store.root, store.tmp, final.parent.parent, final.parent):
        assert mode(folder) == DIR_MODE, folder
        assert folder.stat().st_mode & stat.S_ISGID, f"{folder} lacks setgid"
    assert list(store.tmp.iterdir()) == []


def test_committing_an_already_stored_content_keeps_one_file(store: Store) -> None:
    b3 = blake3_of(DATA)
    first = store.commit(write_temp(store, "https://a.example.org/era5.nc"), b3, "era5.nc")
    mirror_temp = write_temp(store, "https://mirror.example.org/copy-of-era5.nc")

    second = store.commit(mirror_temp, b3, "copy-of-era5.nc")

    assert second == first
    assert [p.name for p in first.parent.iterdir()] == ["era5.nc"]
    assert not mirror_temp.exists()
    assert store.existing(b3) == first
    assert store.existing("0" * 64) is None


def test_simultaneous_commits_of_one_download_leave_one_file(store: Store) -> None:
    b3 = blake3_of(DATA)
    temps = [write_temp(store, "https://example.org/era5.nc") for _ in range(8)]
    barrier = threading.Barrier(len(temps))
    results: list[Path] = []

    def commit(temp: Path) -> None:
        barrier.wait()
        results.append(store.commit(temp, b3, "era5.nc"))

    threads = [threading.Thread(target=commit, args=(t,)) for t in temps]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(set(results)) == 1 and len(results) == 8
    assert [p.name for p in results[0].parent.iterdir()] == ["era5.nc"]
    assert results[0].read_bytes() == DATA
    assert list(store.tmp.iterdir()) == []


@pytest.mark.parametrize(
    ("hostile", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system.ini", "system.ini"),
        ("..", "data"),
        (".", "data"),
        ("", "data"),
        ("   ", "data"),
        ("dir/", "data"),
        ("a\x00b\nc.nc", "a_b_c.nc"),
        ("era5\ud800.nc", "era5_.nc"),
        ("  era5 2020.nc ", "era5 2020.nc"),
    ],
)
def test_hostile_names_become_safe_file_names(hostile: str, expected: str) -> None:
    assert safe_name(hostile) == expected


def test_overlong_names_are_cut_to_fit_the_file_system_and_keep_their_extension() -> None:
    for long in ["x" * 1000 + ".nc", "é" * 300 + ".tar.gz", "日本" * 200]:
        name = safe_name(long)
        assert 0 < len(os.fsencode(name)) <= 200
        assert long.startswith(name.rsplit(".", 1)[0][:10])
    assert safe_name("é" * 300 + ".nc").endswith("é.nc")


def test_a_hostile_name_cannot_escape_the_content_folder(store: Store) -> None:
    b3 = blake3_of(DATA)
    final = store.commit(write_temp(store, "k"), b3, "../../../" + "é" * 300 + ".nc")
    assert final.parent == store.content_dir(b3)
    assert final.name.endswith(".nc") and final.read_bytes() == DATA


# -- temp files ----------------------------------------------------------------------------------


def test_cleanup_removes_only_temp_files_older_than_a_lease(store: Store) -> None:
    old = [write_temp(store, f"dead-{i}") for i in range(3)]
    fresh = write_temp(store, "alive")
    other = store.tmp / "notes.txt"
    other.write_text("not a partial download")
    long_ago = time.time() - 3600
    for path in [*old, other]:
        os.utime(path, (long_ago, long_ago))

    assert store.cleanup(max_age=600) == 3

    assert sorted(store.tmp.iterdir()) == sorted([fresh, other])
    assert store.cleanup(max_age=600) == 0


def test_partials_are_kept_for_days_by_default_so_a_retry_tomorrow_resumes(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DDAS_PARTIAL_DAYS", raising=False)
    temp = write_temp(store, "k")
    day = 86400
    os.utime(temp, (time.time() - day, time.time() - day))
    assert store.cleanup() == 0, "a day-old partial is still worth resuming"
    os.utime(temp, (time.time() - 8 * day, time.time() - 8 * day))
    assert store.cleanup() == 1, "older than the default 7 days"
    other = write_temp(store, "k2")
    os.utime(other, (time.time() - day, time.time() - day))
    monkeypatch.setenv("DDAS_PARTIAL_DAYS", "0.5")
    assert store.cleanup() == 1 and not other.exists()


def test_a_store_short_of_space_drops_the_oldest_idle_partials_first(store: Store) -> None:
    import shutil

    from ddas import partials

    idle_old = write_temp(store, "old")
    idle_newer = write_temp(store, "newer")
    in_flight = write_temp(store, "busy")
    now = time.time()
    os.utime(idle_old, (now - 7200, now - 7200))
    os.utime(idle_newer, (now - 3600, now - 3600))
    partials.write_meta(idle_old, partials.PartialMeta("https://example.org/old"))
    # A download bigger than the free space: everything idle may go, but not a live writer's file.
    too_big = shutil.disk_usage(store.tmp).free + 1
    assert store.cleanup(need_bytes=too_big) == 2
    assert not idle_old.exists() and not partials.meta_path(idle_old).exists()
    assert not idle_newer.exists() and in_flight.exists()
    # With room to spare, idle partials stay.
    kept = write_temp(store, "kept")
    os.utime(kept, (now - 7200, now - 7200))
    assert store.cleanup(need_bytes=1) == 0 and kept.exists()


def test_a_new_lease_holder_adopts_the_largest_partial_of_its_download(store: Store) -> None:
    key = "https://example.org/era5.nc"
    small = write_temp(store, key, DATA[:100])
    large = write_temp(store, key, DATA[:5000])
    someone_elses = write_temp(store, "https://example.org/other.nc", DATA[:9000])

    adopted = store.adopt_partial(key)

    assert adopted is not None and adopted.read_bytes() == DATA[:5000]
    assert adopted not in (small, large), "renamed, so a late writer cannot touch it"
    assert not small.exists() and not large.exists()
    assert someone_elses.exists(), "partials of other downloads are left alone"
    assert store.adopt_partial("https://example.org/never-started.nc") is None
    with store.open_temp(adopted, append=True) as f:  # resume appends to the adopted partial
        f.write(DATA[5000:])
    assert adopted.read_bytes() == DATA


# -- verification --------------------------------------------------------------------------------


@pytest.fixture
def stored(store: Store) -> Path:
    return store.commit(write_temp(store, "k"), blake3_of(DATA), "era5.nc")


def _rewrite(path: Path, data: bytes) -> None:
    """Change a read-only stored file in place (what a careless `chmod +w; edit` does)."""
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        f.truncate(0)
        f.write(data)


def test_an_unchanged_copy_is_trusted_without_rehashing(store: Store, stored: Path) -> None:
    verdict = store.verify(copy_of(stored))
    assert (verdict.ok, verdict.state, verdict.rehashed) == (True, "present", False)


def test_a_copy_modified_with_the_same_size_is_rehashed_and_found_corrupt(
    store: Store, stored: Path
) -> None:
    copy = copy_of(stored)
    _rewrite(stored, DATA.replace(b"temperature", b"TEMPERATURE", 1))
    assert stored.stat().st_size == copy.size
    os.utime(stored, ns=(copy.mtime_ns + 10**9, copy.mtime_ns + 10**9))

    verdict = store.verify(copy)

    assert (verdict.ok, verdict.state, verdict.rehashed) == (False, "corrupt", True)


def test_a_modification_that_restores_the_mtime_is_caught_by_an_explicit_rehash(
    store: Store, stored: Path
) -> None:
    copy = copy_of(stored)
    _rewrite(stored, DATA.replace(b"pressure", b"PRESSURE", 1))
    os.utime(stored, ns=(copy.mtime_ns, copy.mtime_ns))
    assert store.verify(copy).ok, "the cheap check trusts (size, mtime) by design"
    assert store.verify(copy, rehash=True).state == "corrupt"


def test_a_truncated_copy_is_corrupt_without_reading_it(store: Store, stored: Path) -> None:
    copy = copy_of(stored)
    _rewrite(stored, DATA[:-1])
    verdict = store.verify(copy)
    assert (verdict.ok, verdict.state, verdict.rehashed) == (False, "corrupt", False)


def test_a_touched_but_intact_copy_is_rehashed_and_still_present(
    store: Store, stored: Path
) -> None:
    copy = copy_of(stored)
    os.utime(stored, ns=(copy.mtime_ns + 5, copy.mtime_ns + 5))
    verdict = store.verify(copy)
    assert (verdict.ok, verdict.state, verdict.rehashed) == (True, "present", True)


def test_a_copy_registered_without_an_mtime_is_rehashed_rather_than_trusted(
    store: Store, stored: Path
) -> None:
    copy = copy_of(stored, mtime_ns=None)
    _rewrite(stored, DATA.replace(b"temperature", b"TEMPERATURE", 1))
    verdict = store.verify(copy)
    assert (verdict.ok, verdict.state, verdict.rehashed) == (False, "corrupt", True)


def test_a_deleted_copy_is_missing(store: Store, stored: Path) -> None:
    copy = copy_of(stored)
    stored.unlink()
    assert (store.verify(copy).ok, store.verify(copy).state) == (False, "missing")


def test_a_path_on_another_machine_is_never_judged_from_here(
    store: Store, stored: Path, tmp_path: Path
) -> None:
    elsewhere = copy_of(stored, host="laptop-of-bob", location=str(tmp_path / "nope.nc"))
    assert store.verify(elsewhere).state == "unreachable", "not 'missing': it is not ours to see"
    in_shared_store = copy_of(stored, host="another-pod")
    assert store.verify(in_shared_store).ok, "the shared store is the same files on every host"
    stored.unlink()
    assert store.verify(in_shared_store).state == "missing"


def test_a_corrupt_copy_is_marked_and_no_longer_handed_out(registry, store: Store) -> None:
    url = "https://data.example.org/era5.nc"
    final = store.commit(write_temp(store, url), blake3_of(DATA), "era5.nc")
    st = final.stat()
    registry.record_download(
        url=url,
        validators=Validators(etag='"v1"', size=len(DATA)),
        blake3=blake3_of(DATA),
        size=len(DATA),
        location=str(final),
        mtime_ns=st.st_mtime_ns,
        device=st.st_dev,
        inode=st.st_ino,
    )
    [copy] = registry.copies_for_url(url)
    assert store.verify(copy).ok

    _rewrite(final, DATA[::-1])  # same size, other bytes
    os.utime(final, ns=(st.st_mtime_ns + 10**9,) * 2)
    verdict = store.verify(copy)
    assert verdict.state == "corrupt"
    registry.mark_copy(copy.id, verdict.state, detail={"by": "test"})

    assert registry.copies_for_url(url) == []
    assert registry.copies_for_digest(blake3_of(DATA)) == []
    [marked] = registry.copies_for_url(url, states=("corrupt",))
    assert marked.id == copy.id and marked.state == "corrupt"
    [event] = registry.events(kinds=("verify",))
    assert event.copy_id == copy.id and event.detail == {"state": "corrupt", "by": "test"}
