"""Shared fixtures: every test gets its own registry, store and user, on SQLite *and* PostgreSQL.

The ``registry_url`` fixture is parametrized over both backends so the same tests run against each.
PostgreSQL isolation is one schema per test (``search_path`` set through the connection options), on
the real server at 127.0.0.1:5432, database ``test``, trust auth. On a machine without that server
the PostgreSQL half skips with the reason; CI (``CI`` or ``DDAS_TEST_PG_REQUIRED`` set, as
``.ci/run`` does) fails instead, so the backend can never drop out of the suite unnoticed.
"""

from __future__ import annotations

import os
import uuid
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
)

PG_ADMIN_URL = os.environ.get("DDAS_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


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


def make_pg_url(pg_admin: sa.Engine) -> tuple[str, str]:
    schema = f"ddas_t_{uuid.uuid4().hex[:12]}"
    with pg_admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    return f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}", schema


@pytest.fixture(params=["sqlite", "postgresql"])
def registry_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty registry database URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'registry.db'}"
        from ddas import metadata

        metadata.wait(60)  # extraction threads of this test's copies, before tmp_path goes
        return
    pg_admin = request.getfixturevalue("pg_admin")
    url, schema = make_pg_url(pg_admin)
    yield url
    from ddas import metadata
    from ddas.registry.database import _ENGINES

    metadata.wait(60)  # extraction threads of this test's copies, before their schema goes

    engine = _ENGINES.pop(url, None)
    if engine is not None:
        engine.dispose()
    with pg_admin.connect() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
def store_root(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def ddas_env(
    registry_url: str, store_root: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """Point the library at this test's registry and store, as an admin would with env vars."""
    env = {"DDAS_REGISTRY": registry_url, "DDAS_STORE": str(store_root), "DDAS_USER": "alice"}
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
