"""DDAS as a JupyterHub service: a real Hub, real proxy, the service as the registry's one writer.

Kernels are real processes with what the Hub gives a single-user server (``JUPYTERHUB_API_TOKEN``,
``JUPYTERHUB_API_URL``) and ``DDAS_REGISTRY=hub://ddas``; run as root they are real Unix users.
Each test uses its own URLs on the counting HTTP server, so the Hub (one per backend) is shared.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import make_pg_url
from tests.fixtures.hub import IS_ROOT, Hub, running_hub

pytestmark = pytest.mark.slow

FETCH = """
import json, ddas
from ddas.api import fetch_result
r = fetch_result({url!r}, progress=False, quiet=True)
with open(r.path, "rb") as f:
    n = len(f.read())
print(json.dumps({{**r.to_dict(), "read": n}}))
"""

WATCHED_FETCH = """
import json
from ddas.api import fetch_result
class Bar:  # a tqdm-like progress object, as pooch users pass
    def __init__(self):
        self.n, self.seen = 0, []
    def update(self, k):
        self.n += k
        self.seen.append(self.n)
    def close(self):
        pass
bar = Bar()
r = fetch_result({url!r}, progress=bar, quiet=True)
with open(r.path, "rb") as f:
    n = len(f.read())
print(json.dumps({{**r.to_dict(), "read": n, "seen": bar.seen}}))
"""

SERVICE_APP = "ddas-svc-"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def hub(request: pytest.FixtureRequest) -> Iterator[Hub]:
    schema_holder: list[str] = []

    def registry_url_for(folder: Path) -> str:
        if request.param == "sqlite":
            return f"sqlite:///{folder / 'registry.db'}"
        url, schema = make_pg_url(request.getfixturevalue("pg_admin"))
        schema_holder.append(schema)
        return f"{url}&application_name={SERVICE_APP}{schema}"  # its connections, countable

    with running_hub(registry_url_for) as running:
        yield running
    if schema_holder:
        import sqlalchemy as sa

        with request.getfixturevalue("pg_admin").connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema_holder[0]}" CASCADE'))


def kernel_fetch(hub: Hub, who: str, url: str, **env: str) -> dict[str, Any]:
    done = hub.python_as(who, FETCH.format(url=url), **env)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def dataset_of(hub: Hub, name: str) -> dict[str, Any]:
    """The registry's record of the dataset called ``name``, as the admin (dana) reads it."""
    page = hub.api("dana", "GET", "datasets", params={"q": name}).json()
    (item,) = [i for i in page["items"] if i["name"] == name]
    return hub.api("dana", "GET", f"datasets/{item['id']}").json()


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


def wait_for(condition: Any, what: str, timeout: float = 120.0) -> None:
    """Poll a condition the test observes on a real server (not a sleep standing in for sync)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


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


def browser_login(hub: Hub, who: str) -> requests.Session:
    """A browser's session: logged in to the Hub, then through the service's OAuth."""
    browser = requests.Session()
    browser.get(f"{hub.public_url}/hub/login", timeout=30).raise_for_status()
    form = {"username": hub.name(who), "password": "any", "_xsrf": browser.cookies.get("_xsrf")}
    login = browser.post(  # not followed: it would spawn a server, which the tests do not need
        f"{hub.public_url}/hub/login", data=form, allow_redirects=False, timeout=30
    )
    assert login.status_code == 302, login.text[:500]
    whoami = browser.get(
        f"{hub.public_url}/services/ddas/oauth_login",
        params={"next": "/services/ddas/ddas/api/whoami"},
        timeout=30,
    )
    assert whoami.status_code == 200, whoami.text[:500]
    assert whoami.json()["user"] == hub.name(who)
    return browser


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


def peak_connections(pg_admin: Any, application: str, work: Any) -> int:
    """The most PostgreSQL backends named ``application`` seen while ``work()`` runs (sampled)."""
    import threading

    import sqlalchemy as sa

    peak, done = [0], threading.Event()

    def sample() -> None:
        with pg_admin.connect() as conn:
            while not done.is_set():
                n = conn.execute(
                    sa.text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :a"),
                    {"a": application},
                ).scalar_one()
                peak[0] = max(peak[0], int(n))
                done.wait(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        work()
    finally:
        done.set()
        sampler.join()
    return peak[0]


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


def login_across_replicas(hub: Hub, who: str, callback_base: str) -> tuple[requests.Session, str]:
    """A browser logs in to the Hub, begins the service's OAuth on the replica the proxy picks
    and ends it (the callback) on ``callback_base``; returns the session and where it was sent."""
    browser = requests.Session()
    browser.get(f"{hub.public_url}/hub/login", timeout=30).raise_for_status()
    form = {"username": hub.name(who), "password": "any", "_xsrf": browser.cookies.get("_xsrf")}
    login = browser.post(
        f"{hub.public_url}/hub/login", data=form, allow_redirects=False, timeout=30
    )
    assert login.status_code == 302, login.text[:500]
    begin = browser.get(
        f"{hub.public_url}/services/ddas/oauth_login",
        params={"next": "/services/ddas/ddas/api/stats"},
        allow_redirects=False,
        timeout=30,
    )
    assert begin.status_code == 302 and "/hub/api/oauth2/authorize" in begin.headers["Location"]
    authorize = browser.get(
        requests.compat.urljoin(hub.public_url, begin.headers["Location"]),
        allow_redirects=False,
        timeout=30,
    )
    assert authorize.status_code == 302, authorize.text[:500]
    callback = requests.compat.urlsplit(authorize.headers["Location"])
    assert callback.path == "/services/ddas/oauth_callback", callback
    done = browser.get(
        f"{callback_base}/oauth_callback?{callback.query}", allow_redirects=False, timeout=30
    )
    return browser, f"{done.status_code} {done.headers.get('Location', done.text[:300])}"


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
