"""DDAS: catch the duplicate dataset download before it happens.

``ddas.fetch(url)`` looks the dataset up in the shared registry first and hands back an existing copy
when anyone already has it; otherwise it downloads once, hashing with BLAKE3 on the fly, into the shared
store. Public names are imported lazily so that ``import ddas`` (and the CLI's start-up) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

from ddas._version import __version__
from ddas.errors import (
    CertificateError,
    ChecksumMismatchError,
    DDASError,
    DuplicateDownloadError,
    HashMismatchError,
    IncompleteDownloadError,
    InvalidURLError,
    LeaseTimeoutError,
    NotAllowedError,
    NotDatasetError,
    OfflineError,
    OriginUnavailableError,
    RegistrySchemaError,
    RemoteError,
    ServiceError,
    SettingsError,
    StalledDownloadError,
    StoreFullError,
)
from ddas.secrets import install_log_filter

# Before anything can log a URL: our loggers, and the libraries DDAS drives, drop secrets from it.
install_log_filter()

_LAZY = {
    "fetch": "ddas.api",
    "fetch_tree": "ddas.trees",
    "annotate": "ddas.annotations",
    "open": "ddas.api",
    "lookup": "ddas.api",
    "forget": "ddas.api",
    "duplicates": "ddas.api",
    "stats": "ddas.api",
    "filesystem": "ddas.protocol",
    "scan": "ddas.scanning",
    "Registry": "ddas.registry",
    "Store": "ddas.store",
}

__all__ = [
    "CertificateError",
    "ChecksumMismatchError",
    "DDASError",
    "DuplicateDownloadError",
    "HashMismatchError",
    "IncompleteDownloadError",
    "InvalidURLError",
    "LeaseTimeoutError",
    "NotAllowedError",
    "NotDatasetError",
    "OfflineError",
    "OriginUnavailableError",
    "RegistrySchemaError",
    "RemoteError",
    "ServiceError",
    "SettingsError",
    "StalledDownloadError",
    "StoreFullError",
    "__version__",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ddas' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
