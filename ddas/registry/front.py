"""The :class:`Registry` front and its method table (``ddas.registry.Registry``; see that
package's notes). Imported on first use of ``ddas.registry.Registry``: it loads every
collaborator, the models and the ORM.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, overload

from ddas.registry.annotations import Annotations
from ddas.registry.collections import Collections
from ddas.registry.database import Database
from ddas.registry.details import Details
from ddas.registry.leases import Leases, lease_key, new_holder
from ddas.registry.lookups import Lookups
from ddas.registry.metadata import Metadata
from ddas.registry.queries import Datasets
from ddas.registry.reports import Reports
from ddas.registry.scanruns import ScanRuns
from ddas.registry.scans import Scans
from ddas.registry.writes import Writes

P = ParamSpec("P")
R = TypeVar("R")


class _By(Generic[P, R]):
    """A front method answered by the collaborator named ``part``, typed as that method.

    ``registry.copies_for_url`` is the collaborator's bound method (its signature, its docstring);
    ``Registry.copies_for_url`` is its function, for ``help()`` and documentation tools.
    """

    def __init__(self, part: str, method: Callable[Concatenate[Any, P], R]) -> None:
        self.part, self.method = part, method
        self.__doc__ = method.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        if name != self.method.__name__:
            raise TypeError(f"Registry.{name} would answer with {self.method.__qualname__}")

    @overload
    def __get__(self, obj: None, owner: type) -> Callable[Concatenate[Any, P], R]: ...
    @overload
    def __get__(self, obj: Registry, owner: type) -> Callable[P, R]: ...
    def __get__(self, obj: Registry | None, owner: type) -> Callable[..., R]:
        if obj is None:
            return self.method
        return getattr(getattr(obj, self.part), self.method.__name__)


class Registry:
    """The typed API over the registry database (see the package notes for its shape).

    A new public method of a collaborator gets its line in the table below, in its
    collaborator's group; ``tests/test_registry_front.py`` fails until it has one.
    """

    def __init__(self, url: str | None = None, *, migrate: bool = True) -> None:
        self.db = Database(url, migrate=migrate)
        self.url, self.engine = self.db.url, self.db.engine
        self._lookups = Lookups(self.db)
        self._writes = Writes(self.db)
        self._datasets = Datasets(self.db)
        self._details = Details(self.db)
        self._reports = Reports(self.db)
        self._leases = Leases(self.db)
        self._scans = Scans(self.db)
        self._scan_runs = ScanRuns(self.db)
        self._collections = Collections(self.db)
        self._metadata = Metadata(self.db)
        self._annotations = Annotations(self.db)

    def __repr__(self) -> str:
        return f"Registry({self.db.shown_url!r})"

    dispose_all = staticmethod(Database.dispose_all)

    # The hot path of every fetch: copies by URL and by digest (ddas.registry.lookups).
    sources_for_url = _By("_lookups", Lookups.sources_for_url)
    copies_for_url = _By("_lookups", Lookups.copies_for_url)
    content_id_for_digest = _By("_lookups", Lookups.content_id_for_digest)
    copies_for_content = _By("_lookups", Lookups.copies_for_content)
    copies_for_digest = _By("_lookups", Lookups.copies_for_digest)
    # Downloads, mirrors, scanned files, copy states, events (ddas.registry.writes).
    record_download = _By("_writes", Writes.record_download)
    add_source = _By("_writes", Writes.add_source)
    register_file = _By("_writes", Writes.register_file)
    mark_copy = _By("_writes", Writes.mark_copy)
    mark_verified = _By("_writes", Writes.mark_verified)
    record_event = _By("_writes", Writes.record_event)
    forget_copy = _By("_writes", Writes.forget_copy)
    # The dataset listing (ddas.registry.queries) and one dataset's details (ddas.registry.details).
    search = _By("_datasets", Datasets.search)
    copy = _By("_details", Details.copy)
    dataset = _By("_details", Details.dataset)
    warm = _By("_datasets", Datasets.warm)
    # Duplicates, stats, the event feed, the running tallies (ddas.registry.reports).
    duplicates = _By("_reports", Reports.duplicates)
    stats = _By("_reports", Reports.stats)
    events = _By("_reports", Reports.events)
    last_download = _By("_reports", Reports.last_download)
    last_event_id = _By("_reports", Reports.last_event_id)
    rebuild_tallies = _By("_reports", Reports.rebuild_tallies)
    generation = _By("_reports", Reports.generation)
    # One download per dataset at a time (ddas.registry.leases).
    acquire_lease = _By("_leases", Leases.acquire_lease)
    heartbeat = _By("_leases", Leases.heartbeat)
    release_lease = _By("_leases", Leases.release_lease)
    current_lease = _By("_leases", Leases.current_lease)
    # Scans of shared storage: bulk registration and incremental bookkeeping (ddas.registry.scans).
    known_copies_under = _By("_scans", Scans.known_copies_under)
    locations_under = _By("_scans", Scans.locations_under)
    register_scanned = _By("_scans", Scans.register_scanned)
    mark_missing = _By("_scans", Scans.mark_missing)
    unhashed_copies = _By("_scans", Scans.unhashed_copies)
    contents_without_copies = _By("_scans", Scans.contents_without_copies)
    forget_contents = _By("_scans", Scans.forget_contents)
    # The life of a server-run scan (ddas.registry.scanruns).
    scan_run_started = _By("_scan_runs", ScanRuns.scan_run_started)
    scan_run_beat = _By("_scan_runs", ScanRuns.scan_run_beat)
    scan_run_finished = _By("_scan_runs", ScanRuns.scan_run_finished)
    scan_runs = _By("_scan_runs", ScanRuns.scan_runs)
    mark_interrupted_scans = _By("_scan_runs", ScanRuns.mark_interrupted_scans)
    # Folder-like datasets, one row per version (ddas.registry.collections).
    record_collection = _By("_collections", Collections.record_collection)
    collections = _By("_collections", Collections.collections)
    collection = _By("_collections", Collections.collection)
    collections_of_url = _By("_collections", Collections.collections_of_url)
    collections_with_content = _By("_collections", Collections.collections_with_content)
    collection_members = _By("_collections", Collections.collection_members)
    # What files say about themselves (ddas.registry.metadata).
    record_metadata = _By("_metadata", Metadata.record_metadata)
    has_metadata = _By("_metadata", Metadata.has_metadata)
    metadata = _By("_metadata", Metadata.metadata)
    metadata_summaries = _By("_metadata", Metadata.metadata_summaries)
    same_data = _By("_metadata", Metadata.same_data)
    # What people wrote about datasets (ddas.registry.annotations).
    annotate = _By("_annotations", Annotations.annotate)
    annotations_for_content = _By("_annotations", Annotations.annotations_for_content)
    annotation_for_url = _By("_annotations", Annotations.annotation_for_url)


__all__ = ["Registry", "lease_key", "new_holder"]
