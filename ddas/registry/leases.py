"""Download leases: "one download per dataset at a time", across processes, users and machines.

A lease is a row keyed by what is being downloaded, with a holder, a heartbeat and an expiry. Taking
one is a single conditional statement that works identically on SQLite and PostgreSQL: insert if
absent, else take over only if the current lease has expired (its holder was killed or lost its
machine) — or, on the same host, at once when its holder process is gone. No file lock is involved: flock is unreliable on NFS/Lustre/GPFS and a crashed holder's lock
file lingers, while an expired row is simply taken over.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
import uuid
from typing import Any

from sqlalchemy import delete, select, update

from ddas import config
from ddas.records import LeaseInfo
from ddas.registry.database import RegistryPart
from ddas.registry.models import Lease
from ddas.registry.rows import lease_info


def lease_key(normalized_url: str) -> str:
    """Leases are keyed by a digest of the normalized URL (URLs can exceed index limits)."""
    return "url:" + hashlib.sha256(normalized_url.encode()).hexdigest()


def new_holder() -> str:
    """A holder id unique to this attempt that says which process holds it: host, pid, pid
    namespace (containers share host names) and the process's start time (pids are reused), so
    that a holder on this machine can tell a dead one at once, without waiting out its lease."""
    pid = os.getpid()
    return (
        f"{socket.gethostname()}:{pid}:{_pid_namespace()}:{_started(pid)}:{uuid.uuid4().hex[:12]}"
    )


def _pid_namespace() -> str:
    try:
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return "-"


def _started(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (``/proc/<pid>/stat`` field 22), "-"
    where there is no /proc; None if no such process exists."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except FileNotFoundError:
        return None
    except OSError:
        return "-"
    return stat.rsplit(b")", 1)[-1].split()[19].decode()  # comm may hold spaces and ')'


def holder_is_dead(holder: str) -> bool:
    """True only when the holder is a process of this host and pid namespace that is gone."""
    parts = holder.split(":")
    if len(parts) != 5 or parts[0] != socket.gethostname() or parts[2] != _pid_namespace():
        return False  # another machine or container: only its lease's expiry can tell
    if not parts[1].isdigit():
        return False
    started = _started(int(parts[1]))
    if started == "-" or parts[3] == "-":
        try:
            os.kill(int(parts[1]), 0)
        except ProcessLookupError:
            return True
        except OSError:
            return False
        return False
    return started != parts[3]


class Leases(RegistryPart):
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
                if s.execute(takeover).scalar_one_or_none() is None and not self._take_from_dead(
                    s, key, values
                ):
                    return None
            return lease_info(s.get_one(Lease, key))

    def _take_from_dead(self, s: Any, key: str, values: dict[str, Any]) -> bool:
        """Take over at once a live-looking lease whose holder is a dead process of this host
        (a kernel killed with -9 must not make its own user wait out the TTL)."""
        current = s.scalar(select(Lease.holder).where(Lease.key == key))
        if current is None or not holder_is_dead(current):
            return False
        takeover = (
            update(Lease)
            .where(Lease.key == key, Lease.holder == current)  # unless someone beat us to it
            .values(**values)
            .returning(Lease.key)
        )
        return s.execute(takeover).scalar_one_or_none() is not None

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
