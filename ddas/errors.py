"""The exceptions DDAS raises, one type per thing a user can act on.

Each message says what happened *and what to do next* (pooch's lesson): a researcher in a notebook
should never have to read a traceback to know whether to retry, fix a URL or call an admin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ddas.records import CopyInfo


class DDASError(Exception):
    """Base class: catch this to handle every DDAS failure in one place."""


class InvalidURLError(DDASError, ValueError):
    """The URL cannot be understood (no scheme we know, no host, control characters...)."""


class RemoteError(DDASError, OSError):
    """The remote could not be reached or refused the request; nothing was registered."""


class HashMismatchError(DDASError, ValueError):
    """Downloaded bytes do not match the hash the caller promised; nothing was kept."""

    def __init__(self, url: str, algorithm: str, expected: str, actual: str) -> None:
        self.url, self.algorithm, self.expected, self.actual = url, algorithm, expected, actual
        super().__init__(
            f"{algorithm} of {url} is {actual}, expected {expected}. The download was discarded; "
            "check known_hash, or whether the remote file changed."
        )


class DuplicateDownloadError(DDASError):
    """Raised under ``policy="error"``: the dataset already exists; ``copies`` says where."""

    def __init__(self, url: str, copies: list[CopyInfo]) -> None:
        self.url, self.copies = url, copies
        where = ", ".join(f"{c.location} ({c.owner})" for c in copies[:3])
        super().__init__(
            f"{url} already exists in the registry: {where}. Use policy='reuse' to take that copy."
        )


class RegistrySchemaError(DDASError):
    """The registry database was migrated by a newer DDAS than this one; upgrade DDAS."""


class LeaseTimeoutError(DDASError, TimeoutError):
    """Waited too long for another user's download of the same dataset."""

    def __init__(self, key: str, holder: dict[str, Any]) -> None:
        self.key, self.holder = key, holder
        super().__init__(
            f"still waiting for {holder.get('user', 'someone')}'s download of {key}; "
            "try again later or raise DDAS_LEASE_WAIT"
        )


class StoreFullError(DDASError, OSError):
    """The shared store's file system ran out of space (or quota) during a download.

    Nothing is registered and no final file is written; a resumable partial download may be kept
    in the store's ``.tmp`` so that the next fetch, once space is freed, continues from there.
    """

    def __init__(self, root: str, url: str, received: int, kept: bool) -> None:
        then = (
            "the partial download is kept and the next fetch resumes it"
            if kept
            else "nothing was kept"
        )
        super().__init__(
            f"the DDAS store {root} is full (no space or quota left) after {received} bytes of "
            f"{url}; {then}. Free space there, or ask your admin to point DDAS_STORE elsewhere."
        )
        self.root, self.url, self.received, self.kept = root, url, received, kept


class RegistryPermissionError(DDASError, PermissionError):
    """This user may read the registry but not write it (SQLite file or folder read-only for them,
    or a PostgreSQL role without INSERT/UPDATE). ``advice`` says what to ask the admin for.

    A reuse still hands out the copy (only its record is lost, and the alert says so); a new
    download is refused before any byte is transferred.
    """

    def __init__(self, registry: str, user: str, advice: str) -> None:
        super().__init__(
            f"you ({user}) are not allowed to write the DDAS registry {registry}: {advice}"
        )
        self.registry, self.user, self.advice = registry, user, advice


class StorePermissionError(DDASError, PermissionError):
    """This user may not create files in the shared store (``<store>/.tmp`` or a content
    folder); nothing was downloaded or registered. ``advice`` says what to ask the admin for."""

    def __init__(self, root: str, user: str, advice: str) -> None:
        super().__init__(
            f"you ({user}) are not allowed to write the DDAS store {root}: {advice}; nothing "
            "was downloaded or registered"
        )
        self.root, self.user, self.advice = root, user, advice
