"""Scans stay inside their roots, and many small files give exactly jdupes' groups.

A link inside a scan root that leads to ``/etc`` must not take an admin's scan there: roots and every
folder entered are resolved, and a followed link that resolves outside the roots is skipped and
counted. The decoys have the sizes of ``/etc/shadow`` and ``/etc/passwd``, so a scan that did walk
``/etc`` would have to read those files to tell them from the decoys.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

from ddas.scanning import scan
from tests.test_scan import _host, jdupes_groups, report_groups


def _decoys(root: Path) -> None:
    for name in ("shadow", "passwd", "hostname"):
        try:
            size = os.stat(f"/etc/{name}").st_size
        except OSError:
            continue
        (root / f"decoy-{name}").write_bytes(b"d" * size)


def test_a_link_to_etc_is_skipped_and_counted(registry, tmp_path: Path) -> None:
    root = tmp_path / "shared"
    (root / "project").mkdir(parents=True)
    _decoys(root / "project")
    (root / "project/etc").symlink_to("/etc")
    (root / "project/passwd-link").symlink_to("/etc/passwd")
    (root / "inside").mkdir()
    (root / "inside/data.bin").write_bytes(b"x" * 5000)
    (root / "project/inside-link.bin").symlink_to(root / "inside/data.bin")

    report = scan([root], min_size=1, follow_symlinks=True, registry=registry)

    paths = set(report.files["path"])
    assert not any("/etc" in p.removeprefix(str(tmp_path)) for p in paths), paths
    assert report.outside_roots == 2 and report.counts()["outside_roots"] == 2
    assert str(root / "project/inside-link.bin") in paths  # a link inside the roots: followed
    known = {c.location for c in registry.known_copies_under(_host(), "/etc")}
    assert known == set()
    assert report.summary()["hashed_bytes"] < 20_000  # only the decoys and the linked copy


def test_a_root_that_is_a_link_out_of_the_allowed_folders_is_refused(
    registry, tmp_path: Path
) -> None:
    allowed = tmp_path / "shared"
    allowed.mkdir()
    (allowed / "etc-root").symlink_to("/etc")
    report = scan([allowed / "etc-root"], min_size=1, registry=registry, confine=[str(allowed)])

    assert report.summary()["files"] == 0 and report.outside_roots == 1
    assert list(report.errors["kind"]) == ["outside-roots"]


def small_tree(root: Path, n: int = 3000, seed: int = 7) -> Path:
    """Many files of 1-16 KiB, a quarter of them copies: nearly every size collides."""
    rng = random.Random(seed)
    originals = []
    for i in range(n):
        folder = root / f"d{i % 7}" / f"s{i % 13}"
        folder.mkdir(parents=True, exist_ok=True)
        if i < n * 3 // 4:
            body = rng.randbytes(rng.randint(1024, 16 * 1024))
            originals.append(body)
        else:
            body = rng.choice(originals)
        (folder / f"f{i}.dat").write_bytes(body)
    return root


def test_many_small_files_give_jdupes_groups_and_rescan_reads_nothing(
    registry, tmp_path: Path
) -> None:
    tree = small_tree(tmp_path / "small")

    first = scan([tree], min_size=1, registry=registry, workers=3)
    again = scan([tree], min_size=1, registry=registry, workers=3)

    expected = jdupes_groups(tree)
    assert len(expected) > 300
    assert report_groups(first) == expected
    assert first.counts()["registered"] == 3000
    assert again.summary()["hashed_bytes"] == 0 and again.counts()["registered"] == 0
    assert report_groups(again) == expected
    assert {frozenset(g.paths) for g in registry.duplicates(limit=10_000).items} == {
        frozenset(g["paths"]) for g in first.groups()
    }
