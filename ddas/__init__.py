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
    DDASError,
    DuplicateDownloadError,
    HashMismatchError,
    InvalidURLError,
    LeaseTimeoutError,
    RegistrySchemaError,
    RemoteError,
    StoreFullError,
)

_LAZY = {
    "fetch": "ddas.api",
    "open": "ddas.api",
    "lookup": "ddas.api",
    "duplicates": "ddas.api",
    "stats": "ddas.api",
    "scan": "ddas.scanning",
    "Registry": "ddas.registry",
    "Store": "ddas.store",
}

__all__ = [
    "DDASError",
    "DuplicateDownloadError",
    "HashMismatchError",
    "InvalidURLError",
    "LeaseTimeoutError",
    "RegistrySchemaError",
    "RemoteError",
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
