"""Admins run gc, verify and reclaim over REST, and a scan root that is a link out of the
configured roots is refused (a real jupyter-server with ddas_server, real HTTP, per-user tokens)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import blake3
import pytest
from traitlets.config import Config

from ddas.store import Store


@pytest.fixture
def jp_server_config(ddas_server_config: Config) -> Config:
    return ddas_server_config


def _orphan(store_root: Path) -> Path:
    store = Store(store_root)
    data = b"left by a crash before registration" * 30
    temp = store.temp_path("test:orphan")
    temp.write_bytes(data)
    return store.commit(temp, blake3.blake3(data).hexdigest(), "orphan.nc")


async def test_gc_over_rest_is_a_dry_run_until_apply(ddas_api, registry, store_root: Path):
    orphan = _orphan(store_root)

    code, dry = await ddas_api("store/gc", method="POST", data={})
    assert code == 200 and dry["orphans"] == [str(orphan)] and not dry["applied"]
    assert orphan.exists()

    code, done = await ddas_api("store/gc", method="POST", data={"apply": True})
    assert code == 200 and done["removed"] == 1 and not orphan.exists()


async def test_verify_and_reclaim_over_rest(ddas_api, registry, scan_root: Path):
    from ddas.scanning import scan

    data = b"two copies" * 5000
    (scan_root / "a.bin").write_bytes(data)
    (scan_root / "b.bin").write_bytes(data)
    scan([scan_root], min_size=1, registry=registry)

    code, checked = await ddas_api("store/verify", method="POST", data={"sample": 5})
    assert code == 200 and checked["checked"] == 2 and checked["ok"] == 2

    code, plan = await ddas_api("store/reclaim", method="POST", data={"mode": "hardlink"})
    assert code == 200 and len(plan["linked"]) == 1 and plan["applied"] is False
    assert (scan_root / "a.bin").stat().st_ino != (scan_root / "b.bin").stat().st_ino


@pytest.mark.parametrize(
    ("path", "data", "code", "fragment"),
    [
        ("store/gc", {"apply": "yes"}, 400, "apply must be a bool"),
        ("store/gc", {"sample": 3}, 400, "gc takes apply"),
        ("store/verify", {"sample": 0}, 400, "sample must be between"),
        ("store/reclaim", {"mode": "copy"}, 400, "mode must be"),
        ("store/defrag", {}, 404, "no such store action"),
    ],
)
async def test_bad_store_requests_say_what_to_send(ddas_api, registry, path, data, code, fragment):
    got, reply = await ddas_api(path, method="POST", data=data)
    assert got == code and fragment in reply["message"]


async def test_only_admins_run_store_actions(ddas_api, registry, store_root: Path):
    orphan = _orphan(store_root)
    for action in ("gc", "verify", "reclaim"):
        code, reply = await ddas_api(f"store/{action}", method="POST", user="bob", data={})
        assert code == 403 and "only DDAS admins" in reply["message"]
        code, _ = await ddas_api(f"store/{action}", method="POST", user=None, data={})
        assert code in (401, 403)
    assert orphan.exists()


async def test_a_scan_root_linking_out_of_the_configured_roots_is_refused(
    ddas_api, registry, scan_root: Path
):
    (scan_root / "etc").symlink_to("/etc")
    code, reply = await ddas_api("scans", method="POST", data={"roots": [f"{scan_root}/etc"]})
    assert code == 403 and "not inside a configured scan root" in reply["message"]


async def test_a_server_scan_skips_links_out_of_its_roots(ddas_api, registry, scan_root: Path):
    (scan_root / "etc").symlink_to("/etc")
    (scan_root / "data.bin").write_bytes(b"x" * 3000)
    code, job = await ddas_api("scans", method="POST", data={})
    assert code == 202
    deadline = time.monotonic() + 120
    while job["state"] == "running" and time.monotonic() < deadline:
        await asyncio.sleep(0.1)  # polling the job, as the sidebar does
        code, job = await ddas_api(f"scans/{job['id']}")
    assert job["state"] == "done", job.get("message")
    assert job["summary"]["files"] == 1  # data.bin; nothing of /etc
    from ddas import config

    assert registry.known_copies_under(config.hostname(), "/etc") == []
