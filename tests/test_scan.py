"""Scanning shared storage: the duplicates found are exactly jdupes', and rescans are incremental.

The tree below is what a group's project space looks like after a few years of ``wget``: copies of
the same dataset in several folders, a re-download that was truncated and patched (same size, same
head, different tail), hard links (never waste), symbolic links, empty files, a FIFO and a dangling
link. ``jdupes -r`` (Debian's jdupes) is the reference for which files are duplicates.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ddas.scanning import ScanReport, hash_unhashed, scan

KiB = 1024


def _bytes(n: int, seed: int) -> bytes:
    import random

    return random.Random(seed).randbytes(n)


def make_tree(root: Path) -> Path:
    """A small tree with every case a scan must get right (see the module docstring)."""
    for d in ("raw", "alice/era5", "bob/downloads", "carol/copies", "dupes5", "big"):
        (root / d).mkdir(parents=True, exist_ok=True)
    a = _bytes(200 * KiB, 1)
    (root / "raw/era5.nc").write_bytes(a)
    (root / "alice/era5/era5.nc").write_bytes(a)
    (root / "bob/downloads/era5 (1).nc").write_bytes(a)
    os.link(root / "raw/era5.nc", root / "raw/era5-hardlink.nc")  # linked, not waste
    (root / "bob/downloads/era5-partial.nc").write_bytes(a[:-1] + bytes([a[-1] ^ 1]))  # tail
    middle = bytearray(a)
    middle[100 * KiB] ^= 0xFF  # same size, head and tail as era5.nc: only a full hash tells
    (root / "carol/copies/era5-middle.nc").write_bytes(bytes(middle))
    small = _bytes(3000, 2)
    (root / "raw/station.csv").write_bytes(small)
    (root / "carol/copies/station.csv").write_bytes(small)
    (root / "carol/copies/other-station.csv").write_bytes(_bytes(3000, 3))  # same size only
    (root / "raw/unique.bin").write_bytes(_bytes(123_457, 4))
    five = _bytes(70 * KiB, 5)
    for i in range(5):
        (root / f"dupes5/part{i}.tar.gz").write_bytes(five)
    big = _bytes(9 * 1024 * KiB, 6)  # above the mmap threshold of ddas.hashes.file_blake3
    (root / "big/model.h5").write_bytes(big)
    (root / "alice/model.h5").write_bytes(big)
    (root / "raw/empty1").touch()
    (root / "bob/empty2").touch()
    (root / "alice/era5-link.nc").symlink_to(root / "raw/era5.nc")
    (root / "bob/dangling.nc").symlink_to(root / "nowhere.nc")
    os.mkfifo(root / "bob/pipe")
    return root


def jdupes_groups(root: Path) -> set[frozenset[tuple[int, int]]]:
    """jdupes' duplicate sets, as sets of inodes (it lists one path per hard-linked inode)."""
    if shutil.which("jdupes") is None:
        pytest.fail("jdupes is not installed: run `make chromium` or apt-get install jdupes")
    out = subprocess.run(
        ["jdupes", "-r", "-q", str(root)], capture_output=True, text=True, check=True
    ).stdout
    groups = set()
    for block in out.strip().split("\n\n"):
        paths = [p for p in block.splitlines() if p]
        if paths:
            groups.add(frozenset((os.stat(p).st_dev, os.stat(p).st_ino) for p in paths))
    return groups


def report_groups(report: ScanReport) -> set[frozenset[tuple[int, int]]]:
    return {
        frozenset((os.stat(p).st_dev, os.stat(p).st_ino) for p in g["paths"])
        for g in report.groups()
    }


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "shared")


def test_duplicate_groups_equal_jdupes(registry, tree: Path) -> None:
    report = scan([tree], min_size=1, registry=registry)

    expected = jdupes_groups(tree)
    assert len(expected) == 4  # era5 x3 (+ hard link), station x2, part x5, model x2
    assert report_groups(report) == expected
    summary = report.summary()
    assert summary["duplicate_groups"] == 4
    assert summary["wasted_bytes"] == 2 * 200 * KiB + 3000 + 4 * 70 * KiB + 9 * 1024 * KiB
    # hard links are one copy: listed together, never counted as waste
    era5 = next(g for g in report.groups() if g["size"] == 200 * KiB)
    assert era5["copy_count"] == 3 and str(tree / "raw/era5-hardlink.nc") in era5["paths"]


def test_registry_knows_every_file_and_the_same_duplicates(registry, tree: Path) -> None:
    report = scan([tree], min_size=1, registry=registry)

    copies = {c.location: c for c in registry.known_copies_under(_host(), str(tree))}
    files = {
        str(p)
        for p in tree.rglob("*")
        if p.is_file() and not p.is_symlink() and p.stat().st_size > 0
    }
    assert set(copies) == files == set(report.files["path"])
    assert copies[str(tree / "raw/unique.bin")].state == "unhashed"  # lone size: never read
    assert copies[str(tree / "raw/era5.nc")].blake3 == _b3sum(tree / "raw/era5.nc")
    # near misses were read (sampled or hashed) but are not anyone's duplicate
    assert copies[str(tree / "carol/copies/era5-middle.nc")].blake3 == _b3sum(
        tree / "carol/copies/era5-middle.nc"
    )
    from_registry = {frozenset(g.paths) for g in registry.duplicates().items}
    assert from_registry == {frozenset(g["paths"]) for g in report.groups()}


def test_rescan_of_unchanged_tree_reads_nothing(registry, tree: Path) -> None:
    first = scan([tree], min_size=1, registry=registry)
    assert first.summary()["hashed_bytes"] > 0

    again = scan([tree], min_size=1, registry=registry)

    assert again.summary()["hashed_bytes"] == 0
    assert again.counts()["unchanged"] == again.summary()["files"] == first.summary()["files"]
    assert again.counts()["registered"] == 0
    assert report_groups(again) == report_groups(first)


def test_deleted_copy_becomes_missing_and_leaves_the_duplicates(registry, tree: Path) -> None:
    scan([tree], min_size=1, registry=registry)
    gone = tree / "carol/copies/station.csv"
    gone.unlink()

    report = scan([tree], min_size=1, registry=registry)

    assert report.counts()["missing"] == 1
    assert report.summary()["hashed_bytes"] == 0
    known = {c.location: c for c in registry.known_copies_under(_host(), str(tree))}
    assert known[str(gone)].state == "missing"
    assert all(str(gone) not in g.paths for g in registry.duplicates().items)
    assert report.summary()["duplicate_groups"] == 3


def test_changed_file_is_rehashed_and_new_copy_found(registry, tree: Path) -> None:
    scan([tree], min_size=1, registry=registry)
    changed = tree / "dupes5/part4.tar.gz"
    changed.write_bytes(_bytes(70 * KiB, 99))  # same size, new content
    shutil.copyfile(tree / "raw/unique.bin", tree / "bob/unique-again.bin")  # a lone size pairs up

    report = scan([tree], min_size=1, registry=registry)

    status = dict(zip(report.files["path"], report.files["status"], strict=True))
    assert status[str(changed)] == "changed" and status[str(tree / "bob/unique-again.bin")] == "new"
    assert report.summary()["hashed_bytes"] > 0
    assert report_groups(report) == jdupes_groups(tree)
    known = {c.location: c for c in registry.known_copies_under(_host(), str(tree))}
    assert known[str(changed)].blake3 == _b3sum(changed)
    assert known[str(tree / "raw/unique.bin")].blake3 == _b3sum(tree / "raw/unique.bin")


def test_min_size_and_exclude(registry, tree: Path) -> None:
    report = scan(
        [tree], min_size=64 * KiB, exclude=["*.tar.gz", f"{tree}/alice/*"], registry=registry
    )

    paths = set(report.files["path"])
    assert not any(p.endswith(".csv") or p.endswith(".tar.gz") for p in paths)
    assert not any(p.startswith(f"{tree}/alice/") for p in paths)
    assert {frozenset(g["paths"]) for g in report.groups()} == {
        frozenset(
            {
                str(tree / "raw/era5.nc"),
                str(tree / "raw/era5-hardlink.nc"),
                str(tree / "bob/downloads/era5 (1).nc"),
            }
        )
    }
    # excluded files that still exist are not "missing" on a later, narrower scan
    scan([tree], min_size=1, registry=registry)
    narrower = scan([tree], min_size=1, exclude=["alice"], registry=registry)
    assert narrower.counts()["missing"] == 0


def test_problems_are_reported_not_fatal(registry, tree: Path) -> None:
    """As root, chmod 000 does not stop a read, so the failures here are real ones root also
    meets: a dangling link, a FIFO (opening it would block), a file deleted after the walk saw
    it, and a file that grows while it is being read."""
    victim, growing = tree / "dupes5/part0.tar.gz", tree / "dupes5/part1.tar.gz"
    latin1 = os.path.join(os.fsencode(tree / "raw"), b"caf\xe9.nc")  # not UTF-8: no DB takes it
    with open(latin1, "wb") as f:
        f.write(b"x" * 10)

    def meddle(p) -> None:
        if p.phase == "read" and victim.exists():
            victim.unlink()
            with growing.open("ab") as f:
                f.write(b"more")

    report = scan([tree], min_size=1, registry=registry, on_progress=meddle)

    kinds = dict(zip(report.errors["path"], report.errors["kind"], strict=True))
    assert kinds[str(tree / "bob/dangling.nc")] == "broken-symlink"
    assert kinds[str(tree / "bob/pipe")] == "special-file"
    assert kinds[str(victim)] == "unreadable"
    assert kinds[str(growing)] == "changed"
    assert kinds[f"{tree}/raw/caf\ufffd.nc"] == "undecodable-name"
    part5 = next(g for g in report.groups() if g["size"] == 70 * KiB)
    assert part5["copy_count"] == 3  # the other three copies still found
    known = {c.location for c in registry.known_copies_under(_host(), str(tree))}
    assert str(growing) not in known  # never registered with a hash of half its bytes


def test_interrupt_keeps_what_was_registered(registry, tree: Path) -> None:
    def interrupt(p) -> None:
        if p.phase == "read":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        scan([tree], min_size=1, registry=registry, on_progress=interrupt)

    known = {c.location: c for c in registry.known_copies_under(_host(), str(tree))}
    assert known[str(tree / "raw/unique.bin")].state == "unhashed"  # settled before the reads
    assert str(tree / "raw/era5.nc") not in known  # its group was not resolved: not registered
    report = scan([tree], min_size=1, registry=registry)  # the next scan finishes the job
    assert report_groups(report) == jdupes_groups(tree)


def test_hash_unhashed_for_a_size_a_fetch_needs(registry, tree: Path) -> None:
    scan([tree], min_size=1, registry=registry)

    hashed = hash_unhashed(registry, size=123_457)

    assert [(c.location, c.state) for c in hashed] == [(str(tree / "raw/unique.bin"), "present")]
    assert hashed[0].blake3 == _b3sum(tree / "raw/unique.bin")
    assert registry.copies_for_digest(hashed[0].blake3)[0].location == str(tree / "raw/unique.bin")
    assert registry.unhashed_copies(size=123_457) == []


def test_followed_symlink_is_a_link_not_waste(registry, tree: Path) -> None:
    plain = scan([tree], min_size=1, registry=registry)
    followed = scan([tree], min_size=1, follow_symlinks=True, registry=registry)

    assert plain.skipped_symlinks == 1
    assert str(tree / "alice/era5-link.nc") in set(followed.files["path"])
    assert followed.summary()["wasted_bytes"] == plain.summary()["wasted_bytes"]


def test_report_tables(registry, tree: Path) -> None:
    report = scan([tree], min_size=1, registry=registry)

    assert report.duplicates["wasted_bytes"].sum() == report.summary()["wasted_bytes"]
    assert report.files["redundant"].sum() == sum(g["copy_count"] - 1 for g in report.groups())
    by_top = report.wasted_by("top")
    assert by_top["wasted_bytes"].sum() == report.summary()["wasted_bytes"]
    by_type = report.wasted_by("ext").set_index("ext")["wasted_bytes"].to_dict()
    assert by_type[".tar.gz"] == 4 * 70 * KiB
    assert set(report.wasted_by("owner")["owner"]) <= set(report.files["owner"])
    with pytest.raises(ValueError, match="by must be one of"):
        report.wasted_by("colour")


def test_progress_reaches_callback_and_bar(registry, tree: Path, capsys) -> None:
    seen = []

    report = scan(
        [tree],
        min_size=1,
        registry=registry,
        progress=True,
        on_progress=lambda p: seen.append((p.phase, p.files, p.bytes, p.hashed_bytes)),
    )

    phases = [phase for phase, *_ in seen]
    assert phases[0] == "walk" and phases[-1] == "done" and "read" in phases
    assert seen[-1][1:] == tuple(report.summary()[k] for k in ("files", "bytes", "hashed_bytes"))
    assert "ddas scan" in capsys.readouterr().err  # the tqdm bar


def test_ddas_scan_is_a_plain_function_whatever_was_imported(registry, tree: Path) -> None:
    import types

    import ddas.scanning.cli  # importing the implementation must not rebind ddas.scan

    assert isinstance(ddas.scan, types.FunctionType) and ddas.scan is scan
    report = ddas.scan(str(tree), min_size=1, registry=registry)
    assert isinstance(report, ScanReport) and report.summary()["duplicate_groups"] == 4


def test_missing_root_is_a_clear_error(registry, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        scan([tmp_path / "nope"], registry=registry)


def _host() -> str:
    from ddas import config

    return config.hostname()


def _b3sum(path: Path) -> str:
    """The BLAKE3 reference implementation's answer (Debian's b3sum)."""
    if shutil.which("b3sum") is None:
        pytest.fail("b3sum is not installed: run `make chromium` or apt-get install b3sum")
    out = subprocess.run(
        ["b3sum", "--no-names", str(path)], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def test_an_unchanged_rescan_reads_the_registry_once_writes_only_its_event_and_never_loads_the_orm(
    registry_url: str, tmp_path: Path
) -> None:
    import json
    import sys

    tree = make_tree(tmp_path / "tree")
    scan(tree, min_size=1, registry=registry_url)
    from ddas.registry import Registry

    registry = Registry(registry_url)

    def rows() -> tuple[list, list]:
        with registry.engine.connect() as conn:
            copies = conn.exec_driver_sql("SELECT * FROM copies ORDER BY id").all()
            contents = conn.exec_driver_sql("SELECT * FROM contents ORDER BY id").all()
        return copies, contents

    before, scans = rows(), len(registry.events(kinds=("scan",)))
    code = (
        "import json, sys\n"
        "from ddas.scanning import scan\n"
        "r = scan(sys.argv[1], min_size=1, registry=sys.argv[2])\n"
        "mods = [m for m in sys.modules if m.startswith(('sqlalchemy.orm', 'alembic'))]\n"
        "print(json.dumps({'summary': r.summary(), 'orm': mods}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tree), registry_url],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    result = json.loads(out.stdout)

    assert result["orm"] == [], "an unchanged rescan imported the ORM (or Alembic)"
    assert result["summary"]["hashed_bytes"] == 0 and result["summary"]["duplicate_groups"] > 0
    assert rows() == before  # nothing written: the same rows, to the last timestamp
    assert len(registry.events(kinds=("scan",))) == scans + 1  # but the scan is on record
