"""Where DDAS finds its registry and store, who the user is, and its other knobs.

Everything is read from environment variables at call time (not import time) so that a JupyterHub
admin can set them for every user through ``c.Spawner.environment`` and a test can change them
with ``monkeypatch``. Defaults live under platformdirs' user-data directory, so a lone user gets a
working embedded registry without configuring anything.
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import platformdirs

from ddas import vocabulary
from ddas.errors import SettingsError
from ddas.vocabulary import Policy

APP_NAME = "ddas"

POLICIES = vocabulary.POLICIES  # kept here too: ``config.POLICIES`` is what callers import
LINK_MODES = ("hardlink", "symlink", "copy", "auto")


def data_dir() -> Path:
    """Per-user data directory holding the default registry and store."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def registry_url() -> str:
    """SQLAlchemy URL of the registry: ``DDAS_REGISTRY`` (URL or plain SQLite path) or the default."""
    value = os.environ.get("DDAS_REGISTRY", "").strip()
    if not value:
        return f"sqlite:///{data_dir() / 'registry.db'}"
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser().resolve()}"


SERVICE_SCHEMES = ("hub://", "http://", "https://")


def registry_service(value: str | None = None) -> str | None:
    """The DDAS JupyterHub service that ``DDAS_REGISTRY`` (or ``value``) names — ``hub://ddas`` or
    the service's ``http(s)://`` URL — else None (a database URL or path: embedded mode)."""
    text = (os.environ.get("DDAS_REGISTRY", "") if value is None else value).strip()
    return text if text.lower().startswith(SERVICE_SCHEMES) else None


def store_root() -> Path:
    """Root folder of the shared, content-addressed store (``DDAS_STORE``)."""
    value = os.environ.get("DDAS_STORE", "").strip()
    return Path(value).expanduser().resolve() if value else data_dir() / "store"


#: Set by the JupyterHub service around each request it serves: there the user is the Hub user of
#: the request's token, and no environment variable (the service's own) may say otherwise.
_ACTING_USER: ContextVar[str | None] = ContextVar("ddas_acting_user", default=None)


@contextmanager
def acting_as(user: str) -> Iterator[str]:
    """Record everything done in this context (thread, task) as ``user``."""
    token = _ACTING_USER.set(user)
    try:
        yield user
    finally:
        _ACTING_USER.reset(token)


def current_user() -> str:
    """Who gets the credit: the service's acting user, else ``DDAS_USER``, else
    ``JUPYTERHUB_USER``, else the OS user."""
    acting = _ACTING_USER.get()
    if acting:
        return acting
    for var in ("DDAS_USER", "JUPYTERHUB_USER"):
        value = os.environ.get(var, "").strip()
        if value:
            return value
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, e.g. an arbitrary container uid
        return f"uid{os.getuid()}"


def hostname() -> str:
    """Host recorded with local copies: a path only means something on its own machine."""
    return os.environ.get("DDAS_HOST", "").strip() or socket.gethostname()


def default_policy() -> Policy:
    """What to do on a hit when the caller does not say (``DDAS_POLICY``)."""
    value = os.environ.get("DDAS_POLICY", "reuse").strip().lower() or "reuse"
    if value not in POLICIES:
        raise ValueError(f"DDAS_POLICY={value!r} is not one of {', '.join(POLICIES)}")
    return value  # type: ignore[return-value]  # checked against POLICIES just above


def link_mode() -> str:
    """How ``fetch(dest=...)`` places the stored copy at ``dest`` (``DDAS_LINK_MODE``)."""
    value = os.environ.get("DDAS_LINK_MODE", "auto").strip().lower() or "auto"
    if value not in LINK_MODES:
        raise ValueError(f"DDAS_LINK_MODE={value!r} is not one of {', '.join(LINK_MODES)}")
    return value


def float_env(name: str, default: float) -> float:
    """A numeric setting; a malformed value falls back to the default rather than crashing."""
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


def lease_ttl() -> float:
    """Seconds a download lease lives without a heartbeat before others may take it over."""
    return float_env("DDAS_LEASE_TTL", 60.0)


def lease_wait() -> float:
    """Seconds to wait for another user's download before giving up."""
    return float_env("DDAS_LEASE_WAIT", 6 * 3600.0)


def partial_days() -> float:
    """Days an interrupted download's partial file is kept for a later resume (``DDAS_PARTIAL_DAYS``)."""
    return float_env("DDAS_PARTIAL_DAYS", 7.0)


ON_ERROR = ("stale", "refuse")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


@dataclass(frozen=True)
class DownloadSettings:
    """How a fetch talks to the origin. Each field is a keyword of :func:`ddas.fetch` and a
    ``DDAS_<FIELD>`` environment variable (the argument wins), so that an admin can set a cluster's
    defaults for everyone (``c.Spawner.environment``) and a user can override one call.
    """

    #: Never ask the origin: hand out any registered copy, fail on a miss (compute nodes often
    #: have no internet).
    offline: bool = False
    #: When the origin cannot be asked: ``"stale"`` hands out the registered copy with a notice
    #: (RFC 5861 stale-if-error), ``"refuse"`` raises.
    on_error: str = "stale"
    #: Accept an HTML answer for a URL that does not name an HTML file (a login page is not data).
    allow_html: bool = False
    #: Retries of connection resets, timeouts, 429 and 5xx (each resumes from the partial).
    retries: int = 5
    #: Upper bound, in seconds, on all the waiting between retries of one fetch.
    retry_seconds: float = 300.0
    #: Exponential backoff factor between retries, in seconds (urllib3's ``backoff_factor``).
    backoff: float = 0.5
    #: Seconds to connect, and to wait for any byte, before a try counts as failed.
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    #: A transfer slower than ``min_rate`` bytes/s over ``stall_seconds`` is given up (resumable).
    min_rate: float = 1024.0
    stall_seconds: float = 60.0
    #: Check the finished file against a checksum the server announces (Content-MD5, ...).
    verify_checksum: bool = True
    #: A PEM file of certificate authorities to trust (an institution's own CA).
    ca_bundle: str | None = None

    @classmethod
    def from_env(cls, **overrides: Any) -> DownloadSettings:
        """Defaults, then ``DDAS_*`` variables, then the caller's non-None keywords."""
        names = {f.name: f for f in fields(cls)}
        unknown = sorted(set(overrides) - set(names))
        if unknown:
            raise SettingsError(
                f"unknown download setting(s) {', '.join(unknown)}; known: {', '.join(names)}"
            )
        values: dict[str, Any] = {}
        for name, f in names.items():
            raw = overrides.get(name)
            text = os.environ.get(SETTING_VARIABLES[name], "").strip() if raw is None else None
            if raw is None and not text:
                continue
            values[name] = _parse(name, f.type, raw if raw is not None else text)
        settings = cls(**values)
        if settings.on_error not in ON_ERROR:
            raise SettingsError(
                f"on_error (DDAS_ON_ERROR) must be one of {', '.join(ON_ERROR)}, "
                f"not {settings.on_error!r}"
            )
        return settings


#: The environment variable of each download setting (spelled out: admins grep for them).
SETTING_VARIABLES = {
    "offline": "DDAS_OFFLINE",
    "on_error": "DDAS_ON_ERROR",
    "allow_html": "DDAS_ALLOW_HTML",
    "retries": "DDAS_RETRIES",
    "retry_seconds": "DDAS_RETRY_SECONDS",
    "backoff": "DDAS_BACKOFF",
    "connect_timeout": "DDAS_CONNECT_TIMEOUT",
    "read_timeout": "DDAS_READ_TIMEOUT",
    "min_rate": "DDAS_MIN_RATE",
    "stall_seconds": "DDAS_STALL_SECONDS",
    "verify_checksum": "DDAS_VERIFY_CHECKSUM",
    "ca_bundle": "DDAS_CA_BUNDLE",
}


def _parse(name: str, kind: Any, value: Any) -> Any:
    """One setting from an argument or an environment string, with an error naming both forms."""
    kind = str(kind)
    try:
        if kind.startswith("bool"):
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text not in _TRUE + _FALSE:
                raise ValueError(value)
            return text in _TRUE
        if kind.startswith("int"):
            return int(value)
        if kind.startswith("float"):
            number = float(value)
            if number < 0:
                raise ValueError(value)
            return number
        return str(value).strip().lower() if name == "on_error" else str(value)
    except (TypeError, ValueError):
        raise SettingsError(
            f"{name}= / {SETTING_VARIABLES[name]} must be a {kind.split(' ')[0]}, not {value!r}"
        ) from None
