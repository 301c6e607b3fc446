"""Shared fixtures: every test gets its own registry, store and user, on SQLite *and* PostgreSQL.

The ``registry_url`` fixture is parametrized over both backends so the same tests run against each.
PostgreSQL isolation is one schema per test (``search_path`` set through the connection options), on
the real server at 127.0.0.1:5432, database ``test``, trust auth. On a machine without that server
the PostgreSQL half skips with the reason; CI (``CI`` or ``DDAS_TEST_PG_REQUIRED`` set, as
``.ci/run`` does) fails instead, so the backend can never drop out of the suite unnoticed.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

pytest_plugins = (
    "pytest_jupyter.jupyter_server",
    "tests.fixtures.http_server",
    "tests.fixtures.nginx",
    "tests.fixtures.s3_server",
    "tests.fixtures.ddas_server",
    "tests.fixtures.lab",
    "tests.fixtures.net_servers",
    "tests.fixtures.registry_templates",
    "tests.fixtures.hub_service",
    "tests.fixtures.search_library",
)

PG_ADMIN_URL = os.environ.get("DDAS_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session", autouse=True)
def _checkout_reachable_by_other_users() -> None:
    """Let the second Unix users of the permission and Hub tests reach this checkout and its
    ``.venv``: a clone inside ``mktemp -d`` (mode 0700) hides both, and their Python then
    cannot import ``ddas``. As root, each folder above the checkout that lacks it gets o+x
    (traverse only: nobody can list it). It is not taken back at the end: under xdist each
    worker has its own session, and the first to finish would lock the others' users out."""
    if os.geteuid() != 0:
        return
    for folder in Path(__file__).resolve().parents[1].parents:
        mode = folder.stat().st_mode
        if not mode & 0o001:
            folder.chmod((mode & 0o7777) | 0o001)


def _pg_unreachable() -> str | None:
    """Why PostgreSQL cannot be used here, or None when it answers."""
    try:
        engine = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 5})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any driver or network error means the same: no server to test on
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}"


def _pg_required() -> bool:
    return bool(os.environ.get("CI") or os.environ.get("DDAS_TEST_PG_REQUIRED"))


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[sa.Engine]:
    if (reason := _pg_unreachable()) is not None:
        message = (
            f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({reason}); start a server there "
            "(trust auth, database `test`) or point DDAS_TEST_PG at one"
        )
        if _pg_required():
            pytest.fail(message + "; CI runs every PostgreSQL test")
        pytest.skip(message)
    engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def pg_schema_of(url: str) -> str:
    """The schema a URL of :func:`make_pg_url` points at."""
    match = re.search(r"search_path%3D(\w+)", url)
    assert match, f"not a schema-per-test URL: {url}"
    return match.group(1)


def make_pg_url(pg_admin: sa.Engine) -> tuple[str, str]:
    schema = f"ddas_t_{uuid.uuid4().hex[:12]}"
    with pg_admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    return f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}", schema


@contextlib.contextmanager
def blank_registry(backend: str, folder: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A blank (never migrated) registry URL on ``backend``, gone afterwards."""
    from ddas import metadata

    if backend == "sqlite":
        yield f"sqlite:///{folder / 'registry.db'}"
        metadata.wait(60)  # extraction threads of this registry's copies, before folder goes
        return
    pg_admin = request.getfixturevalue("pg_admin")
    url, schema = make_pg_url(pg_admin)
    yield url
    from ddas.registry.database import _ENGINES

    metadata.wait(60)  # extraction threads of this registry's copies, before their schema goes
    engine = _ENGINES.pop(url, None)
    if engine is not None:
        engine.dispose()
    with pg_admin.connect() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


def copy_migrated_template(url: str, request: pytest.FixtureRequest) -> str:
    """Bring the blank registry ``url`` to head by copying the session's migrated template."""
    from tests.fixtures.registry_templates import copy_pg_template, copy_sqlite_template

    if url.startswith("sqlite:///"):
        copy_sqlite_template(
            request.getfixturevalue("sqlite_template"), Path(url.removeprefix("sqlite:///"))
        )
    else:
        copy_pg_template(request.getfixturevalue("pg_template"), pg_schema_of(url))
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def registry_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, blank (never migrated) registry database URL on each backend; tests that need it
    at head take ``ddas_env``/``migrated_registry_url``, which copy a migrated template into it."""
    with blank_registry(request.param, tmp_path, request) as url:
        yield url


@pytest.fixture
def migrated_registry_url(registry_url: str, request: pytest.FixtureRequest) -> str:
    """``registry_url`` at head with no rows: a copy of the session's migrated template."""
    return copy_migrated_template(registry_url, request)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_registry_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """One registry at head per backend for a whole module, for tests that only read what a
    module-scoped fixture seeded once (a test that writes takes ``registry`` instead)."""
    with blank_registry(request.param, tmp_path_factory.mktemp("registry"), request) as url:
        yield copy_migrated_template(url, request)


@pytest.fixture
def store_root(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def ddas_env(
    migrated_registry_url: str, store_root: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """Point the library at this test's registry and store, as an admin would with env vars.

    The registry is already at head (a template copy): what a test sees first is an empty registry
    a DDAS has opened before, not the migration, which ``test_migrations`` covers."""
    env = {
        "DDAS_REGISTRY": migrated_registry_url,
        "DDAS_STORE": str(store_root),
        "DDAS_USER": "alice",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("DDAS_POLICY", raising=False)
    monkeypatch.delenv("JUPYTERHUB_USER", raising=False)
    return env


@pytest.fixture
def registry(ddas_env: dict[str, str]):
    from ddas.registry import Registry

    return Registry(ddas_env["DDAS_REGISTRY"])


@pytest.fixture
def store(ddas_env: dict[str, str]):
    from ddas.store import Store

    return Store(ddas_env["DDAS_STORE"])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Long modules first. ``make test`` hands whole modules to its workers in collection order
    (pytest-xdist ``--dist loadfile``); alphabetically, the browser and hub modules came last,
    and one worker ran them alone for minutes while the other was idle. A module's weight is its
    test count, forty per test marked ``slow`` or ``browser``; the sort is stable, so each module
    keeps its own order."""
    weight: Counter[Path] = Counter()
    for item in items:
        heavy = item.get_closest_marker("slow") or item.get_closest_marker("browser")
        weight[item.path] += 40 if heavy else 1
    items.sort(key=lambda item: -weight[item.path])
