"""The store's lifecycle on real trees: gc, verify and reclaim, dry runs first, acting on --apply.

The trees hold what shared storage holds: stored files, a crash's orphan, stale and fresh partial
downloads, hard links, symbolic links, read-only copies and another user's copy. The command-line
tests run ``ddas`` in a subprocess, as an admin's cron job would.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import blake3
import pytest

from ddas import config
from ddas.scanning import scan
from ddas.scanning.lifecycle import gc, verify
from ddas.scanning.reclaim import reclaim
from ddas.store import Store
from tests.test_scan_cli import run_cli


def _stored(store: Store, data: bytes, name: str) -> tuple[Path, str]:
    digest = blake3.blake3(data).hexdigest()
    temp = store.temp_path(f"test:{name}")
    temp.write_bytes(data)
    return store.commit(temp, digest, name), digest


def _register(registry, path: Path, digest: str) -> None:
    st = path.stat()
    registry.register_file(
        str(path),
        size=st.st_size,
        blake3=digest,
        mtime_ns=st.st_mtime_ns,
        device=st.st_dev,
        inode=st.st_ino,
    )


def test_gc_reports_then_removes_orphans_and_stale_partials(registry, store: Store) -> None:
    kept, digest = _stored(store, b"kept dataset" * 100, "kept.nc")
    _register(registry, kept, digest)
    orphan, _ = _stored(store, b"nobody registered me" * 100, "orphan.nc")
    stale = store.tmp / "abc.1234.part"
    stale.write_bytes(b"partial")
    old = time.time() - 7 * 86400
    os.utime(stale, (old, old))
    fresh = store.tmp / "def.5678.part"  # a download in flight: never touched
    fresh.write_bytes(b"in flight")

    dry = gc(registry, store)

    assert dry.orphans == [str(orphan)] and dry.stale_temps == [str(stale)]
    assert dry.freed_bytes == orphan.stat().st_size + 7 and dry.removed == 0
    assert orphan.exists() and stale.exists()

    done = gc(registry, store, apply=True)

    assert done.removed == 2 and not orphan.exists() and not stale.exists()
    assert kept.exists() and fresh.exists()
    assert gc(registry, store).orphans == []


def test_verify_marks_and_quarantines_only_store_files(registry, store: Store, tmp_path) -> None:
    stored, digest = _stored(store, b"stored" * 1000, "stored.nc")
    _register(registry, stored, digest)
    home = tmp_path / "home"
    home.mkdir()
    users = home / "mine.nc"
    users.write_bytes(b"stored" * 1000)
    _register(registry, users, digest)
    gone = home / "gone.nc"
    gone.write_bytes(b"soon gone" * 10)
    _register(registry, gone, blake3.blake3(gone.read_bytes()).hexdigest())
    gone.unlink()
    for path in (stored, users):  # same size, other bytes: only a re-hash tells
        os.chmod(path, 0o644)
        path.write_bytes(b"STORED" * 1000)

    dry = verify(registry, store)

    assert sorted(dry.corrupt) == sorted([str(stored), str(users)]) and dry.missing == [str(gone)]
    assert {c.state for c in registry.copies_for_digest(digest)} == {"present"}  # dry: no marks

    done = verify(registry, store, apply=True)

    assert len(done.quarantined) == 1 and Path(done.quarantined[0]).parent.name == ".corrupt"
    assert not stored.exists() and users.read_bytes() == b"STORED" * 1000  # the user's stays
    states = {c.location: c.state for c in registry.known_copies_under(_host(), "/")}
    assert states[str(stored)] == states[str(users)] == "corrupt"
    assert states[str(gone)] == "missing"
    assert verify(registry, store, sample=1).checked == 0  # nothing present with a hash is left


def _host() -> str:
    from ddas import config

    return config.hostname()


@pytest.fixture
def dupes(tmp_path: Path) -> Path:
    """a.nc and its copy b.nc; c.nc a hard link of a; d.nc a symlink to a; e.nc a read-only copy;
    f.nc a copy owned by another user (uid 12345)."""
    root = tmp_path / "project"
    root.mkdir()
    data = os.urandom(50_000)
    for name in ("a.nc", "b.nc", "e.nc", "f.nc"):
        (root / name).write_bytes(data)
        os.chmod(root / name, 0o644)
    os.utime(root / "a.nc", (1e9, 1e9))  # the oldest: the one kept
    os.link(root / "a.nc", root / "c.nc")
    (root / "d.nc").symlink_to(root / "a.nc")
    os.chmod(root / "e.nc", 0o444)
    if os.geteuid() == 0:
        os.chown(root / "f.nc", 12345, 12345)
    return root


def test_reclaim_links_only_where_owner_and_mode_allow(registry, dupes: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("a copy owned by another user needs root to make (CI runs as root)")
    before = scan([dupes], min_size=1, registry=registry)
    assert before.summary()["wasted_bytes"] == 3 * 50_000  # b, e, f (c is a link)
    inode = (dupes / "a.nc").stat().st_ino

    dry = reclaim(registry)

    assert [r["path"] for r in dry.linked] == [str(dupes / "b.nc")]
    reasons = {Path(r["path"]).name: r["reason"] for r in dry.skipped}
    assert "mode 444" in reasons["e.nc"] and "another owner" in reasons["f.nc"]
    assert (dupes / "b.nc").stat().st_ino != inode  # a dry run changes nothing

    done = reclaim(registry, apply=True)

    assert done.reclaimed_bytes == 50_000 and (dupes / "b.nc").stat().st_ino == inode
    assert (dupes / "b.nc").read_bytes() == (dupes / "a.nc").read_bytes()
    assert (dupes / "d.nc").is_symlink() and (dupes / "e.nc").stat().st_mode & 0o777 == 0o444
    after = scan([dupes], min_size=1, registry=registry)
    assert after.summary()["wasted_bytes"] == 2 * 50_000 and after.summary()["hashed_bytes"] == 0

    forced = reclaim(registry, apply=True, force_owner=True)

    assert [Path(r["path"]).name for r in forced.linked] == ["f.nc"]
    assert (dupes / "f.nc").stat().st_ino == inode


def test_reclaim_never_replaces_a_copy_that_changed_since_the_scan(registry, dupes: Path) -> None:
    scan([dupes], min_size=1, registry=registry)
    (dupes / "b.nc").write_bytes(os.urandom(50_000))  # edited after the scan, same size

    report = reclaim(registry, apply=True)

    assert report.linked == [] and any("differ" in r["reason"] for r in report.skipped)


def test_reflink_mode_on_a_file_system_without_reflinks_skips_with_a_reason(
    registry, dupes: Path
) -> None:
    scan([dupes], min_size=1, registry=registry)
    report = reclaim(registry, apply=True, mode="reflink")
    if report.linked:  # Btrfs/XFS: cloned, separate inodes, same bytes
        assert all(r["how"] == "reflink" for r in report.linked)
        assert (dupes / "b.nc").stat().st_ino != (dupes / "a.nc").stat().st_ino
    else:
        assert any("reflink" in r["reason"] for r in report.skipped)
    assert (dupes / "b.nc").read_bytes() == (dupes / "a.nc").read_bytes()


def test_lifecycle_commands_are_dry_runs_with_json_reports(
    ddas_env, registry, store: Store, dupes: Path
) -> None:
    scan([dupes], min_size=1, registry=registry)
    orphan, _ = _stored(store, b"orphan" * 10, "o.nc")

    gc_report = json.loads(run_cli("-m", "ddas.scanning", "gc", "--json").stdout)
    verify_report = json.loads(run_cli("-m", "ddas.scanning", "verify", "--json").stdout)
    reclaim_report = json.loads(run_cli("-m", "ddas.scanning", "reclaim", "--json").stdout)

    assert gc_report["orphans"] == [str(orphan)] and not gc_report["applied"] and orphan.exists()
    assert verify_report["checked"] >= 4 and verify_report["corrupt"] == []
    assert reclaim_report["applied"] is False and str(dupes / "b.nc") in {
        r["path"] for r in reclaim_report["linked"]
    }
    human = run_cli("-m", "ddas.scanning", "gc", "--apply").stdout
    assert "removed 1 files" in human and not orphan.exists()


def test_gc_forgets_contents_no_copy_is_left_of_but_keeps_annotated_and_present_ones(
    registry, store: Store, tmp_path: Path
) -> None:
    from tests.recount import recount, reported

    home = tmp_path / "home"
    home.mkdir()
    paths = {}
    for name in ("kept", "forgotten", "missing", "annotated"):
        paths[name] = home / f"{name}.nc"
        paths[name].write_bytes(name.encode() * 500)
        _register(registry, paths[name], blake3.blake3(paths[name].read_bytes()).hexdigest())
    copies = {c.location: c for c in registry.known_copies_under(config.hostname(), str(home))}
    ids = {name: copies[str(p)].id for name, p in paths.items()}
    registry.forget_copy(ids["forgotten"])
    registry.mark_missing([ids["missing"]])
    annotated = registry.copy(ids["annotated"])
    registry.annotate(content_id=annotated.content_id, user="alice", admin=True, tags=["keep"])
    registry.forget_copy(ids["annotated"])
    forgotten_b3 = {copies[str(paths[n])].blake3 for n in ("forgotten", "missing")}

    dry = gc(registry, store)

    assert {c["blake3"] for c in dry.contents_without_copies} == forgotten_b3
    assert dry.forgotten_contents == 0 and registry.contents_without_copies() != []

    done = gc(registry, store, apply=True)

    assert done.forgotten_contents == 2 and registry.contents_without_copies() == []
    assert all(registry.content_id_for_digest(b3) is None for b3 in forgotten_b3)
    assert registry.content_id_for_digest(copies[str(paths["kept"])].blake3) is not None
    assert registry.content_id_for_digest(copies[str(paths["annotated"])].blake3) is not None
    # the missing copy's row went with its content; the kept copy is untouched
    left = {c.location for c in registry.known_copies_under(config.hostname(), str(home))}
    assert left == {str(paths["kept"])}
    assert reported(registry) == recount(registry)  # the tallies lost them exactly
    assert gc(registry, store).contents_without_copies == []


def test_gc_keeps_a_content_that_gains_a_copy_before_apply(registry, store: Store, tmp_path):
    path = tmp_path / "back.nc"
    path.write_bytes(b"comes back" * 100)
    digest = blake3.blake3(path.read_bytes()).hexdigest()
    _register(registry, path, digest)
    copy = registry.known_copies_under(config.hostname(), str(path))[0]
    registry.forget_copy(copy.id)
    left = registry.contents_without_copies()
    assert [c.blake3 for c in left] == [digest]
    _register(registry, path, digest)  # a scan finds it again between the report and --apply

    assert registry.forget_contents([c.id for c in left]) == []
    assert registry.content_id_for_digest(digest) is not None
