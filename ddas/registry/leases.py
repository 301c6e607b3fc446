"""Download leases: "one download per dataset at a time", across processes, users and machines.

A lease is a row keyed by what is being downloaded, with a holder, a heartbeat and an expiry. Taking
one is a single conditional statement that works identically on SQLite and PostgreSQL: insert if
absent, else take over only if the current lease has expired (its holder was killed or lost its
machine). No file lock is involved: flock is unreliable on NFS/Lustre/GPFS and a crashed holder's lock
file lingers, while an expired row is simply taken over.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
import uuid

from sqlalchemy import delete, select, update

from ddas import config
from ddas.records import LeaseInfo
from ddas.registry.core import RegistryCore
from ddas.registry.models import Lease
from ddas.registry.rows import lease_info


def lease_key(normalized_url: str) -> str:
    """Leases are keyed by a digest of the normalized URL (URLs can exceed index limits)."""
    return "url:" + hashlib.sha256(normalized_url.encode()).hexdigest()


def new_holder() -> str:
    """A holder id unique to this attempt, readable enough to debug (host, pid)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


class RegistryLeases(RegistryCore):
    """Acquire / heartbeat / release of download leases."""

    def acquire_lease(
        self,
        key: str,
        holder: str,
        *,
        ttl: float | None = None,
        user: str | None = None,
        total_bytes: int | None = None,
    ) -> LeaseInfo | None:
        """Take the lease, or take over an expired one. ``None`` means someone else holds it."""
        ttl = config.lease_ttl() if ttl is None else ttl
        now = time.time()
        values = {
            "holder": holder,
            "user": user or config.current_user(),
            "acquired_at": now,
            "heartbeat_at": now,
            "expires_at": now + ttl,
            "progress_bytes": 0,
            "total_bytes": total_bytes,
        }
        with self._write() as s:
            stmt = self._insert(Lease).values(key=key, **values)
            # RETURNING, not rowcount: drivers disagree on rowcount for ON CONFLICT statements.
            stmt = stmt.on_conflict_do_nothing(index_elements=["key"]).returning(Lease.key)
            if s.execute(stmt).scalar_one_or_none() is None:
                takeover = (
                    update(Lease)
                    .where(Lease.key == key, Lease.expires_at < now)
                    .values(**values)
                    .returning(Lease.key)
                )
                if s.execute(takeover).scalar_one_or_none() is None:
                    return None
            return lease_info(s.get_one(Lease, key))

    def heartbeat(
        self, key: str, holder: str, *, progress_bytes: int | None = None, ttl: float | None = None
    ) -> bool:
        """Extend our lease (and publish progress). False: we lost it (expired and taken over)."""
        ttl = config.lease_ttl() if ttl is None else ttl
        now = time.time()
        values: dict[str, object] = {"heartbeat_at": now, "expires_at": now + ttl}
        if progress_bytes is not None:
            values["progress_bytes"] = progress_bytes
        with self._write() as s:
            stmt = (
                update(Lease)
                .where(Lease.key == key, Lease.holder == holder)
                .values(**values)
                .returning(Lease.key)
            )
            return s.execute(stmt).scalar_one_or_none() is not None

    def release_lease(self, key: str, holder: str) -> None:
        """Drop our lease; a no-op if it was already taken over."""
        with self._write() as s:
            s.execute(delete(Lease).where(Lease.key == key, Lease.holder == holder))

    def current_lease(self, key: str) -> LeaseInfo | None:
        """The live lease on ``key``, or None (expired leases count as none)."""
        with self._read() as s:
            row = s.scalar(select(Lease).where(Lease.key == key, Lease.expires_at >= time.time()))
            return lease_info(row) if row else None
