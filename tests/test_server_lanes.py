"""One user's stalled work never queues another's: probes, whole-registry reads and ordinary queries
run on separate bounded lanes, each with a per-user limit (429 beyond it) and a timeout (504)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
import sqlalchemy as sa
from traitlets.config import Config

from tests.fixtures.ddas_server import seed


@pytest.fixture
def jp_server_config(ddas_server_config: Config) -> Config:
    return ddas_server_config


def lock_events(registry, conn: sa.Connection) -> None:
    """Stall every read of the tables stats reads (the events and the running tallies; search
    reads none of them): PostgreSQL's ACCESS EXCLUSIVE lock, held by this test's transaction
    until it rolls back."""
    conn.execute(
        sa.text(
            "LOCK TABLE events, type_tallies, user_tallies, day_tallies IN ACCESS EXCLUSIVE MODE"
        )
    )


async def settle(tasks: list[asyncio.Future], n: int, timeout: float = 30.0) -> list:
    """Wait until ``n`` of ``tasks`` are done (awaiting them, not sleeping); their results."""
    deadline = time.monotonic() + timeout
    while sum(t.done() for t in tasks) < n and time.monotonic() < deadline:
        pending = [t for t in tasks if not t.done()]
        await asyncio.wait(pending, timeout=1, return_when=asyncio.FIRST_COMPLETED)
    return [t.result() for t in tasks if t.done()]


async def test_stalled_probes_and_heavy_reads_do_not_delay_another_users_search(
    ddas_api, registry, stall_server, http_server
):
    """bob: 8 lookups of a remote that never answers, 4 stats stalled on a lock (PostgreSQL; an
    SQLite reader cannot be stalled); alice's search meanwhile answers within a second."""
    seed(registry)
    pg = registry.engine.dialect.name == "postgresql"
    conn = registry.engine.connect() if pg else None
    tx = conn.begin() if conn is not None else None
    heavy: list[asyncio.Future] = []
    try:
        if conn is not None:
            lock_events(registry, conn)
            heavy = [asyncio.ensure_future(ddas_api("stats", user="bob")) for _ in range(4)]
        probes = [
            asyncio.ensure_future(
                ddas_api("lookup", params={"url": stall_server.url(f"d{i}.nc")}, user="bob")
            )
            for i in range(8)
        ]
        # bob may have 4 probes and 2 whole-registry reads at once; the rest are refused at once
        refused = await settle(probes, 4)
        assert [code for code, _ in refused] == [429] * 4
        assert all("probe_per_user" in reply["message"] for _, reply in refused)
        assert stall_server.wait_for(4) == 4
        if pg:
            assert [code for code, _ in await settle(heavy, 2)] == [429, 429]

        started = time.perf_counter()
        code, page = await ddas_api("datasets", params={"q": "era5"}, user="alice")
        elapsed = time.perf_counter() - started
        assert code == 200 and page["total"] == 1
        assert elapsed < 1.0, f"alice's search took {elapsed:.2f} s behind bob's stalled work"
        # alice's own probe finds threads left on its lane: bob holds only his share
        url = http_server.add("open/data.csv", b"a,b\n1,2\n")
        code, reply = await ddas_api("lookup", params={"url": url}, user="alice")
        assert code == 200 and reply["probed"] is True
        # bob's work is still stalled all this time
        assert sum(not p.done() for p in probes) == 4 and sum(not h.done() for h in heavy) == (
            2 if pg else 0
        )
    finally:
        stall_server.release()  # bob's probes now end: the remote hung up
        if tx is not None:
            tx.rollback()
            conn.close()
    answered = await settle(probes, 8)
    assert sorted(code for code, _ in answered) == [200] * 4 + [429] * 4
    assert all(
        r["probed"] is False and "cannot reach" in r["probe_error"]
        for code, r in answered
        if code == 200
    )
    if pg:
        assert sorted(code for code, _ in await settle(heavy, 4)) == [200, 200, 429, 429]


class TestTimeouts:
    @pytest.fixture
    def jp_server_config(self, ddas_server_config: Config) -> Config:
        ddas_server_config.DDASExtension.heavy_timeout = 0.5
        ddas_server_config.DDASExtension.probe_timeout = 0.5
        return ddas_server_config

    async def test_a_stalled_remote_ends_the_probe_and_the_registry_answers(
        self, ddas_api, registry, stall_server
    ):
        code, reply = await ddas_api("lookup", params={"url": stall_server.url("x.nc")})
        assert code == 200 and reply["probed"] is False and "Timeout" in reply["probe_error"]

    async def test_a_stalled_heavy_read_is_504_and_keeps_the_users_slot(
        self, ddas_api, registry, jp_serverapp
    ):
        if registry.engine.dialect.name != "postgresql":
            pytest.skip("SQLite readers never wait on a lock (WAL): a read cannot be stalled")
        with registry.engine.connect() as conn, conn.begin() as tx:
            lock_events(registry, conn)
            code, reply = await ddas_api("stats", user="bob")
            assert code == 504 and "heavy_timeout" in reply["message"]
            code, reply = await ddas_api("stats", user="bob")
            assert code == 504
            # both threads are still waiting on the lock: bob's limit (2) counts them
            code, reply = await ddas_api("stats", user="bob")
            assert code == 429 and "heavy_per_user" in reply["message"]
            tx.rollback()
        # the two timed-out reads now run on; the registry's schema may only go once they end
        # (dropping it under a running query deadlocks PostgreSQL, seen in CI)
        (app,) = jp_serverapp.extension_manager.extension_apps["ddas_server"]
        deadline = time.monotonic() + 30
        while app.lanes["heavy"].busy("bob") and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert app.lanes["heavy"].busy("bob") == 0, "bob's timed-out reads never ended"

    async def test_stopping_waits_for_a_read_that_outlived_its_504(
        self, ddas_api, registry, jp_serverapp
    ):
        if registry.engine.dialect.name != "postgresql":
            pytest.skip("SQLite readers never wait on a lock (WAL): a read cannot be stalled")
        (app,) = jp_serverapp.extension_manager.extension_apps["ddas_server"]
        with registry.engine.connect() as conn, conn.begin() as tx:
            lock_events(registry, conn)
            code, _ = await ddas_api("stats", user="bob")
            assert code == 504 and app.lanes["heavy"].busy("bob") == 1
            stopping = asyncio.create_task(app.stop_extension())
            await asyncio.sleep(1.0)
            assert not stopping.done(), "the server let go of the registry under a running query"
            tx.rollback()
        await asyncio.wait_for(stopping, 30)
        assert app.lanes["heavy"].busy("bob") == 0


async def test_a_lane_drains_what_runs_within_its_bound_and_then_takes_no_work():
    from ddas_server.executors import Lane
    from ddas_server.validation import BadRequest

    lane = Lane(name="heavy", threads=1, per_user=2, timeout=0.1, setting="heavy")
    release = threading.Event()
    with pytest.raises(BadRequest) as timed_out:
        await lane.run(lambda: release.wait(30), user="bob")
    assert timed_out.value.status == 504 and lane.busy("bob") == 1
    started = time.monotonic()
    assert await asyncio.to_thread(lane.drain, 0.3) == 1  # still running after the bound
    assert time.monotonic() - started >= 0.3
    release.set()
    assert await asyncio.to_thread(lane.drain, 30) == 0
    assert lane.busy("bob") == 0
    with pytest.raises(BadRequest) as stopped:
        await lane.run(lambda: None, user="bob")
    assert stopped.value.status == 503
