"""Connecting to the registry database and bringing its schema up to date.

SQLite is the embedded default and must behave under many concurrent processes (a lab's kernels all
writing to one file): WAL journal, a generous busy timeout, and write transactions that start with
``BEGIN IMMEDIATE`` so that two writers queue on the busy handler instead of failing with
"database is locked" when both try to upgrade a read lock. PostgreSQL needs nothing special.

The schema is owned by Alembic migrations shipped in this package and applied on first connect, under a
lock so that 16 processes starting at once migrate exactly once. A database stamped by a *newer* DDAS
is refused with :class:`~ddas.errors.RegistrySchemaError`: never a silent downgrade.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import DisconnectionError

from ddas.errors import RegistrySchemaError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
#: The newest migration in ``migrations/versions``. Known without importing Alembic (a quarter of a
#: second, every ``ddas`` command and kernel), so an up-to-date registry never loads it;
#: ``tests/test_migrations.py`` checks this against Alembic's own view of the scripts.
HEAD_REVISION = "0009_pg_prewarm"
_PG_MIGRATION_LOCK = 0x0DDA5  # pg_advisory_xact_lock key serialising schema upgrades
SQLITE_BUSY_TIMEOUT_S = 60.0
PING_AFTER_IDLE_S = 5.0  # see _ping_when_idle


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic configuration pointing at the migrations inside the installed package."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The head as Alembic computes it from the scripts (slow: imports Alembic)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head() or ""


def sqlite_file(url: str | URL) -> str | None:
    """The file behind an SQLite registry URL; None for PostgreSQL or an in-memory database."""
    sa_url = make_url(url)
    if sa_url.get_backend_name() != "sqlite" or sa_url.database in (None, "", ":memory:"):
        return None
    return sa_url.database


def create_registry_engine(url: str) -> Engine:
    """An Engine configured for the backend behind ``url`` (SQLite or PostgreSQL)."""
    sa_url = make_url(url)
    if sa_url.get_backend_name() == "sqlite":
        if (database := sqlite_file(sa_url)) is not None:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            sa_url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False}
        )
        _configure_sqlite(engine)
        return engine
    if sa_url.get_backend_name() == "postgresql" and sa_url.drivername == "postgresql":
        sa_url = sa_url.set(drivername="postgresql+psycopg")  # psycopg 3, not psycopg2
    engine = create_engine(sa_url, pool_size=5, max_overflow=10)
    _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection before use only if it sat idle for a while.

    ``pool_pre_ping`` pings on *every* checkout: a round trip as long as the lookup itself, on the
    fetch hot path. A connection in steady use is alive; one that idled may have been cut by a server
    restart or a firewall, so only that one is pinged, and replaced if dead (``DisconnectionError``
    makes the pool retry with a fresh connection).
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn, record) -> None:
        record.info["ddas_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn, record, _proxy) -> None:
        idle_since = record.info.get("ddas_idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:
            raise DisconnectionError("pooled connection is dead; reconnecting") from exc


def _use_wal(cur: sqlite3.Cursor) -> None:
    """Put the database in WAL mode (persistent: a no-op once any process did it).

    Switching needs an exclusive lock, and SQLite answers "database is locked" at once, without
    its busy handler, when another connection holds or wants the lock meanwhile: 16 processes
    opening a new registry together hit that. So retry with jitter up to the busy timeout.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    while True:
        try:
            if cur.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() > deadline:
                raise
            time.sleep(random.uniform(0.005, 0.05))


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves, see _on_begin
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        _use_wal(cur)
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        options = conn.get_execution_options()
        if options.get("ddas_autocommit", False):
            return  # a one-statement lookup is its own snapshot: no BEGIN/ROLLBACK round trips
        conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get("ddas_write", False) else "BEGIN")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """Serialise migrations across processes: a file lock next to a SQLite file (a local
    optimisation on one machine; BEGIN IMMEDIATE protects the rest) or a PostgreSQL advisory lock."""
    if (database := sqlite_file(engine.url)) is not None:
        lock_path = Path(database).with_suffix(".migrate.lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
        with contextlib.suppress(OSError):  # another user's lock file: it is shared already
            os.fchmod(fd, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
    else:
        yield


def current_revision(conn: Connection) -> str | None:
    """The revision the database is stamped with (None: never migrated), read with plain SQL."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(versions) > 1:  # branches: only Alembic can say what that means
        raise RegistrySchemaError(f"the registry has several schema heads: {sorted(versions)}")
    return versions[0] if versions else None


#: Alembic's ``context``/``op`` proxies are module globals: two threads of one process migrating
#: (two registries, or a background metadata thread) would tear them down under each other.
_ALEMBIC_THREADS = threading.Lock()


def ensure_schema(engine: Engine) -> None:
    """Apply pending migrations; refuse a schema newer than this code knows."""
    head = HEAD_REVISION
    with engine.connect() as conn:
        revision = current_revision(conn)
    if revision == head:
        return
    from alembic import command  # only now: the registry needs migrating (or is unknown)

    check_known_revision(revision)
    with _ALEMBIC_THREADS, _migration_lock(engine), engine.connect() as conn:
        conn = conn.execution_options(ddas_write=True)
        with conn.begin():
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            revision = current_revision(conn)
            if revision == head:
                return
            check_known_revision(revision)
            command.upgrade(alembic_config(conn), "head")


def check_known_revision(revision: str | None) -> None:
    """Raise the user-facing error for a registry stamped by a newer DDAS."""
    if revision is None:
        return
    from alembic.script import ScriptDirectory

    try:
        known = ScriptDirectory.from_config(alembic_config()).get_revision(revision)
    except Exception:  # alembic raises several types for unknown revisions
        known = None
    if known is None:
        raise RegistrySchemaError(
            f"the registry's schema is at revision {revision!r}, which this DDAS does not know: "
            "it was upgraded by a newer DDAS. Upgrade ddas (pip install -U ddas); "
            "DDAS never downgrades a registry."
        )
