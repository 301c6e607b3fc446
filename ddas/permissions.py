"""Turning "permission denied" into what a user not set up for DDAS must ask their admin for.

On a shared installation most failures are permissions (huggingface_hub #1141, conda #7227): a user
outside the ``ddas`` group, a PostgreSQL role with read-only grants, a store folder created by one
user. The raw errors (``attempt to write a readonly database``, ``PermissionError: …/.tmp/….part``)
say nothing a researcher can act on; these helpers name the registry or store, the user, and the
group or role to ask for, read from the file system or the database itself.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ddas.errors import RegistryPermissionError, StorePermissionError

#: SQLite's messages when the file or its folder (for -wal/-shm/-journal) is read-only for us.
SQLITE_READONLY = (
    "attempt to write a readonly database",
    "readonly database",
    "unable to open database file",
)
#: PostgreSQL's SQLSTATE for "permission denied" (insufficient_privilege).
PG_INSUFFICIENT_PRIVILEGE = "42501"


def os_user() -> str:
    return _name(pwd.getpwuid, os.geteuid())


def _name(lookup: Callable[[int], Any], number: int) -> str:
    """A user or group name by id (``pwd.getpwuid``/``grp.getgrgid``), else the number."""
    try:
        return str(lookup(number)[0])
    except KeyError:  # no passwd/group entry (containers)
        return str(number)


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _state(path: Path) -> tuple[str, str, bool]:
    """``("/srv/ddas is drwxr-xr-x root:ddas", "ddas", group_writable)``."""
    st = path.stat()
    group = _name(grp.getgrgid, st.st_gid)
    owner = _name(pwd.getpwuid, st.st_uid)
    text = f"{path} is {stat.filemode(st.st_mode)} {owner}:{group}"
    return text, group, bool(st.st_mode & stat.S_IWGRP)


def access_advice(*paths: Path) -> str:
    """What to ask the admin for so that this user can write ``paths`` (files, or folders to
    create files in; a missing path is judged by its first existing ancestor)."""
    try:
        states = [_state(_existing(p)) for p in paths]
    except OSError:
        return "ask your admin to give you write access to " + ", ".join(map(str, paths))
    groups = sorted({g for _, g, _ in states})
    now = "; ".join(text for text, _, _ in states)
    if all(writable for _, _, writable in states) and len(groups) == 1:
        return f"ask your admin to add you to group {groups[0]!r} ({now})"
    targets = " ".join(str(_existing(p)) for p in paths)
    return (
        f"ask your admin to make it writable for a group you are in, e.g. chgrp {groups[0]} "
        f"{targets} && chmod g+w {targets} ({now})"
    )


def is_sqlite_readonly(exc: BaseException) -> bool:
    text = str(getattr(exc, "orig", exc)).lower()
    return any(m in text for m in SQLITE_READONLY)


def is_pg_permission_denied(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) == PG_INSUFFICIENT_PRIVILEGE


def registry_error(url: str, exc: BaseException) -> RegistryPermissionError | None:
    """The typed error for a failed registry write, or ``None`` if ``exc`` is no permission issue.

    ``url`` is the registry's SQLAlchemy URL with any password already hidden.
    """
    if url.startswith("sqlite") and is_sqlite_readonly(exc):
        database = Path(url.split(":///", 1)[-1].split("?", 1)[0])
        blocked = [p for p in (database, database.parent) if not os.access(p, os.W_OK)]
        advice = access_advice(*(blocked or [database])) + (
            f"; SQLite also creates {database.name}-wal and -shm in {database.parent}, even to "
            "read while nobody else has the registry open"
        )
        return RegistryPermissionError(str(database), os_user(), advice)
    if url.startswith("postgresql") and is_pg_permission_denied(exc):
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        role = parsed.username or os_user()
        url = parsed.set(drivername="postgresql").render_as_string(hide_password=True)
        advice = (
            f"your database role {role!r} may only read; ask your admin to grant it the DDAS "
            'writer role (e.g. GRANT ddas_writer TO "' + role + "\"; the Admin guide's "
            "PostgreSQL section lists the grants), or to run DDAS as a JupyterHub service"
        )
        return RegistryPermissionError(url, os_user(), advice)
    return None


def store_error(root: Path, path: Path) -> StorePermissionError:
    """The typed error for a store path this user cannot create files in."""
    return StorePermissionError(str(root), os_user(), access_advice(path))
