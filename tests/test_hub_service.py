"""DDAS as a JupyterHub service: a real Hub, real proxy, the service as the registry's one writer.

Kernels are real processes with what the Hub gives a single-user server (``JUPYTERHUB_API_TOKEN``,
``JUPYTERHUB_API_URL``) and ``DDAS_REGISTRY=hub://ddas``; run as root they are real Unix users.
Each test uses its own URLs on the counting HTTP server, so the Hub (one per backend) is shared.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.fixtures.hub import IS_ROOT, Hub
from tests.fixtures.hub_service import (
    browser_login,
    dataset_of,
    kernel_fetch,
    login_across_replicas,
)

pytestmark = pytest.mark.slow


def test_bob_reuses_alices_copy_and_his_env_does_not_change_who_is_recorded(
    hub: Hub, http_server: Any
) -> None:
    data = os.urandom(300_000)
    url = http_server.add("hub/era5_reuse.nc", data)

    alice = kernel_fetch(hub, "alice", url)
    assert alice["reused"] is False and alice["read"] == len(data)
    assert Path(alice["path"]).is_relative_to(hub.store)
    assert http_server.body_bytes("hub/era5_reuse.nc") == len(data)

    bob = kernel_fetch(
        hub, "bob", url, DDAS_USER=hub.name("alice"), JUPYTERHUB_USER=hub.name("alice")
    )
    assert bob["reused"] is True and bob["path"] == alice["path"] and bob["read"] == len(data)
    assert http_server.body_bytes("hub/era5_reuse.nc") == len(data)  # bob: 0 body bytes

    detail = dataset_of(hub, "era5_reuse.nc")
    assert [c["owner"] for c in detail["copy_list"]] == [hub.name("alice")]
    kinds = {(e["kind"], e["user"]) for e in detail["events"]}
    assert ("download", hub.name("alice")) in kinds
    assert ("reuse", hub.name("bob")) in kinds
    assert not any(
        e["kind"] == "reuse" and e["user"] == hub.name("alice") for e in detail["events"]
    )


@pytest.mark.skipif(not IS_ROOT, reason="needs root: the store's owner must be another Unix user")
def test_the_store_belongs_to_the_service_and_bob_can_only_read_it(
    hub: Hub, http_server: Any
) -> None:
    url = http_server.add("hub/owned.csv", b"a,b\n" * 50_000)
    path = Path(kernel_fetch(hub, "alice", url)["path"])
    st = path.stat()
    assert st.st_uid == hub.service_uid
    assert stat.S_IMODE(st.st_mode) == 0o444
    for folder in (path.parent, path.parent.parent, hub.store):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o755, folder
        assert folder.stat().st_uid == hub.service_uid
    registry_db = hub.store.parent / "registry.db"
    attempts = f"""
import os, json
p = {str(path)!r}
out = {{}}
def tryit(name, fn):
    try:
        fn()
        out[name] = "done"
    except PermissionError:
        out[name] = "refused"
tryit("unlink", lambda: os.unlink(p))
tryit("replace", lambda: open(p, "wb").write(b"x"))
tryit("rename", lambda: os.rename(p, p + ".moved"))
tryit("new file", lambda: open(os.path.join(os.path.dirname(p), "evil"), "wb"))
tryit("chmod", lambda: os.chmod(p, 0o666))
tryit("rmdir", lambda: os.rmdir(os.path.dirname(p)))
tryit("tmp", lambda: open(os.path.join({str(hub.store)!r}, ".tmp", "x.part"), "wb"))
if os.path.exists({str(registry_db)!r}):
    tryit("registry", lambda: open({str(registry_db)!r}, "rb").read(1))
print(json.dumps(out))
"""
    done = hub.python_as("bob", attempts)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result.values()) == {"refused"}, result
    assert path.read_bytes() == b"a,b\n" * 50_000


def test_bob_cannot_forget_alices_copy_through_the_library_the_cli_or_rest(
    hub: Hub, http_server: Any
) -> None:
    url = http_server.add("hub/forget_me_not.nc", os.urandom(50_000))
    kernel_fetch(hub, "alice", url)
    (copy,) = dataset_of(hub, "forget_me_not.nc")["copy_list"]
    env = {"DDAS_USER": hub.name("alice"), "JUPYTERHUB_USER": hub.name("alice")}

    library = hub.python_as(
        "bob",
        f"""
import ddas
try:
    ddas.Registry().forget_copy({copy["id"]})
except ddas.DDASError as exc:
    print("registry:", type(exc).__name__)
try:
    ddas.forget({copy["id"]})
except ddas.NotAllowedError as exc:
    print("forget:", exc)
""",
        **env,
    )
    assert library.returncode == 0, library.stderr
    assert "registry: ServiceRegistryError" in library.stdout
    assert f"belongs to {hub.name('alice')}" in library.stdout

    cli = hub.cli_as("bob", ["forget", str(copy["id"])], **env)
    assert cli.returncode == 7, (cli.stdout, cli.stderr)
    assert f"belongs to {hub.name('alice')}" in cli.stderr and "Traceback" not in cli.stderr

    rest = hub.api("bob", "DELETE", f"copies/{copy['id']}")
    assert rest.status_code == 403 and "only they or an admin" in rest.json()["message"]

    assert [c["id"] for c in dataset_of(hub, "forget_me_not.nc")["copy_list"]] == [copy["id"]]
    assert not any(e["kind"] == "forget" for e in dataset_of(hub, "forget_me_not.nc")["events"])


def test_a_user_outside_the_ddas_group_is_told_they_are_not_allowed(
    hub: Hub, http_server: Any
) -> None:
    url = http_server.add("hub/members_only.nc", os.urandom(10_000))
    done = hub.python_as(
        "carol",
        f"""
import ddas
try:
    ddas.fetch({url!r})
except ddas.NotAllowedError as exc:
    print("not allowed:", exc)
""",
    )
    assert done.returncode == 0, done.stderr
    assert "not allowed to use the DDAS service" in done.stdout
    assert "access:services!service=ddas" in done.stdout
    assert http_server.count(path="hub/members_only.nc") == 0

    rest = hub.api("carol", "GET", "datasets")
    assert rest.status_code == 403
    assert "is not allowed to use the DDAS service" in rest.json()["message"]
    anonymous = hub.api(None, "GET", "datasets")
    assert anonymous.status_code == 401 and "JUPYTERHUB_API_TOKEN" in anonymous.json()["message"]


def test_the_sidebars_rest_calls_work_through_the_hubs_proxy_with_the_oauth_cookie(
    hub: Hub, http_server: Any
) -> None:
    url = http_server.add("hub/sidebar.parquet", os.urandom(20_000))
    kernel_fetch(hub, "alice", url)
    anonymous = requests.get(hub.service_base + "datasets", timeout=30)
    assert anonymous.status_code == 401 and "oauth_login" in anonymous.json()["message"]

    browser = browser_login(hub, "bob")  # no token anywhere: the cookie alone
    base = hub.service_base
    page = browser.get(base + "datasets", params={"q": "sidebar"}, timeout=30).json()
    assert [i["name"] for i in page["items"]] == ["sidebar.parquet"]
    # probing the remote for a cookie login needs the XSRF token, as the sidebar sends it
    xsrf = {"X-XSRFToken": browser.get(base + "whoami", timeout=30).json()["xsrf_token"]}
    refused = browser.get(base + "lookup", params={"url": url}, timeout=30)
    assert refused.status_code == 403, refused.text
    looked = browser.get(base + "lookup", params={"url": url}, headers=xsrf, timeout=30).json()
    assert looked["status"] == "hit" and looked["copies"][0]["owner"] == hub.name("alice")
    for path in ("stats", "duplicates", "events?since=0&limit=5", "whoami"):
        assert browser.get(base + path, timeout=30).status_code == 200, path
    mine = browser.get(base + "events", params={"user": "me"}, timeout=30).json()
    assert all(e["user"] == hub.name("bob") for e in mine["items"])

    (copy,) = dataset_of(hub, "sidebar.parquet")["copy_list"]
    no_xsrf = browser.delete(base + f"copies/{copy['id']}", timeout=30)
    assert no_xsrf.status_code == 403 and "X-XSRFToken" in no_xsrf.json()["message"]
    token = browser.get(base + "whoami", timeout=30).json()["xsrf_token"]
    refused = browser.delete(
        base + f"copies/{copy['id']}", headers={"X-XSRFToken": token}, timeout=30
    )
    assert refused.status_code == 403 and "only they or an admin" in refused.json()["message"]

    alice = browser_login(hub, "alice")
    token = alice.get(base + "whoami", timeout=30).json()["xsrf_token"]
    gone = alice.delete(base + f"copies/{copy['id']}", headers={"X-XSRFToken": token}, timeout=30)
    assert gone.status_code == 204
    forgets = [e for e in dataset_of(hub, "sidebar.parquet")["events"] if e["kind"] == "forget"]
    assert [e["user"] for e in forgets] == [hub.name("alice")]


def test_bobs_lab_server_relays_the_sidebars_calls_to_the_service_as_bob(
    hub: Hub, http_server: Any
) -> None:
    url = http_server.add("hub/relayed.zarr.zip", os.urandom(30_000))
    kernel_fetch(hub, "alice", url)
    with hub.user_lab("bob") as (lab, token):
        auth = {"Authorization": f"token {token}"}
        api = f"{lab}/ddas/api/"
        whoami = requests.get(api + "whoami", headers=auth, timeout=60).json()
        assert whoami["user"] == hub.name("bob") and whoami["mode"] == "jupyterhub-service"
        page = requests.get(api + "datasets", params={"q": "relayed"}, headers=auth, timeout=60)
        assert [i["name"] for i in page.json()["items"]] == ["relayed.zarr.zip"]
        (copy,) = dataset_of(hub, "relayed.zarr.zip")["copy_list"]
        refused = requests.delete(api + f"copies/{copy['id']}", headers=auth, timeout=60)
        assert refused.status_code == 403 and "only they or an admin" in refused.json()["message"]
        assert requests.get(api + "datasets", timeout=60).status_code == 403  # the server's auth


def test_open_lookup_the_ddas_protocol_and_the_cli_are_clients_of_the_service_too(
    hub: Hub, http_server: Any
) -> None:
    data = os.urandom(64_000)
    url = http_server.add("hub/clients.bin", data)
    kernel_fetch(hub, "alice", url)
    done = hub.python_as(
        "bob",
        f"""
import json, fsspec, ddas
with ddas.open({url!r}) as f:
    opened = len(f.read())
with fsspec.open("ddas::" + {url!r}) as f:
    protocol = len(f.read())
owners = [c.owner for c in ddas.lookup({url!r})]
print(json.dumps({{"opened": opened, "protocol": protocol, "owners": owners}}))
""",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout) == {
        "opened": len(data),
        "protocol": len(data),
        "owners": [hub.name("alice")],
    }
    cli = hub.cli_as("bob", ["fetch", url, "--json"])
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)["reused"] is True
    found = hub.cli_as("bob", ["find", "clients.bin", "--json"])
    assert [c["owner"] for c in json.loads(found.stdout)] == [hub.name("alice")]
    assert http_server.body_bytes("hub/clients.bin") == len(data)  # all of bob's: 0 bytes


def test_a_ddas_admin_from_the_hub_group_may_forget_anyones_copy(
    hub: Hub, http_server: Any
) -> None:
    url = http_server.add("hub/admin_forgets.nc", os.urandom(5_000))
    kernel_fetch(hub, "alice", url)
    (copy,) = dataset_of(hub, "admin_forgets.nc")["copy_list"]
    assert hub.api("dana", "GET", "whoami").json()["admin"] is True
    assert hub.api("bob", "GET", "whoami").json()["admin"] is False
    assert hub.api("dana", "DELETE", f"copies/{copy['id']}").status_code == 204
    events = dataset_of(hub, "admin_forgets.nc")["events"]
    assert [e["user"] for e in events if e["kind"] == "forget"] == [hub.name("dana")]


def test_a_signed_urls_secret_reaches_the_source_and_no_log_reply_or_row(
    hub: Hub, http_server: Any
) -> None:
    url = http_server.add("hub/signed.nc", os.urandom(8_000)) + "?X-Amz-Signature=t0ps3cr3t"
    fetched = kernel_fetch(hub, "alice", url)
    assert "t0ps3cr3t" not in json.dumps(fetched)
    assert any("t0ps3cr3t" in h.path for h in http_server.hits)  # the transfer had it
    looked = hub.api("bob", "GET", "lookup", params={"url": url, "probe": "false"})
    assert looked.json()["status"] == "hit" and "t0ps3cr3t" not in looked.text
    assert "t0ps3cr3t" not in json.dumps(dataset_of(hub, "signed.nc"))
    logs = [p.read_text() for p in (hub.root / "hub").glob("*.log")]
    assert logs and not any("t0ps3cr3t" in log for log in logs)
    for registry in hub.store.parent.glob("registry.db*"):  # SQLite: the file, its WAL
        assert b"t0ps3cr3t" not in registry.read_bytes()


def test_policy_error_through_the_service_lists_the_copies_like_embedded_mode(
    hub: Hub, http_server: Any
) -> None:
    url = http_server.add("hub/no_second_copy.nc", os.urandom(7_000))
    path = kernel_fetch(hub, "alice", url)["path"]
    refused = hub.cli_as("bob", ["fetch", url, "--policy", "error"])
    assert refused.returncode == 5, refused.stderr
    assert path in refused.stderr and hub.name("alice") in refused.stderr
    assert "Traceback" not in refused.stderr
    assert http_server.count("GET", "hub/no_second_copy.nc") == 1


def test_a_login_begun_on_one_replica_ends_on_another_with_no_session_affinity(
    hub: Hub, http_server: Any
) -> None:
    """Two replicas share nothing but the service's token (and so the derived cookie secret):
    the OAuth state from replica A is read by replica B, B's cookie and A's XSRF token work on
    both. A replica with another secret is the control: it can finish nothing."""
    url = http_server.add("hub/replicated_login.nc", os.urandom(3_000))
    kernel_fetch(hub, "alice", url)
    (copy,) = dataset_of(hub, "replicated_login.nc")["copy_list"]
    with hub.replica() as other:
        browser, ended = login_across_replicas(hub, "bob", other)
        # back where the login began on A (HubOAuth's next_url, read from A's sealed state;
        # a replica that lost the state sends the browser to its bare prefix instead)
        begun = "/services/ddas/oauth_login?next=%2Fservices%2Fddas%2Fddas%2Fapi%2Fstats"
        assert ended == f"302 {begun}", ended
        on_a, on_b = hub.service_base, f"{other}/ddas/api/"
        for base in (on_b, on_a, on_b):
            whoami = browser.get(base + "whoami", timeout=30)
            assert whoami.status_code == 200 and whoami.json()["user"] == hub.name("bob")
        xsrf = {"X-XSRFToken": browser.get(on_a + "whoami", timeout=30).json()["xsrf_token"]}
        refused = browser.delete(on_b + f"copies/{copy['id']}", headers=xsrf, timeout=30)
        # past the XSRF check on B with A's token: refused for ownership, not for CSRF
        assert refused.status_code == 403 and "only they or an admin" in refused.json()["message"]
    with hub.replica(DDAS_SERVICE_COOKIE_SECRET="ab" * 32) as stranger:
        cookie_there = browser.get(f"{stranger}/ddas/api/whoami", timeout=30)
        assert cookie_there.status_code == 401, cookie_there.text
        _, ended = login_across_replicas(hub, "bob", stranger)
        assert ended.startswith("403"), ended  # the state sealed by A means nothing to it
