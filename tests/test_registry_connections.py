"""A PostgreSQL registry survives its server dropping every connection (a restart, a firewall).

Pooled connections are not pinged on every use (that round trip cost as much as a lookup, see
``benchmarks/registry_lookup.py``); one that sat idle is pinged and replaced if dead. This proves the
replacement happens, for lookups and for writes, with real connections killed by the server.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from ddas.identity import Validators
from ddas.registry import Registry, engine
from ddas.registry.database import _ENGINES
from tests.conftest import make_pg_url


@pytest.fixture
def pg_registry(pg_admin: sa.Engine) -> Iterator[tuple[Registry, str]]:
    url, schema = make_pg_url(pg_admin)
    app = f"ddas_conn_{uuid.uuid4().hex[:8]}"
    url = f"{url}&application_name={app}"
    yield Registry(url), app
    _ENGINES.pop(url).dispose()
    with pg_admin.connect() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


def kill_connections(pg_admin: sa.Engine, app: str) -> int:
    with pg_admin.connect() as conn:
        return len(
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = :app"
                ),
                {"app": app},
            ).all()
        )


def test_lookups_and_writes_reconnect_after_the_server_dropped_idle_connections(
    pg_registry: tuple[Registry, str], pg_admin: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry, app = pg_registry
    url = "https://data.example.org/era5.nc"
    copy = registry.record_download(
        url=url, validators=Validators(size=1), blake3="c" * 64, size=1, location="/store/era5.nc"
    )
    assert registry.copies_for_url(url) == [copy]
    monkeypatch.setattr(engine, "PING_AFTER_IDLE_S", 0.0)  # every pooled connection counts as idle

    assert kill_connections(pg_admin, app) >= 1, "the registry's pooled connection was killed"

    assert registry.copies_for_url(url) == [copy]
    assert registry.copies_for_digest("c" * 64) == [copy]
    kill_connections(pg_admin, app)
    registry.record_event("reuse", content_id=copy.content_id, nbytes=1)
    assert [e.kind for e in registry.events()] == ["download", "reuse"]
