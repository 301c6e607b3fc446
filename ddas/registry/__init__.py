"""The shared registry: what datasets exist, where, whose, verified how.

``Registry()`` connects to ``DDAS_REGISTRY`` (an SQLAlchemy URL, or a plain path meaning SQLite; by
default an embedded SQLite file under the user's data directory), migrating the schema on first use.
Every other part of DDAS (fetch, scans, the server extension) talks to the database only through it.

``Registry`` is a front: the work is done by collaborators that each hold one concept and share one
:class:`~ddas.registry.database.Database` (engine, transactions, dialect), the way fsspec's
``CachingFileSystem`` leaves its metadata to one ``CacheMetadata``. Each public method is answered
by one of them, as the table in the class body says (``copies_for_url`` by :class:`~ddas.registry.lookups.Lookups`,
``acquire_lease`` by :class:`~ddas.registry.leases.Leases`...).

The package imports nothing until one of its names is used (PEP 562): a scan's Core-only path
(:mod:`ddas.registry.scanview`, :mod:`ddas.registry.engine`) must not pay for the ORM that
:mod:`ddas.registry.front` and its collaborators import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ddas.registry.front import Registry, lease_key, new_holder

__all__ = ["Registry", "lease_key", "new_holder"]


def __getattr__(name: str) -> Any:
    if name in __all__ or name == "_By":
        from ddas.registry import front

        return getattr(front, name)
    raise AttributeError(f"module 'ddas.registry' has no attribute {name!r}")
