"""DDAS as a JupyterHub service, its transfers: one download for every kernel and replica that
asks, a bounded pool of database connections, and the network the service may not reach.

The Hub is the session's (``tests.fixtures.hub_service``), shared with ``test_hub_service``.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest

from tests.fixtures.hub import Hub
from tests.fixtures.hub_service import (
    FETCH,
    SERVICE_APP,
    WATCHED_FETCH,
    dataset_of,
    kernel_fetch,
    peak_connections,
    wait_for,
)

pytestmark = pytest.mark.slow


def test_the_download_goes_on_when_alices_kernel_dies_and_bob_on_another_replica_joins_it(
    hub: Hub, http_server: Any
) -> None:
    size = 3 << 20
    url = http_server.add("hub/slow_big.nc", os.urandom(size), delay=0.15)  # ~7 s in total
    with hub.replica() as other:
        kernel = subprocess.Popen(
            [hub.python, "-c", FETCH.format(url=url)],
            env=hub.kernel_env("alice"),
            cwd=hub.kernel_env("alice")["HOME"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            **hub.ids("alice"),
        )
        try:
            wait_for(lambda: http_server.body_bytes("hub/slow_big.nc") > 0, "alice's transfer")
        finally:
            kernel.kill()  # the notebook's kernel dies mid-download
            kernel.wait(timeout=30)
        assert http_server.body_bytes("hub/slow_big.nc") < size  # still in flight
        watched = hub.python_as("bob", WATCHED_FETCH.format(url=url), DDAS_SERVICE_URL=other)
    assert watched.returncode == 0, watched.stderr[-3000:]
    bob = json.loads(watched.stdout.strip().splitlines()[-1])
    assert bob["reused"] is True and bob["read"] == size
    # bob's bar moved with alice's transfer as the service saw it, up to the whole file
    assert len(set(bob["seen"])) >= 2 and bob["seen"][-1] == size, bob["seen"]
    assert http_server.count("GET", "hub/slow_big.nc") == 1  # one transfer for both
    assert http_server.body_bytes("hub/slow_big.nc") == size
    detail = dataset_of(hub, "slow_big.nc")
    assert [c["owner"] for c in detail["copy_list"]] == [hub.name("alice")]


def test_kernels_hold_no_database_connection_the_service_one_bounded_pool(
    hub: Hub, http_server: Any, request: pytest.FixtureRequest
) -> None:
    if "postgresql" not in hub.registry_url:
        pytest.skip("PostgreSQL only: an SQLite registry has no connections to count")
    pg_admin = request.getfixturevalue("pg_admin")
    url = http_server.add("hub/popular.nc", os.urandom(20_000))
    kernel_fetch(hub, "alice", url)
    kernels = 12

    def many(env_of: Any) -> None:
        procs = [
            subprocess.Popen(
                [hub.python, "-c", FETCH.format(url=url)],
                env=env_of(i),
                cwd=hub.kernel_env("bob")["HOME"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                **hub.ids("bob"),
            )
            for i in range(kernels)
        ]
        errors = [p.communicate(timeout=300)[1] for p in procs]
        assert all(p.returncode == 0 for p in procs), errors

    application = SERVICE_APP + hub.registry_url.split("search_path%3D")[1].split("&")[0]
    service = peak_connections(pg_admin, application, lambda: many(lambda i: hub.kernel_env("bob")))
    # the peer: the same kernels in embedded mode, each opening the registry itself
    embedded_app = f"ddas-embedded-{os.getpid()}"
    direct = hub.registry_url.replace(application, embedded_app)
    embedded = peak_connections(
        pg_admin,
        embedded_app,
        lambda: many(lambda i: {**hub.kernel_env("bob"), "DDAS_REGISTRY": direct}),
    )
    print(f"\n| {kernels} kernels fetching one dataset | peak PostgreSQL connections |")
    print(f"| through the service | {service} |\n| embedded (each kernel connects) | {embedded} |")
    assert 1 <= service <= 15  # one pool: 5, plus 10 under load (ddas.registry.engine)
    assert http_server.count("GET", "hub/popular.nc") == 1


def test_alice_and_bob_asking_two_replicas_at_once_give_one_transfer(
    hub: Hub, http_server: Any
) -> None:
    size = 2 << 20
    url = http_server.add("hub/same_moment.nc", os.urandom(size), delay=0.05)
    with hub.replica() as other:
        both = {
            who: subprocess.Popen(
                [hub.python, "-c", FETCH.format(url=url)],
                env=hub.kernel_env(who, **extra),
                cwd=hub.kernel_env(who)["HOME"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                **hub.ids(who),
            )
            for who, extra in (("alice", {}), ("bob", {"DDAS_SERVICE_URL": other}))
        }
        out = {who: proc.communicate(timeout=300) for who, proc in both.items()}
    for who, proc in both.items():
        assert proc.returncode == 0, out[who][1][-3000:]
    results = {who: json.loads(o.strip().splitlines()[-1]) for who, (o, _) in out.items()}
    assert results["alice"]["path"] == results["bob"]["path"]
    assert sorted(r["reused"] for r in results.values()) == [False, True]
    assert http_server.count("GET", "hub/same_moment.nc") == 1
    assert http_server.body_bytes("hub/same_moment.nc") == size


BLOCKED_FETCH = """
import json, ddas
from ddas.netpolicy import BlockedAddressError
try:
    ddas.fetch({url!r}, progress=False)
    print(json.dumps({{"fetched": True}}))
except BlockedAddressError as exc:
    print(json.dumps({{"blocked": str(exc)}}))
"""


def test_the_service_refuses_internal_addresses_with_a_403_that_names_the_setting(
    hub: Hub, http_server: Any
) -> None:
    """bob asks the service to fetch from inside its network: loopback beyond the allowed
    127.0.0.1, a metadata service by address and by name. Nothing is contacted, nothing stored."""
    port = http_server.port
    http_server.add("hub/inside.nc", os.urandom(4_000))
    for url, why in (
        (f"http://127.0.0.2:{port}/hub/inside.nc", "loopback"),
        (f"http://[::ffff:127.0.0.2]:{port}/hub/inside.nc", "loopback"),
        (f"http://10.0.0.5:{port}/hub/inside.nc", "private"),
        ("http://169.254.169.254/latest/meta-data/iam/", "metadata"),
        ("http://metadata.google.internal/computeMetadata/v1/", "metadata"),
    ):
        rest = hub.api("bob", "POST", "fetches", json={"url": url})
        assert rest.status_code == 403, (url, rest.text)
        message = rest.json()["message"]
        assert "does not contact" in message and why in message, (url, message)
        if why != "metadata":
            assert "c.DDASService.fetch_allow_networks" in message, message
    kernel = hub.python_as(
        "bob", BLOCKED_FETCH.format(url=f"http://127.0.0.2:{port}/hub/inside.nc")
    )
    assert kernel.returncode == 0, kernel.stderr[-3000:]
    assert "loopback" in json.loads(kernel.stdout)["blocked"]
    other = hub.api("bob", "POST", "fetches", json={"url": "ftp://127.0.0.1/hub/inside.nc"})
    assert other.status_code == 403 and "c.DDASService.fetch_schemes" in other.json()["message"]
    assert http_server.count(path="hub/inside.nc") == 0


def test_a_redirect_into_the_network_is_refused_at_that_hop(hub: Hub, http_server: Any) -> None:
    """An allowed origin that redirects to an internal address: the service follows the first
    hop, refuses the second (checked at connection time, not just before the job), and keeps
    no file, no row."""
    port = http_server.port
    http_server.add("hub/inner_target.nc", os.urandom(4_000))
    url = http_server.add(
        "hub/bounce.nc", b"", redirect_to=f"http://127.0.0.2:{port}/hub/inner_target.nc"
    )
    kernel = hub.python_as("alice", BLOCKED_FETCH.format(url=url))
    assert kernel.returncode == 0, kernel.stderr[-3000:]
    blocked = json.loads(kernel.stdout)["blocked"]
    assert "127.0.0.2" in blocked and "loopback" in blocked, blocked
    assert http_server.count(path="hub/bounce.nc") >= 1  # the first hop was asked
    assert http_server.count(path="hub/inner_target.nc") == 0
    page = hub.api("dana", "GET", "datasets", params={"q": "bounce"}).json()
    assert page["items"] == []
    leftovers = [p for p in hub.store.rglob("*") if "bounce" in p.name or p.suffix == ".part"]
    assert leftovers == []
