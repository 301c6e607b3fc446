"""The one database helper every part of the registry shares: engine, transactions, dialect.

:class:`Database` owns what is about the connection rather than about datasets: one pooled engine
per URL for the whole process (``_ENGINES``), migrating the schema on first use, read sessions,
write transactions (``BEGIN IMMEDIATE`` on SQLite, see :mod:`ddas.registry.engine`), the dialect's
``INSERT ... ON CONFLICT``, and turning a driver's permission error into the typed
:class:`~ddas.errors.RegistryPermissionError`. :class:`RegistryPart` is the base of the registry's
collaborators (lookups, writes, leases, scans, ...): it hands each the same ``engine``, ``_read()``,
``_write()`` and ``_insert()`` over the one :class:`Database` it was built with, the way fsspec's
``CachingFileSystem`` hands all metadata work to the one ``CacheMetadata`` it holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, NoReturn

from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ddas import config
from ddas.errors import ServiceRegistryError
from ddas.identity import NormalizedURL, normalize_url
from ddas.permissions import registry_error
from ddas.registry.engine import create_registry_engine, ensure_schema

#: One engine (and so one connection pool) per registry URL in this process.
_ENGINES: dict[str, Engine] = {}


def as_normalized(url: str | NormalizedURL) -> NormalizedURL:
    """The registry keys sources by normalized URL; callers may pass either form."""
    return url if isinstance(url, NormalizedURL) else normalize_url(url)


class Database:
    """The registry database at ``url`` (default ``DDAS_REGISTRY``), migrated when ``migrate``."""

    def __init__(self, url: str | None = None, *, migrate: bool = True) -> None:
        self.url = url or config.registry_url()
        if config.registry_service(self.url):  # only the service itself holds the database
            raise ServiceRegistryError(self.url)
        engine = _ENGINES.get(self.url)
        if engine is None:
            engine = create_registry_engine(self.url)
            if migrate:
                try:
                    ensure_schema(engine)
                except DBAPIError as exc:  # SQLite cannot even read without -wal/-shm access
                    engine.dispose()
                    self.raise_denied(exc, engine)
                except BaseException:  # e.g. a newer schema: do not leak the pool's connections
                    engine.dispose()
                    raise
            _ENGINES[self.url] = engine
        self.engine = engine

    @property
    def shown_url(self) -> str:
        """The engine's URL as it may be shown or logged: never with its password."""
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``: the few statements that differ ask this."""
        return self.engine.dialect.name

    @staticmethod
    def dispose_all() -> None:
        """Close pooled connections (tests, and forked workers that must not share sockets)."""
        for engine in _ENGINES.values():
            engine.dispose()
        _ENGINES.clear()

    @contextmanager
    def read(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction; on SQLite it starts with BEGIN IMMEDIATE (see ``engine``).

        A user who may read but not write the registry gets one typed error naming it and what
        to ask the admin for (:class:`ddas.errors.RegistryPermissionError`), not the driver's.
        """
        try:
            with self.engine.connect() as conn:
                conn = conn.execution_options(ddas_write=True)
                with Session(bind=conn, expire_on_commit=False) as session:
                    try:
                        yield session
                        session.commit()
                    except BaseException:
                        session.rollback()
                        raise
        except DBAPIError as exc:
            self.raise_denied(exc, self.engine)

    @staticmethod
    def raise_denied(exc: DBAPIError, engine: Engine) -> NoReturn:
        """Raise the typed error for a permission problem, else ``exc`` itself."""
        denied = registry_error(engine.url.render_as_string(hide_password=True), exc)
        if denied is None:
            raise exc
        raise denied from None

    def insert(self, model: type) -> Any:
        """The dialect's INSERT for ``model``, the one with ``on_conflict_do_*`` upserts."""
        dialect = sqlite if self.dialect == "sqlite" else postgresql
        return dialect.insert(model)


class RegistryPart:
    """Base of the registry's collaborators: one concept each, over one shared :class:`Database`.

    The helpers keep the names the registry's methods have always used (``self.engine``,
    ``self._read()``, ``self._write()``, ``self._insert()``), so a method reads the same whichever
    collaborator holds it.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    @property
    def engine(self) -> Engine:
        return self.db.engine

    def _read(self) -> AbstractContextManager[Session]:
        return self.db.read()

    def _write(self) -> AbstractContextManager[Session]:
        return self.db.write()

    def _insert(self, model: type) -> Any:
        return self.db.insert(model)
