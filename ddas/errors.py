"""The exceptions DDAS raises, one type per thing a user can act on.

Each message says what happened *and what to do next* (pooch's lesson): a researcher in a notebook
should never have to read a traceback to know whether to retry, fix a URL or call an admin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ddas.secrets import scrub_text

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ddas.records import CopyInfo


class DDASError(Exception):
    """Base class: catch this to handle every DDAS failure in one place.

    Its text never shows a secret: a message may quote a URL or a library's exception text (which
    often holds the request line), so every URL in it is scrubbed by :mod:`ddas.secrets` when it
    is shown — in a traceback, the CLI's one-line error or a REST reply.
    """

    def __str__(self) -> str:
        return scrub_text(super().__str__())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class InvalidURLError(DDASError, ValueError):
    """The URL cannot be understood (no scheme we know, no host, control characters...)."""


class RemoteError(DDASError, OSError):
    """The remote could not be reached or refused the request; nothing was registered."""


class HashMismatchError(DDASError, ValueError):
    """Downloaded bytes do not match the hash the caller promised; nothing was kept."""

    def __init__(
        self, url: str, algorithm: str, expected: str, actual: str, hint: str = ""
    ) -> None:
        self.url, self.algorithm, self.expected, self.actual = url, algorithm, expected, actual
        super().__init__(
            f"{algorithm} of {url} is {actual}, expected {expected}. The download was discarded; "
            f"check known_hash, or whether the remote file changed.{hint}"
        )


class DuplicateDownloadError(DDASError):
    """Raised under ``policy="error"``: the dataset already exists; ``copies`` says where."""

    def __init__(self, url: str, copies: list[CopyInfo]) -> None:
        self.url, self.copies = url, copies
        where = ", ".join(f"{c.location} ({c.owner})" for c in copies[:3])
        super().__init__(
            f"{url} already exists in the registry: {where}. Use policy='reuse' to take that copy."
        )


class NotAllowedError(DDASError, PermissionError):
    """The acting user may not do this: annotate or forget a dataset they hold no copy of, use the
    JupyterHub service without its scope. The message says whom to ask."""


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


class OriginUnavailableError(RemoteError):
    """The origin could not be asked (unreachable, timed out, refused the request, HTTP 5xx/429).

    :func:`ddas.fetch` catches this to hand out a registered copy (stale-if-error) unless the user
    chose ``on_error="refuse"``; it surfaces only when no copy exists.
    """


class OfflineError(RemoteError):
    """``offline=True`` (``DDAS_OFFLINE``) forbids asking the origin and no copy is registered."""


class NotDatasetError(RemoteError):
    """The server answered with something that is not the dataset (an HTML page, a listing).

    ``listing`` is True when the page looks like a directory index (then ``ddas.fetch_tree``
    is what the user wants). Nothing was stored or registered.
    """

    def __init__(self, message: str, *, listing: bool = False) -> None:
        super().__init__(message)
        self.listing = listing


class IncompleteDownloadError(RemoteError):
    """The body ended before the size the server announced; ``kept`` says if a resumable partial
    was kept (the next fetch continues it). Nothing was registered."""

    def __init__(self, message: str, *, received: int, expected: int | None, kept: bool) -> None:
        super().__init__(message)
        self.received, self.expected, self.kept = received, expected, kept


class StalledDownloadError(RemoteError):
    """The transfer stayed below the minimum rate (``min_rate`` / ``DDAS_MIN_RATE``) for the stall
    window (``stall_seconds`` / ``DDAS_STALL_SECONDS``); the partial is kept for a later resume."""


class ChecksumMismatchError(DDASError, ValueError):
    """The finished file does not match the whole-object checksum the server announced
    (Content-MD5, Repr-Digest, x-amz-checksum-*, an S3 single-part ETag). Nothing was kept."""

    def __init__(self, url: str, header: str, expected: str, actual: str) -> None:
        self.url, self.header, self.expected, self.actual = url, header, expected, actual
        super().__init__(
            f"{url}: the downloaded bytes do not match the server's {header} ({expected}, got "
            f"{actual}); the download was discarded. Fetch again; if it persists the server's "
            "checksum is wrong: pass verify_checksum=False (DDAS_VERIFY_CHECKSUM=0) to skip it."
        )


class CertificateError(RemoteError):
    """TLS verification of the server failed; the message names the problem and how to trust a CA."""


class SettingsError(DDASError, ValueError):
    """A DDAS setting (argument or ``DDAS_*`` variable) has a value DDAS cannot use."""


class ServiceError(DDASError):
    """The DDAS JupyterHub service (``DDAS_REGISTRY=hub://…``) could not be reached or refused."""


class ServiceRegistryError(DDASError):
    """``DDAS_REGISTRY`` names the JupyterHub service: there is no database to open in a kernel."""

    def __init__(self, target: str) -> None:
        super().__init__(
            f"DDAS_REGISTRY={target} names the DDAS JupyterHub service: the registry is only "
            "reachable through it. Use ddas.fetch/open/lookup/forget or the ddas command, which "
            "talk to the service with your JUPYTERHUB_API_TOKEN."
        )
        self.target = target


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
