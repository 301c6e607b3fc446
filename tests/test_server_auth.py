"""Who may do what over REST: Jupyter's authentication and authorization on every DDAS route,
admins from ``c.DDASExtension.admin_users``, owners forgetting their own copies, scans."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from ddas_server import DDASExtension
from ddas_server.handlers import ROUTES
from jupyter_server.auth import Authorizer
from sqlalchemy import select
from traitlets.config import Config

from tests.fixtures.ddas_server import seed

EVERY_ROUTE = [
    ("GET", "datasets"),
    ("GET", "datasets/1"),
    ("GET", "lookup?url=https://h/x"),
    ("GET", "duplicates"),
    ("GET", "stats"),
    ("GET", "events"),
    ("POST", "scans"),
    ("GET", "scans/abc"),
    ("DELETE", "copies/1"),
    ("GET", "whoami"),
    ("GET", "no/such/route"),
]


@pytest.fixture
def jp_server_config(ddas_server_config: Config) -> Config:
    return ddas_server_config


def test_every_ddas_route_is_registered_with_authentication(jp_serverapp):
    """The check jupyter-server runs when ``allow_unauthenticated_access`` is off."""
    web_app = jp_serverapp.web_app
    assert [web_app._check_handler_auth(pattern, handler) for pattern, handler in ROUTES] == [
        [] for _ in ROUTES
    ]
    (app,) = jp_serverapp.extension_manager.extension_apps["ddas_server"]
    assert isinstance(app, DDASExtension) and app.admin_users == {"alice"}


@pytest.mark.parametrize(("method", "path"), EVERY_ROUTE)
@pytest.mark.parametrize("who", [None, "wrong token"])
async def test_no_route_answers_without_a_valid_token(jp_fetch, registry, method, path, who):
    headers = {"Authorization": "" if who is None else "token not-a-token"}
    route, _, query = path.partition("?")
    response = await jp_fetch(
        "ddas",
        "api",
        route,
        method=method,
        headers=headers,
        raise_error=False,
        params=dict([query.split("=", 1)]) if query else None,
        body="{}" if method == "POST" else None,
    )
    assert response.code == 403  # jupyter-server's answer for APIs without credentials


@pytest.mark.parametrize("path", sorted({p.split("?")[0] for _, p in EVERY_ROUTE}))
@pytest.mark.parametrize("who", [None, "wrong token"])
async def test_options_without_valid_credentials_is_refused(jp_fetch, registry, path, who):
    headers = {"Authorization": "" if who is None else "token not-a-token"}
    response = await jp_fetch(
        "ddas", "api", path, method="OPTIONS", headers=headers, raise_error=False
    )
    assert response.code == 403 and json.loads(response.body)["message"]


async def test_options_with_credentials_says_which_methods(ddas_api, jp_fetch, registry):
    response = await jp_fetch("ddas", "api", "copies/1", method="OPTIONS")
    assert response.code == 204 and response.headers["Allow"] == "DELETE, OPTIONS"


async def test_admin_routes_refuse_non_admins(ddas_api, registry):
    code, reply = await ddas_api("scans", method="POST", user="bob")
    assert code == 403 and "admin" in reply["message"]
    code, reply = await ddas_api("scans/0123abcd", user="bob")
    assert code == 403 and "admin" in reply["message"]


async def test_owners_forget_their_own_copies_and_admins_anyones(ddas_api, registry):
    ids = seed(registry)
    bobs, alices, carols = ids["bob_era5"].id, ids["era5"].id, ids["obs"].id

    code, reply = await ddas_api(f"copies/{alices}", method="DELETE", user="bob")
    assert code == 403 and "alice" in reply["message"] and registry.copy(alices) is not None

    assert (await ddas_api(f"copies/{bobs}", method="DELETE", user="bob"))[0] == 204
    assert registry.copy(bobs) is None
    forget = [e for e in registry.events() if e.kind == "forget"]
    assert [(e.user, e.copy_id) for e in forget] == [("bob", bobs)]

    assert (await ddas_api(f"copies/{carols}", method="DELETE", user="alice"))[0] == 204
    assert registry.copy(carols) is None
    code, reply = await ddas_api(f"copies/{carols}", method="DELETE", user="alice")
    assert code == 404 and "no copy" in reply["message"]


@pytest.mark.parametrize("raw", ["abc", "0", "-1", "1e9", "9" * 30])
async def test_forgetting_a_malformed_copy_id_is_400(ddas_api, registry, raw):
    code, reply = await ddas_api(f"copies/{raw}", method="DELETE")
    assert code == 400 and reply["message"]


@pytest.mark.parametrize(
    ("data", "code", "fragment"),
    [
        ("not json", 400, "JSON"),
        ("[1, 2]", 400, "object"),
        ({"roots": []}, 400, "non-empty"),
        ({"roots": "/"}, 400, "list"),
        ({"roots": ["relative/dir"]}, 400, "absolute"),
        ({"roots": ["/etc"]}, 403, "not inside"),
        ({"roots": [None]}, 400, "path"),
        ({"roots": None}, 400, "list"),
    ],
)
async def test_bad_scan_requests(ddas_api, registry, data, code, fragment):
    got, reply = await ddas_api("scans", method="POST", data=data)
    assert got == code and fragment in reply["message"]


async def test_scan_roots_cannot_climb_out_of_the_configured_ones(ddas_api, registry, scan_root):
    code, reply = await ddas_api("scans", method="POST", data={"roots": [f"{scan_root}/../.."]})
    assert code == 400 and "'..'" in reply["message"]


async def test_an_unknown_scan_is_404(ddas_api, registry):
    code, reply = await ddas_api("scans/does-not-exist")
    assert code == 404 and "no such scan" in reply["message"]


async def test_an_admin_scans_the_configured_roots_and_watches_progress(
    ddas_api, registry, scan_root: Path
):
    (scan_root / "a").mkdir()
    payload = b"the same bytes in two places " * 1000
    (scan_root / "a" / "one.bin").write_bytes(payload)
    (scan_root / "two.bin").write_bytes(payload)
    (scan_root / "other.bin").write_bytes(b"something else" * 100)

    code, job = await ddas_api("scans", method="POST")
    assert code == 202 and job["state"] in ("running", "done") and job["roots"] == [str(scan_root)]
    deadline = time.monotonic() + 60
    while job["state"] == "running" and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        code, job = await ddas_api(f"scans/{job['id']}")
    assert job["state"] == "done", job.get("message")
    assert job["summary"]["files"] == 3 and job["summary"]["duplicate_groups"] == 1
    assert job["progress"]["files"] == 3 and job["user"] == "alice"
    code, dup = await ddas_api("duplicates")
    assert dup["total"] == 1 and dup["wasted_bytes"] == len(payload)


async def test_a_blocked_registry_call_does_not_block_the_server(ddas_api, registry):
    """Registry calls run on the extension's threads: while one waits on a database lock, the
    server (and the other registry threads) keep answering."""
    from ddas.registry.models import Copy

    ids = seed(registry)
    with registry.engine.connect() as conn:
        conn = conn.execution_options(ddas_write=True)  # SQLite: BEGIN IMMEDIATE, the write lock
        with conn.begin() as tx:
            if registry.engine.dialect.name == "postgresql":  # lock the row the DELETE needs
                conn.execute(select(Copy).where(Copy.id == ids["obs"].id).with_for_update())
            forget = asyncio.ensure_future(ddas_api(f"copies/{ids['obs'].id}", method="DELETE"))
            await asyncio.sleep(0.5)
            assert not forget.done()
            started = time.perf_counter()
            assert (await ddas_api("whoami"))[0] == 200
            code, page = await ddas_api("datasets")
            assert code == 200 and page["total"] == 3 and time.perf_counter() - started < 2
            tx.rollback()
    assert (await forget)[0] == 204 and registry.copy(ids["obs"].id) is None


async def test_unknown_endpoints_and_methods_answer_json(ddas_api, registry):
    code, reply = await ddas_api("datasets/1/copies")
    assert code == 404 and "no such DDAS API endpoint" in reply["message"]
    code, reply = await ddas_api("stats", method="PUT", data={})
    assert code == 405 and reply["message"]


async def test_metrics_show_on_jupyter_servers_own_endpoint(jp_fetch, ddas_api, registry):
    seed(registry)
    await ddas_api(
        "lookup", params={"url": "https://data.example.org/era5/era5_2020.nc", "probe": "0"}
    )
    await ddas_api("stats")
    text = (await jp_fetch("metrics")).body.decode()
    samples = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in text.splitlines()
        if line.startswith("ddas_")
    }
    assert samples['ddas_lookups_total{status="hit"}'] >= 1
    assert samples["ddas_lookup_hit_bytes_total"] >= 4000
    assert samples["ddas_bytes_saved"] == 4000
    assert samples['ddas_http_requests_total{code="200",method="GET",route="stats"}'] >= 1
    assert any(k.startswith("ddas_http_request_duration_seconds_bucket") for k in samples)


class DenyCarol(Authorizer):
    """An Authorizer (JupyterHub's RBAC plays this role) that keeps carol out of DDAS only."""

    def is_authorized(self, handler, user, action, resource) -> bool:
        return not (user.username == "carol" and resource == "ddas")


class TestTheServersAuthorizerGovernsDDAS:
    @pytest.fixture
    def jp_server_config(self, ddas_server_config: Config) -> Config:
        ddas_server_config.ServerApp.authorizer_class = DenyCarol
        return ddas_server_config

    @pytest.mark.parametrize(("method", "path"), EVERY_ROUTE[:-1])
    async def test_carol_is_refused_everywhere(self, ddas_api, registry, method, path):
        route, _, query = path.partition("?")
        params = dict([query.split("=", 1)]) if query else None
        code, reply = await ddas_api(route, method=method, params=params, user="carol")
        assert code == 403 and "not authorized" in reply["message"]

    async def test_bob_is_not(self, ddas_api, registry):
        assert await ddas_api("whoami", user="bob") == (200, {"user": "bob", "admin": False})


class TestAPersonalServer:
    """jupyter-server's own token identity: the user is the one the library records (DDAS_USER)."""

    @pytest.fixture
    def jp_server_config(self, ddas_server_config: Config) -> Config:
        del ddas_server_config.ServerApp["identity_provider_class"]
        ddas_server_config.DDASExtension.scan_roots = []
        return ddas_server_config

    async def test_whoami_is_the_servers_user(self, jp_fetch, registry, jp_auth_header):
        response = await jp_fetch("ddas", "api", "whoami", headers=jp_auth_header)
        assert response.body == b'{"user": "alice", "admin": true}'

    async def test_scanning_needs_configured_roots(self, jp_fetch, registry):
        response = await jp_fetch(
            "ddas", "api", "scans", method="POST", body="{}", raise_error=False
        )
        assert response.code == 409 and b"scan_roots" in response.body
