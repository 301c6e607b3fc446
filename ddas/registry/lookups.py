"""The fetch hot path: copies by URL and by digest, one indexed statement each.

``ddas.fetch`` asks the registry before every download, so a lookup should cost about what the
database costs, from a thousand copies to a million. ``benchmarks/registry_lookup.py`` measured where
the rest went and these choices remove it:

* statements are built once, at import, with bound parameters: SQLAlchemy reuses their compiled form
  instead of re-building and re-caching an expression per call;
* rows are plain tuples in the field order of :class:`~ddas.records.CopyInfo` and
  :class:`~ddas.records.SourceInfo`: a row *is* a record, with no Session or ORM identity map;
* a lookup is one statement, which is its own consistent snapshot, so it runs in autocommit: no
  ``BEGIN`` before and ``ROLLBACK`` after, two round trips saved per lookup.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import ColumnElement, Connection, Select, bindparam, select

from ddas.hashes import digest_or_none
from ddas.identity import NormalizedURL, Validators
from ddas.records import CopyInfo, SourceInfo
from ddas.registry.database import RegistryPart, as_normalized
from ddas.registry.models import Content, Copy, Digest, Source
from ddas.registry.rows import COPY_COLUMNS as _COPY_COLUMNS
from ddas.registry.rows import SOURCE_COLUMNS as _SOURCE_COLUMNS

# Each statement in two forms: one state (``state = :state``, the usual "present") and several
# (``state IN (...)``, whose expanding parameter SQLAlchemy must re-render on every execution).
_ONE_STATE = Copy.state == bindparam("state")
_STATES = Copy.state.in_(bindparam("states", expanding=True))


def _by_url(state: ColumnElement[bool]) -> Select:
    return (
        select(*_COPY_COLUMNS)
        .join(Source, Source.content_id == Copy.content_id)
        .join(Content, Content.id == Copy.content_id)
        .where(Source.url == bindparam("url"), state)
        .order_by(Copy.in_store.desc(), Copy.verified_at.desc())
    )


def _by_content(state: ColumnElement[bool]) -> Select:
    return (
        select(*_COPY_COLUMNS)
        .join(Content, Content.id == Copy.content_id)
        .where(state)
        .order_by(Copy.in_store.desc(), Copy.id)
    )


_VERSION = Source.version_key == bindparam("version")
_CONTENT_ID = Copy.content_id == bindparam("content_id")
_BLAKE3 = Content.blake3 == bindparam("value")
_ALIAS = (Digest.algorithm == bindparam("algorithm"), Digest.value == bindparam("value"))
_BY_URL = {one: _by_url(cond) for one, cond in ((True, _ONE_STATE), (False, _STATES))}
_BY_URL_VERSION = {one: stmt.where(_VERSION) for one, stmt in _BY_URL.items()}
_BY_CONTENT = {one: _by_content(cond) for one, cond in ((True, _ONE_STATE), (False, _STATES))}
_BY_CONTENT_ID = {one: stmt.where(_CONTENT_ID) for one, stmt in _BY_CONTENT.items()}
_BY_BLAKE3 = {one: stmt.where(_BLAKE3) for one, stmt in _BY_CONTENT.items()}
_BY_ALIAS = {
    one: stmt.join(Digest, Digest.content_id == Copy.content_id).where(*_ALIAS)
    for one, stmt in _BY_CONTENT.items()
}
_CONTENT_BY_BLAKE3 = select(Content.id).where(_BLAKE3)
_CONTENT_BY_ALIAS = select(Digest.content_id).where(*_ALIAS)
_SOURCES_BY_URL = (
    select(*_SOURCE_COLUMNS).where(Source.url == bindparam("url")).order_by(Source.last_seen.desc())
)


def _states(states: tuple[str, ...]) -> tuple[bool, dict[str, object]]:
    """Which form of a statement to use for ``states``, and its parameters."""
    if len(states) == 1:
        return True, {"state": states[0]}
    return False, {"states": list(states)}


def _digest_params(digest: str) -> dict[str, str] | None:
    """``"md5:AB.."`` -> the statement's parameters, by :func:`ddas.hashes.parse_digest`'s rule
    (bare hex is BLAKE3); None for a string that is no well-formed digest, which names nothing."""
    known = digest_or_none(digest)
    return None if known is None else {"algorithm": known.algorithm, "value": known.value}


class Lookups(RegistryPart):
    """Lookups by URL and by digest, each one statement in autocommit (see the module notes)."""

    @contextmanager
    def _lookup(self) -> Iterator[Connection]:
        """A pooled connection for one read statement, in autocommit (see the module notes)."""
        with self.engine.connect() as conn:
            if self.engine.dialect.name == "sqlite":
                yield conn.execution_options(ddas_autocommit=True)  # see engine._on_begin
            else:
                yield conn.execution_options(isolation_level="AUTOCOMMIT")

    def sources_for_url(self, url: str | NormalizedURL) -> list[SourceInfo]:
        """Every recorded version of this URL, most recently seen first."""
        nurl = as_normalized(url)
        with self._lookup() as conn:
            return [SourceInfo(*row) for row in conn.execute(_SOURCES_BY_URL, {"url": nurl.url})]

    def copies_for_url(
        self,
        url: str | NormalizedURL,
        validators: Validators | None = None,
        states: tuple[str, ...] = ("present",),
    ) -> list[CopyInfo]:
        """Copies of what this URL gave (only at these validators' version, when given)."""
        nurl = as_normalized(url)
        one, params = _states(states)
        params["url"] = nurl.url
        stmt = _BY_URL[one]
        if validators is not None:
            stmt, params["version"] = _BY_URL_VERSION[one], validators.key
        with self._lookup() as conn:
            rows = conn.execute(stmt, params).all()
        seen: dict[int, CopyInfo] = {}  # several versions of the URL may share one content
        for row in rows:
            if row[0] not in seen:
                seen[row[0]] = CopyInfo(*row)
        return list(seen.values())

    def content_id_for_digest(self, digest: str) -> int | None:
        """The content with this BLAKE3 (or alias digest, ``"md5:..."``), if known."""
        params = _digest_params(digest)
        if params is None:
            return None
        stmt = _CONTENT_BY_BLAKE3 if params["algorithm"] == "blake3" else _CONTENT_BY_ALIAS
        with self._lookup() as conn:
            return conn.execute(stmt, params).scalar()

    def copies_for_content(
        self, content_id: int, states: tuple[str, ...] = ("present",)
    ) -> list[CopyInfo]:
        """Copies of one content, those in the store first."""
        one, params = _states(states)
        params["content_id"] = content_id
        with self._lookup() as conn:
            return [CopyInfo(*row) for row in conn.execute(_BY_CONTENT_ID[one], params)]

    def copies_for_digest(
        self, digest: str, states: tuple[str, ...] = ("present",)
    ) -> list[CopyInfo]:
        """Copies of a content named by its digest (``ddas find <digest>``), in one statement."""
        digest_params = _digest_params(digest)
        if digest_params is None:
            return []
        one, params = _states(states)
        stmt = (_BY_BLAKE3 if digest_params["algorithm"] == "blake3" else _BY_ALIAS)[one]
        params.update(digest_params)
        with self._lookup() as conn:
            return [CopyInfo(*row) for row in conn.execute(stmt, params)]
