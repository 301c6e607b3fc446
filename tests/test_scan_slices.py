"""A rescan compares the walk with the registry's memory a slice at a time (issue 14: a million
files rescanned in under 1 GiB), and lets each known copy go once its file is walked.

Whatever the order in which walked files and known copies meet, every file must get the status it
would get if the registry's memory had been there first: unchanged, changed, new - and the copies
never walked are the ones looked at for ``missing``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ddas.registry import known
from ddas.registry.known import KnownCopy, known_copies, known_copy_slices
from ddas.scanning import scan
from ddas.scanning.plan import Plan
from ddas.scanning.walk import Excluder, FileEntry, LocalWalk
from tests.test_scan import _host, jdupes_groups, report_groups
from tests.test_scan_bounds import small_tree

B3 = "ab" * 32


def _file(name: str, size: int, inode: int) -> FileEntry:
    return FileEntry(f"/shared/{name}", size, 1_000, 42, inode, 1000)


def _copy(id_: int, name: str, size: int, inode: int, blake3: str | None) -> KnownCopy:
    state = "present" if blake3 else "unhashed"
    return KnownCopy(id_, f"/shared/{name}", state, size, 1_000, 42, inode, blake3)


SAME, GROWN, NEW = _file("same.nc", 10, 1), _file("grown.nc", 11, 2), _file("new.nc", 12, 3)
COPIES = [
    _copy(1, "same.nc", 10, 1, B3),
    _copy(2, "grown.nc", 10, 2, "cd" * 32),  # was 10 bytes: changed, hashed again
    _copy(3, "gone.nc", 13, 4, None),  # never walked: a candidate for missing
]
ORDERS = {
    "memory first": [("learn", COPIES), ("add", [SAME, GROWN, NEW])],
    "walk first": [("add", [SAME, GROWN, NEW]), ("learn", COPIES)],
    "interleaved": [
        ("add", [GROWN]),
        ("learn", COPIES[2:]),
        ("add", [SAME, NEW]),
        ("learn", COPIES[:1]),
        ("learn", COPIES[1:2]),
    ],
}


@pytest.mark.parametrize("order", ORDERS)
def test_files_walked_before_or_after_their_known_copy_get_the_same_status(order: str) -> None:
    plan = Plan()
    for step, items in ORDERS[order]:
        getattr(plan, step)(items)
    assert plan.complete is False  # more slices might come: new.nc is not yet known to be new
    plan.learned_all()
    plan.finish()

    status = {e.location: s for e, s in zip(plan.entries, plan.status, strict=True)}
    assert status == {SAME[0]: "unchanged", GROWN[0]: "changed", NEW[0]: "new"}
    assert plan.blake3 == {SAME.ident: B3}  # the known hash of the unchanged file is reused
    assert plan.rehash == {GROWN.ident}
    assert plan.waiting == {}
    assert list(plan.known) == ["/shared/gone.nc"]  # every copy met was let go
    assert [k.id for k in plan.vanished()] == [3]
    assert plan.writes([SAME.ident]) == []  # unchanged, same hash: no row to write
    assert [e for e, _ in plan.writes([GROWN.ident, NEW.ident])] == [GROWN, NEW]


def test_known_copies_arrive_in_slices_of_at_most_fetch_rows(
    registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = small_tree(tmp_path / "small", n=50)
    scan([tree], min_size=1, registry=registry)
    monkeypatch.setattr(known, "FETCH", 7)

    slices = list(known_copy_slices(registry.engine, _host(), str(tree)))

    assert [len(s) for s in slices] == [7] * 7 + [1]
    whole = known_copies(registry.engine, _host(), str(tree))
    assert sorted(k for s in slices for k in s) == sorted(whole)
    assert {k.location for k in whole} == {str(p) for p in tree.rglob("*.dat")}


def test_a_rescan_whose_memory_arrives_in_many_slices_finds_every_change(
    registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = small_tree(tmp_path / "small", n=900)
    scan([tree], min_size=1, registry=registry)
    monkeypatch.setattr(known, "FETCH", 40)  # 23 slices over the walk of 91 folders
    gone, changed = tree / "d0/s0/f0.dat", tree / "d1/s1/f1.dat"
    gone.unlink()
    changed.write_bytes(changed.read_bytes()[::-1])  # same size, new content, new mtime
    os.utime(changed, ns=(1, 1))
    new = tree / "d2/s2/copy.dat"
    shutil.copyfile(tree / "d3/s3/f3.dat", new)

    report = scan([tree], min_size=1, registry=registry)

    status = dict(zip(report.files["path"], report.files["status"], strict=True))
    assert status.pop(str(changed)) == "changed" and status.pop(str(new)) == "new"
    assert set(status.values()) == {"unchanged"} and len(status) == 898
    assert report.counts()["missing"] == 1
    assert report_groups(report) == jdupes_groups(tree)
    copies = {c.location: c for c in known_copies(registry.engine, _host(), str(tree))}
    assert copies[str(gone)].state == "missing"
    assert copies[str(new)].blake3 == copies[str(tree / "d3/s3/f3.dat")].blake3 is not None
    again = scan([tree], min_size=1, registry=registry)
    assert again.counts()["unchanged"] == again.summary()["files"] == 900
    assert again.counts()["registered"] == 0 and again.summary()["hashed_bytes"] == 0


def test_the_walk_enters_subfolders_in_name_order(tmp_path: Path) -> None:
    for folder in ("b", "a/z", "a/m", "c", "a-b"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "f.dat").write_bytes(b"x")
    walk = LocalWalk(min_size=1, exclude=Excluder(), follow_symlinks=False, errors=[])

    order = [os.path.dirname(batch[0].location) for batch in walk.walk(str(tmp_path))]

    names = [os.path.relpath(p, tmp_path) for p in order]
    assert names == ["a/m", "a/z", "a-b", "b", "c"]


def test_a_scan_whose_registry_cannot_be_opened_says_so_instead_of_waiting_for_it(
    tmp_path: Path,
) -> None:
    from ddas.errors import ServiceRegistryError

    tree = small_tree(tmp_path / "small", n=200)  # 91 folders: the walk polls for slices often

    with pytest.raises(ServiceRegistryError):  # no slice ever comes: the opening's error does
        scan([tree], min_size=1, registry="hub://ddas")
