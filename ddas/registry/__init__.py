"""The shared registry: what datasets exist, where, whose, verified how.

``Registry()`` connects to ``DDAS_REGISTRY`` (an SQLAlchemy URL, or a plain path meaning SQLite; by
default an embedded SQLite file under the user's data directory), migrating the schema on first use.
Every other part of DDAS (fetch, scans, the server extension) talks to the database only through it.
"""

from ddas.registry.annotations import RegistryAnnotations
from ddas.registry.collections import RegistryCollections
from ddas.registry.leases import RegistryLeases, lease_key, new_holder
from ddas.registry.metadata import RegistryMetadata
from ddas.registry.queries import RegistryQueries
from ddas.registry.reports import RegistryReports
from ddas.registry.scanruns import RegistryScanRuns
from ddas.registry.scans import RegistryScans


class Registry(
    RegistryLeases,
    RegistryQueries,
    RegistryReports,
    RegistryScans,
    RegistryCollections,
    RegistryMetadata,
    RegistryAnnotations,
    RegistryScanRuns,
):
    """The typed API over the registry database; see the base classes for writes, reads, reports
    and leases."""


__all__ = ["Registry", "lease_key", "new_holder"]
