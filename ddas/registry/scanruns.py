"""Registry methods for the life of a server-run scan: started, alive, ended — or interrupted.

A scan writes its results in batches as it goes, so a server killed mid-scan leaves a consistent
registry, but nothing said that the scan never finished. Each scan a server starts is a
``scan_runs`` row (host, pid, heartbeat); when a server starts, rows still ``running`` whose process
is gone (same host, pid not alive) or whose heartbeat stopped long ago (any host: a replica that
died elsewhere) are marked ``interrupted``, each with a ``scan`` event for the audit trail.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from ddas import config
from ddas.records import ScanRunInfo
from ddas.registry.database import RegistryPart
from ddas.registry.models import ScanRun
from ddas.registry.rows import scan_run_info
from ddas.registry.writes import add_event

#: A running scan's heartbeat is written at least this often (seconds).
SCAN_HEARTBEAT_EVERY = 30.0
#: A ``running`` row on another host with no heartbeat for this long is a dead server's.
SCAN_STALE_AFTER = 600.0


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's
        return True
    return True


class ScanRuns(RegistryPart):
    """``scan_run_*`` methods; see :mod:`ddas.registry.scanruns`."""

    def scan_run_started(
        self, user: str, roots: Sequence[str], *, host: str | None = None, pid: int | None = None
    ) -> int:
        """Record a scan starting now in this process (``host``/``pid``: tests, other agents)."""
        now = time.time()
        with self._write() as s:
            row = ScanRun(
                user=user,
                roots=json.dumps(list(roots)),
                state="running",
                host=host or config.hostname(),
                pid=os.getpid() if pid is None else pid,
                started_at=now,
                heartbeat_at=now,
            )
            s.add(row)
            s.flush()
            return row.id

    def scan_run_beat(self, run_id: int) -> None:
        with self._write() as s:
            row = s.get(ScanRun, run_id)
            if row is not None and row.state == "running":
                row.heartbeat_at = time.time()

    def scan_run_finished(self, run_id: int, state: str, message: str | None = None) -> None:
        """End a run: ``done``, ``failed`` or ``interrupted`` (a stop on shutdown)."""
        with self._write() as s:
            row = s.get(ScanRun, run_id)
            if row is None or row.state != "running":
                return
            row.state, row.message, row.finished_at = state, message, time.time()
            if state == "interrupted":
                self._interrupted_event(s, row)

    def scan_runs(self, *, limit: int = 50) -> list[ScanRunInfo]:
        """The newest runs first."""
        with self._read() as s:
            rows = s.scalars(select(ScanRun).order_by(ScanRun.id.desc()).limit(limit)).all()
            return [scan_run_info(r) for r in rows]

    def mark_interrupted_scans(
        self,
        *,
        host: str | None = None,
        alive: Callable[[int], bool] = pid_alive,
        stale_after: float = SCAN_STALE_AFTER,
    ) -> list[ScanRunInfo]:
        """Mark the runs whose server died mid-scan ``interrupted`` (one ``scan`` event each)."""
        here, now = host or config.hostname(), time.time()
        marked = []
        with self._write() as s:
            for row in s.scalars(select(ScanRun).where(ScanRun.state == "running")).all():
                dead = (row.host == here and not alive(row.pid)) or (
                    now - row.heartbeat_at > stale_after
                )
                if not dead:
                    continue
                row.state, row.finished_at = "interrupted", now
                row.message = (
                    f"the server running this scan (pid {row.pid} on {row.host}) stopped before "
                    "it finished; what it registered is kept, and a new scan resumes from there"
                )
                self._interrupted_event(s, row)
                marked.append(scan_run_info(row))
        return marked

    def _interrupted_event(self, session: Session, row: ScanRun) -> None:
        add_event(
            session,
            "scan",
            user=row.user,
            detail={
                "state": "interrupted",
                "scan_run": row.id,
                "roots": json.loads(row.roots or "[]"),
                "message": row.message,
            },
        )


__all__ = ["SCAN_HEARTBEAT_EVERY", "SCAN_STALE_AFTER", "ScanRunInfo", "ScanRuns", "pid_alive"]
