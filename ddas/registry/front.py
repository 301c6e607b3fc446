"""The :class:`Registry` itself (re-exported as ``ddas.registry.Registry``, imported on first use)."""

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
