"""Fetch across real processes: one download for a crowd, and a killed download that resumes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import blake3
import pytest

import ddas
from ddas.registry import Registry
from tests.fixtures.http_server import CountingServer

FETCH = "import sys, ddas; print(ddas.fetch(sys.argv[1], progress=False))"


def _spawn(url: str, user: str, env: dict[str, str], **extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", FETCH, url],
        env={**os.environ, **env, "DDAS_USER": user, **extra},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_eight_processes_fetching_at_once_download_the_body_exactly_once(
    ddas_env: dict[str, str], http_server: CountingServer
) -> None:
    data = os.urandom(4 << 20)
    url = http_server.add("crowd/era5.nc", data, delay=0.04)  # ~2.5 s transfer: they overlap
    procs = [_spawn(url, f"user{i}", ddas_env) for i in range(8)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, [err for _, err in results]
    paths = {out.strip() for out, _ in results}
    assert len(paths) == 1
    assert Path(paths.pop()).read_bytes() == data
    assert http_server.count("GET") == 1
    assert http_server.body_bytes() == len(data)
    waited = sum("waiting for" in err for _, err in results)
    reused = [e for e in Registry().events() if e.kind == "reuse"]
    assert len(reused) == 7 and waited >= 1


@pytest.mark.slow
def test_a_killed_download_leaves_nothing_and_the_next_fetch_resumes(
    ddas_env: dict[str, str], http_server: CountingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(4 << 20)
    url = http_server.add("kill/scene.tif", data, delay=0.05)
    ttl = {"DDAS_LEASE_TTL": "1.5"}
    proc = _spawn(url, "alice", ddas_env, **ttl)
    deadline = time.monotonic() + 60
    while http_server.body_bytes() < (1 << 20) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert http_server.body_bytes() >= 1 << 20, proc.stderr.read() if proc.stderr else ""
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)

    store = Path(ddas_env["DDAS_STORE"])
    finals = [p for p in store.rglob("*") if p.is_file() and ".tmp" not in p.parts]
    assert finals == []
    assert Registry().copies_for_url(url) == [] and Registry().search().total == 0
    partials = list((store / ".tmp").glob("*.part"))
    assert len(partials) == 1 and partials[0].stat().st_size > 0

    monkeypatch.setenv("DDAS_LEASE_TTL", "1.5")
    monkeypatch.setenv("DDAS_USER", "bob")
    first_body = http_server.body_bytes()
    http_server.resources["/kill/scene.tif"].delay = 0.0
    path = ddas.fetch(url, progress=False)  # the dead holder (this host) is taken over at once

    assert blake3.blake3(path.read_bytes()).hexdigest() == blake3.blake3(data).hexdigest()
    resumed = [h for h in http_server.hits if h.method == "GET" and h.range]
    assert resumed and resumed[0].status == 206
    assert http_server.body_bytes() - first_body < len(data)  # only the missing tail moved
    assert list((store / ".tmp").glob("*.part")) == []
