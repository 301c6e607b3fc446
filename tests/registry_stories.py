"""Small stories told to a registry, shared by the Registry API tests: a download of a dataset
(with its MD5 and SHA-256) by label, stand-in digests, and a count of every table's rows.

A label stands for one content: the same label is the same bytes, whatever the URL.
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa

from ddas.identity import Validators
from ddas.records import CopyInfo
from ddas.registry import Registry
from ddas.registry.models import Base

GB = 1 << 30
V1 = Validators(etag='"v1"', last_modified="Mon, 01 Jan 2024 00:00:00 GMT", size=GB)


def b3(label: str) -> str:
    """A stand-in BLAKE3 digest (64 hex digits) per label."""
    return hashlib.sha256(label.encode()).hexdigest()


def md5(label: str) -> str:
    return hashlib.md5(label.encode()).hexdigest()


def rows(registry: Registry) -> dict[str, int]:
    """How many rows each domain table holds (the running tallies and the generation are checked
    in test_registry_tallies.py)."""
    with registry.engine.connect() as conn:
        return {
            name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for name, table in Base.metadata.tables.items()
            if not name.endswith("_tallies") and name != "registry_generation"
        }


def download(
    registry: Registry,
    url: str = "https://data.example.org/era5/2020.nc",
    *,
    label: str = "era5-2020",
    size: int = GB,
    location: str | None = None,
    validators: Validators = V1,
    **kwargs: object,
) -> CopyInfo:
    return registry.record_download(
        url=url,
        validators=validators,
        blake3=b3(label),
        size=size,
        location=location or f"/shared/store/{label}.nc",
        digests={"md5": md5(label), "sha256": hashlib.sha256(label.encode()).hexdigest()},
        **kwargs,  # type: ignore[arg-type]
    )
