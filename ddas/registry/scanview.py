"""What a scan reads of the registry, and the one row it writes when nothing changed: Core only.

A rescan of unchanged storage reads what the registry knows under the roots (one query), compares
it with the walk, and writes nothing but its ``scan`` event. That path must not pay for the ORM
(``import sqlalchemy.orm`` and the declarative models are a third of a scan's start-up), so this
module speaks SQLAlchemy Core through lightweight ``table()``/``column()`` clauses naming only the
columns it uses. Writes of what changed go through the full :class:`ddas.registry.Registry`,
opened only when there is something to write (:meth:`ScanView.registry`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, column, insert, table
from sqlalchemy.exc import DBAPIError

from ddas import config
from ddas.errors import ServiceRegistryError
from ddas.registry.known import KnownCopy, known_copies, known_copy_slices

if TYPE_CHECKING:  # pragma: no cover
    from ddas.registry import Registry

__all__ = ["KnownCopy", "ScanView"]


_EVENT = ("kind", "user", "at", "bytes", "seconds", "detail")
_EVENTS = table("events", *map(column, _EVENT))


class ScanView:
    """A scan's connection to the registry: its memory of the roots, and the scan event.

    Opened from a URL (``None``: ``DDAS_REGISTRY``) with the same checks as ``Registry()``
    (a service-mode URL is refused, the schema is brought up to date), or over an open
    ``Registry``, whose engine it then shares.
    """

    def __init__(self, registry: Registry | str | None = None) -> None:
        if registry is not None and not isinstance(registry, str):
            self.url, self.engine, self._registry = registry.url, registry.engine, registry
            self._owned = False
            return
        from ddas.registry.engine import create_registry_engine, ensure_schema

        self.url, self._registry = registry or config.registry_url(), None
        if config.registry_service(self.url):  # only the service itself holds the database
            raise ServiceRegistryError(self.url)
        self.engine: Engine = create_registry_engine(self.url)
        self._owned = True
        try:
            ensure_schema(self.engine)
        except DBAPIError:  # e.g. no access to SQLite's -wal/-shm: the Registry says it typed
            self.engine.dispose()
            self.registry()
            raise
        except BaseException:
            self.engine.dispose()
            raise

    def close(self) -> None:
        """Close the connections this view opened (none if it shares a ``Registry``'s engine)."""
        if self._owned:
            self.engine.dispose()

    def registry(self) -> Registry:
        """The full registry, for writes (imports the ORM the first time)."""
        if self._registry is None:
            from ddas.registry import Registry

            self._registry = Registry(self.url)
        return self._registry

    def known_copies_under(self, host: str, prefix: str) -> list[KnownCopy]:
        """Copies on ``host`` whose location is ``prefix`` or below it, any state, in one query."""
        return known_copies(self.engine, host, prefix)

    def known_copy_slices_under(self, host: str, prefix: str) -> Iterator[list[tuple]]:
        """The same copies a slice at a time as plain rows in ``KnownCopy``'s field order,
        never all in one list (a rescan compares each slice with the walk as it arrives)."""
        return known_copy_slices(self.engine, host, prefix)

    def record_scan(self, *, nbytes: int, seconds: float, detail: dict[str, Any]) -> None:
        """Append the scan's ``scan`` event (no tally counts scans: a plain insert)."""
        row = {
            "kind": "scan",
            "user": config.current_user(),
            "at": time.time(),
            "bytes": int(nbytes),
            "seconds": float(seconds),
            "detail": json.dumps(detail, default=str),
        }
        try:
            with self.engine.connect() as conn:
                conn = conn.execution_options(ddas_write=True)
                with conn.begin():
                    conn.execute(insert(_EVENTS), row)
        except DBAPIError as exc:  # a reader who may not write: the typed error, not the driver's
            from ddas.permissions import registry_error

            denied = registry_error(self.engine.url.render_as_string(hide_password=True), exc)
            if denied is None:
                raise
            raise denied from None
