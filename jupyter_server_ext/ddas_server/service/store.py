"""The service's store: written by the service account alone, readable by every user.

A cooperative store is group-writable (``2775`` folders) because every member's kernel writes it; on
a Hub only the service writes, so folders are ``0755`` and finished files ``0444`` (owned by the
service user, readable by anyone who can reach the mount), and downloads in flight (``.tmp``) are the
service's own business (``0700`` folder, ``0600`` partial files).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from ddas.store import Store

DIR_MODE = 0o755
TMP_DIR_MODE = 0o700
TEMP_MODE = 0o600


class ServiceStore(Store):
    """A :class:`ddas.store.Store` whose files and folders only its owner can change."""

    dir_mode = DIR_MODE
    temp_mode = TEMP_MODE

    def __init__(self, root: str | os.PathLike[str]) -> None:
        super().__init__(root)
        for path, mode in ((self.root, DIR_MODE), (self.tmp, TMP_DIR_MODE)):
            with contextlib.suppress(OSError):  # an admin-made root may belong to root: keep it
                if Path(path).stat().st_uid == os.geteuid():
                    os.chmod(path, mode)
