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
from pathlib import Path

import platformdirs

APP_NAME = "ddas"

POLICIES = ("reuse", "warn", "error", "ask")
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


def default_policy() -> str:
    """What to do on a hit when the caller does not say (``DDAS_POLICY``)."""
    value = os.environ.get("DDAS_POLICY", "reuse").strip().lower() or "reuse"
    if value not in POLICIES:
        raise ValueError(f"DDAS_POLICY={value!r} is not one of {', '.join(POLICIES)}")
    return value


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
