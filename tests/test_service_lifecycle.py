"""The Hub service starts and stops as JupyterHub needs: it warms its registry at start-up;
SIGTERM ends the process cleanly (exit 0, its scans and lanes stopped); fetch jobs still queued
are reported failed rather than left "running" for a poller to wait on forever."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from ddas_server.service.fetches import FetchJob, FetchJobs

from tests.fixtures.hub_os import free_port, wait_until


def test_sigterm_stops_the_service_cleanly(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "service.log"
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{port}",
    }
    argv = [
        sys.executable,
        "-m",
        "ddas_server.service",
        f"--registry=sqlite:///{tmp_path / 'registry.db'}",
        f"--store={tmp_path / 'store'}",
    ]
    with open(log, "w") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/services/ddas/ddas/api/whoami"
        # no Hub token: the service answers 401, which shows it is up and serving; it warms its
        # registry at start-up, not on the first user's request
        wait_until(
            lambda: (
                requests.get(url, timeout=5).status_code == 401
                and "registry warm in" in log.read_text()
            ),
            "the service and its warm-up",
            proc,
            log,
        )
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    text = log.read_text()
    assert "DDAS service on" in text and "DDAS service stopped" in text, text
    # after its warm-up, the service's start-up objects no longer slow the garbage collector
    assert "start-up objects frozen out of the garbage collector" in text, text


def test_a_frozen_heap_leaves_a_full_collection_little_to_visit() -> None:
    """``freeze_heap`` (what a warm server does once) in a process of its own, as a server
    would be: the objects the registry's imports made are frozen, and a full collection then
    visits a small share of them."""
    code = (
        "import gc, ddas.registry, ddas_server.app as app\n"
        "before = len(gc.get_objects())\n"
        "frozen = app.freeze_heap()\n"
        "print(before, frozen, len(gc.get_objects()))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    before, frozen, visited = map(int, done.stdout.split())
    assert before > 50_000 and frozen >= before // 2, done.stdout
    assert visited < before // 20, done.stdout


def test_stopping_reports_queued_fetch_jobs_failed_and_lets_the_running_one_finish() -> None:
    started, release = threading.Event(), threading.Event()

    def run(job: FetchJob) -> dict:
        started.set()
        assert release.wait(30), "the test never released the running fetch"
        return {"path": f"/store/{job.url.rsplit('/', 1)[-1]}"}

    executor = ThreadPoolExecutor(1, thread_name_prefix="test-fetch")
    jobs = FetchJobs(executor, run)
    running = jobs.start("alice", "https://data.example.org/d0.nc")
    assert started.wait(30), "the first fetch never began"
    queued = [jobs.start("alice", f"https://data.example.org/d{i}.nc") for i in (1, 2)]
    jobs.shutdown()
    for job in queued:
        assert job.state == "failed", job
        assert "stopped before this fetch began" in job.error["message"]
        assert job.finished is not None
    assert running.state == "running"
    late = jobs.start("bob", "https://data.example.org/late.nc")
    assert late.state == "failed"  # a stopped service takes no new job
    release.set()
    executor.shutdown(wait=True)
    assert running.state == "done" and running.result == {"path": "/store/d0.nc"}
