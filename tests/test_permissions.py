"""People not set up for DDAS get one clear error, and lose nothing a read-only user may have.

A real second Unix user (``useradd`` here; the suite runs as root in CI) runs ``ddas fetch`` in a
subprocess against a registry and a store prepared by root, as an admin would: a registry they may
only read (SQLite file, PostgreSQL role), a store they may not write.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from ddas import metadata
from ddas.api import fetch_result
from ddas.identity import normalize_url
from ddas.registry import Registry, lease_key
from ddas.store import Store
from ddas.trees import fetch_tree_result

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("useradd"),
    reason="needs root and useradd to create a second Unix user (CI runs as root)",
)


@dataclass
class OtherUser:
    name: str
    home: Path

    def ddas(self, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        """``ddas ARGS`` as this user (setuid/setgid in the child, no supplementary groups)."""
        clean = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(self.home),
            "PYTHONDONTWRITEBYTECODE": "1",
            "DDAS_LEASE_WAIT": "5",
            **env,
        }
        python, site_dir = interpreter_for_others()
        code = f"import site; site.addsitedir({site_dir!r}); from ddas.cli import main; main()"
        return subprocess.run(
            [python, "-c", code, *args],
            env=clean,
            user=self.name,
            group=self.name,
            extra_groups=[],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=self.home,
        )


def _reachable_by_all(path: str) -> bool:
    """Every folder on the way is o+x and the file o+rx (root's own ~/.pyenv is 0700)."""
    real = Path(os.path.realpath(path))
    folders_ok = all(p.stat().st_mode & 0o001 for p in real.parents)
    return folders_ok and real.stat().st_mode & 0o005 == 0o005


def interpreter_for_others() -> tuple[str, str]:
    """A Python the other user can run, of this one's version, and this environment's site
    folder (its compiled wheels are for that version); skips when there is none."""
    import sysconfig

    site_dir = sysconfig.get_paths()["purelib"]
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (sys.executable, f"/usr/bin/{version}", f"/usr/local/bin/{version}"):
        if Path(candidate).exists() and _reachable_by_all(candidate):
            return candidate, site_dir
    pytest.skip(f"no {version} that another user may run (this one: {sys.executable})")


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder every user can reach (pytest's tmp_path is root's, mode 0700)."""
    path = Path(tempfile.mkdtemp(prefix="ddas-perm-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def other_user(shared_dir: Path) -> Iterator[OtherUser]:
    name = f"ddasu{uuid.uuid4().hex[:8]}"
    subprocess.run(
        ["useradd", "--no-create-home", "--user-group", "--shell", "/usr/sbin/nologin", name],
        check=True,
        capture_output=True,
    )
    home = shared_dir / name
    home.mkdir()
    shutil.chown(home, name, name)
    try:
        yield OtherUser(name, home)
    finally:
        subprocess.run(["userdel", name], check=False, capture_output=True)


@pytest.fixture
def prepared(shared_dir: Path, registry_url: str, http_server) -> dict:
    """root downloaded era5.nc into a store the other user may read but not write (2775 root);
    the registry is root's (SQLite: 0644 in a 0755 folder; PostgreSQL: tables only root's role
    may write, see ``read_only_url``)."""
    if registry_url.startswith("sqlite"):
        (shared_dir / "reg").mkdir(mode=0o755)
        registry_url = f"sqlite:///{shared_dir / 'reg' / 'registry.db'}"
    store = Store(shared_dir / "store")
    era5 = http_server.add("era5.nc", b"x" * 50_000)
    root = fetch_result(era5, registry=Registry(registry_url), store=store, quiet=True)
    assert metadata.wait(60)  # the .nc's metadata is extracted by a thread holding a connection
    Registry.dispose_all()  # root's connections closed: SQLite checkpoints and drops -wal/-shm
    return {"registry_url": registry_url, "store": store, "era5": era5, "path": root.path}


@pytest.fixture
def read_only_url(prepared: dict, pg_admin: sa.Engine) -> Iterator[str]:
    """The registry as the other user reaches it: SQLite as is (the file is root's, 0644), a
    PostgreSQL role with USAGE and SELECT only (what "not in the ddas_writer role" means)."""
    registry_url = prepared["registry_url"]
    if registry_url.startswith("sqlite"):
        yield registry_url
        return
    url = sa.engine.make_url(registry_url)
    schema = url.query["options"].split("search_path=", 1)[1]
    role = f"ddas_ro_{uuid.uuid4().hex[:8]}"
    with pg_admin.connect() as conn:
        conn.execute(sa.text(f'CREATE ROLE "{role}" LOGIN'))
        conn.execute(sa.text(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"'))
        conn.execute(sa.text(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{schema}" TO "{role}"'))
    yield url.set(username=role).render_as_string(hide_password=False)
    with pg_admin.connect() as conn:
        conn.execute(sa.text(f'DROP OWNED BY "{role}"'))
        conn.execute(sa.text(f'DROP ROLE "{role}"'))


def no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    assert "sqlite3.OperationalError" not in result.stderr
    assert "psycopg.errors" not in result.stderr and "InsufficientPrivilege" not in result.stderr


def the_error(result: subprocess.CompletedProcess[str]) -> str:
    """The one line a failed ``ddas fetch`` printed (exit code 1: a DDAS error)."""
    no_traceback(result)
    assert result.returncode == 1, result.stderr
    (line,) = result.stderr.strip().splitlines()
    print(line)  # the wording the docs quote (pytest -s)
    return line


def test_a_read_only_user_reuses_a_copy_and_is_told_it_was_not_recorded(
    prepared, read_only_url, other_user, http_server
):
    url = read_only_url
    env = {"DDAS_REGISTRY": url, "DDAS_STORE": str(prepared["store"].root)}
    # root keeps the registry open, as the Jupyter server does: SQLite's -wal/-shm then exist
    # (with the database file's mode, 0644), which a reader who cannot create them needs
    events_before = len(Registry(prepared["registry_url"]).events())
    dest = other_user.home / "mine"
    dest.mkdir()
    shutil.chown(dest, other_user.name, other_user.name)

    result = other_user.ddas("fetch", prepared["era5"], "--dest", str(dest), env=env)

    no_traceback(result)
    assert result.returncode == 0, result.stderr
    placed = Path(result.stdout.strip())
    assert placed == dest / "era5.nc" and placed.read_bytes() == prepared["path"].read_bytes()
    assert "reused" in result.stderr and "this reuse was not recorded" in result.stderr
    assert f"you ({other_user.name}) are not allowed to write the DDAS registry" in result.stderr
    # Debian's fs.protected_hardlinks=1: no hard link to root's file, a symlink instead
    if Path("/proc/sys/fs/protected_hardlinks").read_text().strip() == "1":
        assert placed.is_symlink() and placed.resolve() == prepared["path"].resolve()
    assert len(Registry(prepared["registry_url"]).events()) == events_before
    assert http_server.count("GET", "era5.nc") == 1  # root's download only


def test_a_read_only_user_cannot_download_and_is_told_whom_to_ask(
    prepared, read_only_url, other_user, http_server
):
    url = read_only_url
    env = {"DDAS_REGISTRY": url, "DDAS_STORE": str(prepared["store"].root)}
    new = http_server.add("cmip.nc", b"y" * 20_000)

    result = other_user.ddas("fetch", new, env=env)

    line = the_error(result)
    assert line.startswith(
        f"ddas: error: you ({other_user.name}) are not allowed to write the DDAS registry"
    )
    if url.startswith("sqlite"):
        assert str(Path(url.split(":///", 1)[1])) in line and "-rw-r--r-- root:root" in line
        assert "-wal and -shm" in line and "reg is drwxr-xr-x root:root" in line
    else:
        assert "GRANT ddas_writer" in line and "ddas_ro_" in line and "password" not in line
    assert http_server.count("GET", "cmip.nc") == 0
    assert list(prepared["store"].tmp.iterdir()) == []
    assert Registry(prepared["registry_url"]).copies_for_url(new) == []


def test_a_user_who_cannot_write_the_store_is_told_so_and_nothing_is_left(
    prepared, other_user, http_server
):
    """The registry is writable for them (PostgreSQL with a writer role; SQLite made 0666 in a
    sticky 1777 folder), the store is not (2775 root:root, and they are not in group root)."""
    registry_url = prepared["registry_url"]
    if registry_url.startswith("sqlite"):
        db = Path(registry_url.split(":///", 1)[1])
        db.parent.chmod(0o1777)
        db.chmod(0o666)
    env = {"DDAS_REGISTRY": registry_url, "DDAS_STORE": str(prepared["store"].root)}
    new = http_server.add("obs.csv", b"z" * 30_000)

    result = other_user.ddas("fetch", new, env=env)

    line = the_error(result)
    store = prepared["store"]
    assert f"are not allowed to write the DDAS store {store.root}" in line
    assert "ask your admin to add you to group 'root'" in line and "nothing was downloaded" in line
    assert http_server.count("GET", "obs.csv") == 0
    assert list(store.tmp.iterdir()) == []
    registry = Registry(registry_url)
    assert (
        registry.copies_for_url(new) == []
        and registry.current_lease(lease_key(normalize_url(new).url)) is None
    )


def test_the_admin_guides_writer_grants_let_a_role_download(prepared, pg_admin, http_server):
    """The SQL in docs/admin-guide.md, run as written (own schema, unique role names), is enough
    for a user's own login role to download and register."""
    if not prepared["registry_url"].startswith("postgresql"):
        pytest.skip("the grants are PostgreSQL's")
    guide = (Path(__file__).parents[1] / "docs" / "admin-guide.md").read_text()
    sql = guide.split("### A PostgreSQL registry: roles", 1)[1].split("```sql", 1)[1]
    sql = sql.split("```", 1)[0]
    url = sa.engine.make_url(prepared["registry_url"])
    schema = url.query["options"].split("search_path=", 1)[1]
    tag = uuid.uuid4().hex[:8]
    writer, user = f"ddas_writer_{tag}", f"ddas_user_{tag}"
    sql = sql.replace("ddas_writer", writer).replace("alice, bob", f'"{user}"')
    sql = sql.replace("SCHEMA public", f'SCHEMA "{schema}"')
    with pg_admin.connect() as conn:
        conn.execute(sa.text(f'CREATE ROLE "{user}" LOGIN'))
        conn.execute(sa.text(f"SET search_path TO {schema}"))
        for statement in filter(str.strip, sql.split(";")):
            conn.execute(sa.text(statement.split("--", 1)[0]))
    try:
        as_user = url.set(username=user).render_as_string(hide_password=False)
        new = http_server.add("grants.nc", b"g" * 10_000)
        result = fetch_result(new, registry=Registry(as_user), store=prepared["store"], quiet=True)
        assert not result.reused and result.path.read_bytes() == b"g" * 10_000
        assert [c.location for c in Registry(prepared["registry_url"]).copies_for_url(new)] == [
            str(result.path)
        ]
    finally:
        Registry.dispose_all()
        with pg_admin.connect() as conn:
            for role in (user, writer):
                conn.execute(sa.text(f'DROP OWNED BY "{role}"'))
                conn.execute(sa.text(f'DROP ROLE "{role}"'))


def test_a_second_unix_user_gets_the_whole_collection_moving_no_member_bytes(
    shared_dir, registry_url, other_user, http_server
):
    """root fetched a tree; another Unix account's ``ddas fetch --tree`` reuses every member (one
    HEAD each, no body) and reads them all through the shared version folder root built."""
    sqlite = registry_url.startswith("sqlite")
    if sqlite:  # a registry both may write: a sticky 1777 folder, the file made 0666 below
        (shared_dir / "reg").mkdir()
        (shared_dir / "reg").chmod(0o1777)
        registry_url = f"sqlite:///{shared_dir / 'reg' / 'registry.db'}"
    store = Store(shared_dir / "store")
    files = {"a.csv": b"a,b\n" + b"1,2\n" * 5000, "sub/b.csv": b"c\n" + b"3\n" * 7000}
    for rel, data in files.items():
        http_server.add(f"tree/{rel}", data)
    url = http_server.url("tree/")
    first = fetch_tree_result(url, registry=Registry(registry_url), store=store, quiet=True)
    assert metadata.wait(60)
    Registry.dispose_all()
    if sqlite:
        (shared_dir / "reg" / "registry.db").chmod(0o666)
    http_server.reset()
    env = {"DDAS_REGISTRY": registry_url, "DDAS_STORE": str(store.root)}

    result = other_user.ddas("fetch", "--tree", url, "--json", "--no-progress", env=env)

    no_traceback(result)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert (info["reused"], info["downloaded"]) == (2, 0) and info["path"] == str(first.path)
    assert sum(http_server.body_bytes(f"tree/{rel}") for rel in files) == 0
    assert all(http_server.count("GET", f"tree/{rel}") == 0 for rel in files)
    for rel, data in files.items():
        read = subprocess.run(
            ["cat", str(first.path / rel)], user=other_user.name, capture_output=True, timeout=30
        )
        assert read.returncode == 0 and read.stdout == data, read.stderr
    assert Registry(registry_url).collections().total == 1
