"""The benchmarks' bulk load writes the rows it is given, on both backends.

``benchmarks/seeding.py`` loads with executemany on SQLite and with ``COPY ... FROM STDIN`` on
PostgreSQL (row-by-row inserts took over 80 minutes for 1M copies there). Both must give the same
registry: the generated rows read back unchanged (so the two backends hold the same rows), the
recounted aggregates equal a full recount of those rows, every index is there afterwards as it was
before (PostgreSQL's load drops the secondary ones and builds them again), and the registry's own
writes afterwards get fresh ids (the PostgreSQL sequences were moved past the loaded ones).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from ddas.registry import Registry
from ddas.registry.models import Event, MetadataWord
from tests.recount import recount, reported

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import seeding

COPIES = 2 * 23  # 23 contents in batches of 5: several batches and a short last one


def _read(registry: Registry, table: sa.Table, columns: list[str]) -> list[dict]:
    key = table.c.id if "id" in table.c else table.c.content_id
    with registry.engine.connect() as conn:
        rows = conn.execute(sa.select(*(table.c[c] for c in columns)).order_by(key))
        return [dict(row._mapping) for row in rows]


def _indexes(registry: Registry) -> set[tuple[str, str]]:
    """Every index of the registry's schema with its definition."""
    sql = (
        "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
        if registry.engine.dialect.name == "sqlite"
        else "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
    )
    with registry.engine.connect() as conn:
        return {(name, str(definition)) for name, definition in conn.exec_driver_sql(sql)}


def test_the_institution_layout_reads_back_as_generated_and_recounts_exactly(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(seeding, "BATCH", 5)
    now = float(int(time.time())) + 0.25  # a fraction: floats must round-trip exactly
    indexes = _indexes(registry)
    assert any("trgm" in name for name, _ in indexes) or registry.engine.dialect.name == "sqlite"
    seeding.seed_institution(registry, COPIES, now)
    assert _indexes(registry) == indexes  # PostgreSQL's load drops and rebuilds the secondary ones

    expected = [list(rows) for rows in zip(*seeding.institution_rows(COPIES, now), strict=True)]
    for model, batches in zip(seeding.INSTITUTION_MODELS, expected, strict=True):
        rows = [row for batch in batches for row in batch]
        assert len(rows) == (COPIES if model.__tablename__ in ("copies", "events") else COPIES // 2)
        rows.sort(key=lambda r: r["id"])
        assert _read(registry, model.__table__, list(rows[0])) == rows, model.__tablename__
    assert reported(registry) == recount(registry)
    assert registry.stats().copy_count == COPIES

    new = registry.record_event("alert", content_id=1, detail={"by": "test"})
    assert new == COPIES + 1  # after the loaded ids, not a clash with them


def test_left_out_columns_get_the_models_defaults_as_an_insert_gives_them(
    registry: Registry,
) -> None:
    """``copy_rows`` fills in the Python-side defaults SQLAlchemy's insert would (``detail``,
    ``bytes``, ``seconds`` of an event); the bulk load takes any table, not only these four."""
    contents, sources, copies, _events = next(seeding.institution_rows(4, 100.0))
    bare = [{"id": 9, "kind": "alert", "user": "u", "at": 1.5, "content_id": 1}]
    seeding.bulk_load(
        registry,
        [(contents, sources, copies, bare, [{"word": "era5", "content_id": 2}])],
        (*seeding.INSTITUTION_MODELS[:3], Event, MetadataWord),
    )
    (event,) = _read(registry, Event.__table__, ["id", "bytes", "seconds", "detail", "copy_id"])
    assert event == {"id": 9, "bytes": 0, "seconds": 0.0, "detail": "{}", "copy_id": None}
    assert _read(registry, MetadataWord.__table__, ["word", "content_id"]) == [
        {"word": "era5", "content_id": 2}
    ]
