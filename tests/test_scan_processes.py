"""Small files hashed in worker processes: the same groups as threads and jdupes, and a worker's
death loses no file.

The processes are real (``forkserver``); the trees are real files on disk; jdupes is the
reference for the groups, as in ``test_scan``.
"""

from __future__ import annotations

import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ddas.scanning import scan
from ddas.scanning.processes import HashPool
from ddas.scanning.reading import hash_small
from ddas.scanning.walk import FileEntry
from tests.test_scan import jdupes_groups, make_tree, report_groups
from tests.test_scan_bounds import small_tree
from tests.test_scan_cli import run_cli


def _entries(root: Path) -> list[FileEntry]:
    out = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        st = path.stat()
        out.append(
            FileEntry(str(path), st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino, st.st_uid)
        )
    return out


def test_processes_find_the_threads_groups_and_jdupes(registry, tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "shared")
    small_tree(tree / "small", n=1200)

    report = scan([tree], min_size=1, registry=registry, processes=2)

    assert report_groups(report) == jdupes_groups(tree)
    summary = report.summary()
    assert summary["files"] > 1200 and summary["hashed_bytes"] > 0
    again = scan([tree], min_size=1, registry=registry, processes=0)  # rescanned on threads
    assert report_groups(again) == report_groups(report)
    assert again.summary()["hashed_bytes"] == 0  # what the processes hashed was registered


def test_a_file_that_fails_in_a_worker_is_reported_not_fatal(tmp_path: Path) -> None:
    tree = small_tree(tmp_path / "small", n=40)
    entries = _entries(tree)
    gone = entries[3]
    os.unlink(gone.location)
    grown = entries[5]
    with open(grown.location, "ab") as f:  # changed since the "walk": never hashed
        f.write(b"more")

    pool = HashPool(ThreadPoolExecutor(2), processes=2)
    try:
        result = pool.submit(hash_small, entries).result(timeout=60)
    finally:
        pool.shutdown()

    failed = {entry.location: type(exc).__name__ for entry, exc in result.failed}
    assert failed == {gone.location: "FileNotFoundError", grown.location: "ChangedDuringScan"}
    assert len(result.digests) == len(entries) - 2
    assert result.worker == "local" and not pool.broken


def test_a_dead_worker_sends_its_chunks_back_to_the_threads(tmp_path: Path) -> None:
    tree = small_tree(tmp_path / "small", n=600)
    entries = _entries(tree)
    chunks = [entries[i : i + 20] for i in range(0, len(entries), 20)]
    expected = {}
    for chunk in chunks:
        expected.update(hash_small(chunk).digests)

    pool = HashPool(ThreadPoolExecutor(2), processes=2)
    try:
        first = pool.submit(hash_small, chunks[0]).result(timeout=60)
        for pid in list(pool._procs._processes):  # type: ignore[union-attr]
            os.kill(pid, signal.SIGKILL)  # as the OOM killer would
        time.sleep(0.2)
        futures = [pool.submit(hash_small, chunk) for chunk in chunks[1:]]
        results = [first] + [f.result(timeout=60) for f in futures]
    finally:
        pool.shutdown()

    assert pool.broken
    found = {}
    for result in results:
        assert not result.failed
        found.update(result.digests)
    assert found == expected


def test_cli_hashes_in_processes_by_default_and_threads_with_zero(
    ddas_env: dict[str, str], tmp_path: Path
) -> None:
    tree = small_tree(tmp_path / "small", n=900)
    cli = ["-m", "ddas.scanning", "scan", str(tree), "--min-size", "1", "--json", "--no-progress"]

    procs = json.loads(run_cli(*cli).stdout)
    second = f"sqlite:///{tmp_path / 'second.db'}"  # a fresh registry: everything read again
    threads = json.loads(run_cli(*cli, "--processes", "0", "--registry", second).stdout)

    assert procs["duplicate_groups"] == threads["duplicate_groups"] == len(jdupes_groups(tree))
    assert procs["hashed_bytes"] == threads["hashed_bytes"] > 0
    refused = run_cli(*cli, "--processes", "-1", check=False)
    assert refused.returncode == 2 and "--processes" in refused.stderr
