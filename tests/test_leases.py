"""Download leases: one downloader per dataset across processes, and a dead holder is taken over
after its lease expires (never before)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
import traceback
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier

import pytest

from ddas.registry import Registry, lease_key, new_holder

KEY = lease_key("https://data.example.org/era5/2020.nc")


# -- one process ---------------------------------------------------------------------------------


def test_a_free_lease_is_taken_and_a_second_downloader_is_told_to_wait(registry) -> None:
    before = time.time()
    mine = registry.acquire_lease(KEY, "holder-A", ttl=30, total_bytes=1000)
    assert mine is not None
    assert (mine.key, mine.holder, mine.user, mine.total_bytes) == (KEY, "holder-A", "alice", 1000)
    assert before + 30 <= mine.expires_at <= time.time() + 30

    assert registry.acquire_lease(KEY, "holder-B", ttl=30) is None
    assert registry.acquire_lease(KEY, "holder-A", ttl=30) is None, "not re-entrant"
    assert registry.current_lease(KEY).holder == "holder-A"
    assert registry.acquire_lease(lease_key("https://other.org/x"), "holder-B") is not None


def test_heartbeats_extend_the_lease_and_publish_progress(registry) -> None:
    first = registry.acquire_lease(KEY, "holder-A", ttl=30)
    time.sleep(0.05)
    assert registry.heartbeat(KEY, "holder-A", progress_bytes=400, ttl=30)
    now = registry.current_lease(KEY)
    assert now.expires_at > first.expires_at and now.heartbeat_at > first.heartbeat_at
    assert (now.progress_bytes, now.acquired_at) == (400, first.acquired_at)

    assert not registry.heartbeat(KEY, "holder-B", progress_bytes=999), "not B's lease"
    assert registry.current_lease(KEY).progress_bytes == 400
    assert not registry.heartbeat(lease_key("https://never.org/x"), "holder-A")


def test_released_leases_are_free_and_only_the_holder_can_release(registry) -> None:
    registry.acquire_lease(KEY, "holder-A", ttl=30)
    registry.release_lease(KEY, "holder-B")
    assert registry.current_lease(KEY).holder == "holder-A", "B cannot release A's lease"

    registry.release_lease(KEY, "holder-A")

    assert registry.current_lease(KEY) is None
    assert registry.acquire_lease(KEY, "holder-B", ttl=30).holder == "holder-B"
    registry.release_lease(KEY, "holder-A")  # a late release by the old holder is harmless
    assert registry.current_lease(KEY).holder == "holder-B"


def test_an_expired_lease_is_taken_over_and_its_old_holder_learns_it(registry) -> None:
    registry.acquire_lease(KEY, "holder-A", ttl=0.3)
    assert registry.acquire_lease(KEY, "holder-B", ttl=30) is None
    time.sleep(0.4)
    assert registry.current_lease(KEY) is None, "an expired lease counts as none"

    taken = registry.acquire_lease(KEY, "holder-B", ttl=30)

    assert taken.holder == "holder-B" and taken.progress_bytes == 0
    assert not registry.heartbeat(KEY, "holder-A"), "A lost it"
    registry.release_lease(KEY, "holder-A")
    assert registry.current_lease(KEY).holder == "holder-B"


def test_holder_ids_are_unique_per_attempt() -> None:
    holders = {new_holder() for _ in range(100)}
    assert len(holders) == 100
    assert all(f":{os.getpid()}:" in h for h in holders)
    assert lease_key("https://a.org/x") != lease_key("https://a.org/y")
    assert len(lease_key("https://a.org/" + "x" * 10_000)) < 400, "fits the key column"


# -- many processes ------------------------------------------------------------------------------


def race_for_lease(url: str, barrier: Barrier, results: Queue) -> None:
    try:
        registry = Registry(url)
        holder = new_holder()
        barrier.wait(timeout=120)
        won = registry.acquire_lease(KEY, holder, ttl=60)
        results.put((holder, won.holder if won else None))
    except BaseException:
        results.put((None, traceback.format_exc()))
        raise


@pytest.mark.slow
def test_sixteen_processes_racing_for_one_lease_produce_one_winner(registry) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(16), ctx.Queue()
    procs = [
        ctx.Process(target=race_for_lease, args=(registry.url, barrier, results)) for _ in range(16)
    ]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=240) for _ in procs]
    for p in procs:
        p.join(timeout=60)

    assert all(holder is not None for holder, _ in outcomes), outcomes
    winners = [holder for holder, won in outcomes if won is not None]
    assert len(winners) == 1 and [won for _, won in outcomes if won] == winners
    assert registry.current_lease(KEY).holder == winners[0]


def hold_lease_and_heartbeat(url: str, ttl: float, ready: Queue) -> None:
    """A downloader: takes the lease, then heartbeats every ttl/5 until killed."""
    registry = Registry(url)
    holder = new_holder()
    assert registry.acquire_lease(KEY, holder, ttl=ttl) is not None
    ready.put(holder)
    while True:
        time.sleep(ttl / 5)
        registry.heartbeat(KEY, holder, progress_bytes=int(time.time()), ttl=ttl)


@pytest.mark.slow
def test_a_sigkilled_holder_on_this_host_is_taken_over_at_once(registry) -> None:
    ttl = 1.5
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Queue()
    holder_proc = ctx.Process(target=hold_lease_and_heartbeat, args=(registry.url, ttl, ready))
    holder_proc.start()
    try:
        dead_holder = ready.get(timeout=120)

        # Alive and heartbeating: nobody gets it, for longer than one TTL.
        watch_until = time.time() + 2.5 * ttl
        while time.time() < watch_until:
            assert registry.acquire_lease(KEY, "taker", ttl=30) is None
            assert registry.current_lease(KEY).holder == dead_holder
            time.sleep(0.1)

        os.kill(holder_proc.pid, signal.SIGKILL)
        holder_proc.join(timeout=10)
        assert holder_proc.exitcode == -signal.SIGKILL
        expires = registry.current_lease(KEY).expires_at  # its last heartbeat's promise
        taken = registry.acquire_lease(KEY, "taker", ttl=30)  # the very first attempt
        asked_at = time.time()
    finally:
        if holder_proc.is_alive():
            holder_proc.kill()
            holder_proc.join()

    assert taken is not None and taken.holder == "taker"
    assert asked_at < expires or taken.acquired_at < expires, "no waiting out a dead holder's TTL"
    assert registry.current_lease(KEY).holder == "taker"


def test_a_holder_on_another_host_is_taken_over_only_after_expiry(registry) -> None:
    """Another machine's process cannot be checked from here: its lease's expiry decides."""
    elsewhere = "compute-17:4242:4026531836:987654:0123456789ab"
    assert registry.acquire_lease(KEY, elsewhere, ttl=1.5) is not None
    expires = registry.current_lease(KEY).expires_at
    attempts_before = 0
    while (taken := registry.acquire_lease(KEY, "taker", ttl=30)) is None:
        assert time.time() < expires + 5, "expired long ago, still not taken over"
        attempts_before += 1
        time.sleep(0.05)
    assert time.time() > expires, "taken over only after the expiry"
    assert attempts_before > 0, "the first attempts, before expiry, were refused"
    assert taken.holder == "taker"


def test_a_live_holder_on_this_host_keeps_its_lease(registry) -> None:
    """Our own process (another fetch of the same dataset in this kernel) is alive: wait for it."""
    mine = new_holder()
    assert registry.acquire_lease(KEY, mine, ttl=30) is not None
    assert registry.acquire_lease(KEY, new_holder(), ttl=30) is None
    assert registry.current_lease(KEY).holder == mine
