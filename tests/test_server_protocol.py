"""A real ``jupyter lab`` process (its own HTTPServer, restarted): over-long requests get a JSON
414/431 and a long but spec-valid URL is answered; a scan a killed server left running is marked
``interrupted`` when a server starts. (OPTIONS: tests/test_server_auth.py.)"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from ddas import config
from ddas.registry import Registry
from tests.fixtures.lab import (
    Lab,
    isolated_asyncio_loop,
    no_server_cleanup,
    start_lab,
    stop_lab,
)

# -- a real `jupyter lab` process: its own HTTPServer, restarted ----------------------------------

jp_asyncio_loop = pytest.fixture(isolated_asyncio_loop)
jp_server_cleanup = pytest.fixture(no_server_cleanup)


def start(base: Path) -> Lab:
    root = base / "root"
    root.mkdir(exist_ok=True)
    env = {
        "DDAS_REGISTRY": f"sqlite:///{base / 'registry.db'}",
        "DDAS_STORE": str(base / "store"),
        "DDAS_USER": "alice",
    }
    return start_lab(root, env)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    base = tmp_path_factory.mktemp("protocol")
    lab = start(base)
    yield lab
    stop_lab(lab)


def raw_get(lab: Lab, target: str, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    """One GET with a hand-made request line (urllib would re-quote it); JSON body or ``{}``."""
    host, port = lab.url.rsplit("/", 1)[-1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        conn.putrequest("GET", target, skip_accept_encoding=True)
        conn.putheader("Authorization", f"token {lab.token}")
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        conn.endheaders()
        response = conn.getresponse()
        body = response.read()
        assert response.getheader("Content-Type", "").startswith("application/json"), body[:200]
        return response.status, json.loads(body)
    finally:
        conn.close()


def lookup_target(url: str) -> str:
    return "/ddas/api/lookup?probe=0&url=" + quote(url, safe="")


def test_a_spec_valid_8192_character_multibyte_url_is_answered(lab):
    head = "https://data.example.org/"
    url = head + "\U0001d521" * (8192 - len(head))  # 4-byte UTF-8: 12 bytes once percent-encoded
    assert len(url) == 8192 and len(lookup_target(url)) > 65536  # tornado's default limit
    code, reply = raw_get(lab, lookup_target(url))
    assert code == 200 and reply["status"] == "miss"


def test_a_longer_url_is_400_and_an_absurd_request_line_414(lab):
    url = "https://data.example.org/" + "é" * 8192
    code, reply = raw_get(lab, lookup_target(url))
    assert code == 400 and "longer than 8192 characters" in reply["message"]
    code, reply = raw_get(lab, "/ddas/api/datasets?q=" + "x" * 150_000)
    assert code == 414 and "too long" in reply["message"]


def test_over_large_headers_are_431(lab):
    code, reply = raw_get(lab, "/ddas/api/whoami", {"X-Filler": "y" * 100_000})
    assert code == 431 and "headers are too large" in reply["message"]


def dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_a_scan_left_running_by_a_killed_server_is_marked_interrupted(tmp_path):
    """A scan row ``running`` under a dead pid on this host is what a server killed mid-scan
    leaves (its pid cannot be alive any more); rows of a live process or of another host with a
    fresh heartbeat are somebody's running scan and are left alone."""
    registry = Registry(f"sqlite:///{tmp_path / 'registry.db'}")
    killed = registry.scan_run_started("alice", ["/data/a"], pid=dead_pid())
    alive = registry.scan_run_started("alice", ["/data/b"], pid=os.getpid())
    elsewhere = registry.scan_run_started("bob", ["/data/c"], host="replica-2", pid=1)

    lab = start(tmp_path)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the server marks them right after it starts
            states = {r.id: r.state for r in registry.scan_runs()}
            if states[killed] != "running":
                break
            time.sleep(0.2)
    finally:
        stop_lab(lab)
    runs = {r.id: r for r in registry.scan_runs()}
    assert runs[killed].state == "interrupted" and "stopped before" in runs[killed].message
    assert runs[alive].state == "running" and runs[elsewhere].state == "running"
    events = [e for e in registry.events(kinds=("scan",)) if e.detail.get("state")]
    assert [(e.user, e.detail["state"], e.detail["scan_run"]) for e in events] == [
        ("alice", "interrupted", killed)
    ]
    assert events[0].detail["roots"] == ["/data/a"] and runs[killed].host == config.hostname()
