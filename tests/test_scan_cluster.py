"""A scan spread over a dask cluster finds what a local scan finds, and says who did the work.

Workers only walk and hash; this process registers. Two ways an admin meets a cluster: a
``distributed.Client`` in a notebook (here a real ``LocalCluster`` of two worker processes), and a
scheduler plus two ``dask worker`` processes started from the command line, given to
``ddas scan --cluster``. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ddas.scanning import scan
from tests.test_scan import jdupes_groups, make_tree, report_groups
from tests.test_scan_bounds import small_tree
from tests.test_scan_cli import run_cli

distributed = pytest.importorskip("distributed", reason="the dask extra: pip install 'ddas[dask]'")


@pytest.fixture(scope="module")
def client() -> Iterator[distributed.Client]:
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    )
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def test_cluster_scan_finds_the_local_scans_groups(registry, tmp_path: Path, client) -> None:
    tree = make_tree(tmp_path / "shared")
    small_tree(tree / "small", n=400)

    report = scan([tree], min_size=1, registry=registry, client=client)

    assert report_groups(report) == jdupes_groups(tree)
    workers = report.workers
    assert len(workers) == 2 and set(workers) == set(client.nthreads())
    assert sum(w["files"] for w in workers.values()) == report.summary()["files"]
    assert sum(w["hashed_bytes"] for w in workers.values()) == report.summary()["hashed_bytes"]
    assert all(w["files"] > 0 for w in workers.values())  # both took part in the walk
    local = scan([tree], min_size=1, registry=registry)  # the same registry, rescanned here
    assert report_groups(local) == report_groups(report)
    assert local.summary()["hashed_bytes"] == 0  # the cluster's registrations hold


def _wait_for(path: Path, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while not path.exists() or not path.read_text().strip():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"dask scheduler did not start (exit {proc.returncode})")
        time.sleep(0.1)  # polling a file the scheduler writes once it listens


def _dask(bin_dir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """``dask scheduler`` or ``dask worker`` as an admin starts them, on loopback, no dashboard."""
    command = [str(bin_dir / "dask"), *args, "--host", "127.0.0.1", "--no-dashboard"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)


def test_cli_scan_on_a_scheduler_and_two_workers(ddas_env, tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "shared")
    scheduler_file = tmp_path / "scheduler.json"
    bin_dir = Path(sys.executable).parent
    common = ["--scheduler-file", str(scheduler_file)]
    procs = [_dask(bin_dir, "scheduler", "--port", "0", *common)]
    try:
        _wait_for(scheduler_file, procs[0])
        address = json.loads(scheduler_file.read_text())["address"]
        no_registry = {**os.environ, "DDAS_REGISTRY": "sqlite:////nonexistent/no-access.db"}
        for _ in range(2):
            procs.append(_dask(bin_dir, "worker", address, "--nthreads", "1", env=no_registry))
        with distributed.Client(address, timeout="60s") as c:
            c.wait_for_workers(2, timeout=120)
        out = run_cli(
            "-m",
            "ddas.scanning",
            "scan",
            str(tree),
            "--min-size",
            "1",
            "--json",
            "--cluster",
            address,
        ).stdout
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            p.wait(timeout=60)
    summary = json.loads(out)
    assert summary["duplicate_groups"] == len(jdupes_groups(tree)) == 4
    assert len(summary["workers"]) == 2
    assert sum(w["files"] for w in summary["workers"].values()) == summary["files"]


def test_unreachable_scheduler_is_a_clear_error(ddas_env, tmp_path: Path, monkeypatch) -> None:
    tree = make_tree(tmp_path / "shared")
    # dask's own setting bounds the wait, as an admin would shorten it
    monkeypatch.setenv("DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT", "2s")
    failed = run_cli(
        "-m", "ddas.scanning", "scan", str(tree), "--cluster", "tcp://127.0.0.1:9", check=False
    )
    assert failed.returncode == 1
    assert "cannot reach the dask scheduler at tcp://127.0.0.1:9" in failed.stderr
    assert "Traceback" not in failed.stderr
