"""The words DDAS answers with: policies, alert kinds, copy states, event kinds, lookup statuses.

Each is a ``Literal`` alias, so a type checker catches ``"resue"`` where a record, the registry, the
outcome and alert code, the CLI or the server's validation names one, and each has the tuple of its
values (``typing.get_args``), so validation and messages list exactly the words the type allows.
The REST API's OpenAPI enums are the same lists; ``tests/test_server_openapi.py`` holds them equal.
This module imports nothing of DDAS: every layer may use it.
"""

from __future__ import annotations

from typing import Literal, get_args

#: What to do when the dataset already exists (``ddas.fetch(policy=...)``, ``DDAS_POLICY``).
Policy = Literal["reuse", "warn", "error", "ask"]

#: What an alert tells: a hit (``reuse``), a deliberate second download (``warn``), the same bytes
#: under another URL (``mirror``), an older version exists (``new_version``), someone else is
#: downloading (``waiting``), a question (``ask``), a folder of files (``collection``).
AlertKind = Literal["reuse", "warn", "mirror", "new_version", "waiting", "ask", "collection"]

#: Where a copy stands: readable and verified as registered, gone, wrong bytes, or not hashed yet.
CopyState = Literal["present", "missing", "corrupt", "unhashed"]

#: The audit trail's entries, as :meth:`ddas.registry.Registry.record_event` accepts them.
EventKind = Literal["download", "reuse", "alert", "scan", "verify", "forget"]

#: ``ddas.api.lookup_status`` / ``GET lookup``: what a fetch of this URL would do now.
LookupStatus = Literal["hit", "miss", "in_progress", "new_version", "local"]

POLICIES: tuple[Policy, ...] = get_args(Policy)
ALERT_KINDS: tuple[AlertKind, ...] = get_args(AlertKind)
COPY_STATES: tuple[CopyState, ...] = get_args(CopyState)
EVENT_KINDS: tuple[EventKind, ...] = get_args(EventKind)
LOOKUP_STATUSES: tuple[LookupStatus, ...] = get_args(LookupStatus)
