"""The shared registry: what datasets exist, where, whose, verified how.

``Registry()`` connects to ``DDAS_REGISTRY`` (an SQLAlchemy URL, or a plain path meaning SQLite; by
default an embedded SQLite file under the user's data directory), migrating the schema on first use.
Every other part of DDAS (fetch, scans, the server extension) talks to the database only through it.

The package imports nothing until a name is used (PEP 562): a scan's Core-only path
(:mod:`ddas.registry.scanview`, :mod:`ddas.registry.engine`) must not pay for the ORM that
``Registry`` and its models import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ddas.registry.front import Registry, lease_key, new_holder

__all__ = ["Registry", "lease_key", "new_holder"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from ddas.registry import front

        return getattr(front, name)
    raise AttributeError(f"module 'ddas.registry' has no attribute {name!r}")
