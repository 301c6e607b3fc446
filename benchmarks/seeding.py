"""Seeding the benchmarks' registries: one module, so every benchmark measures the same registry.

Two layouts:

* :func:`institution_rows` — the 1M-copy registry of the REST, report, load and sidebar benchmarks:
  half as many contents as copies (every dataset has a copy in the store and one in somebody's
  home, on distinct inodes, so every content is a duplicate group: the worst case for
  ``duplicates``), one source URL each, and two events per content (its download and one reuse by
  another user, spread over the last 90 days), so ``events`` and ``stats`` read a million events;
* :func:`lookup_rows` (in ``registry_lookup.py``, with digests) — one copy per dataset, for lookups.

Rows go in in one transaction (the API's transaction per download is for correctness, not for
loading a million rows): with SQLAlchemy Core executemany on SQLite, with ``COPY ... FROM STDIN`` on
PostgreSQL (an executemany there is one statement per row: over 80 minutes for the 1M registry),
its secondary indexes dropped for the load and built again after it (:func:`pg_load`); then the
running tallies are recounted, as migration 0004 does for an existing registry, and statistics
gathered.

A million-row registry takes many minutes on a shared machine: :func:`kept_registry` builds it once
under a folder (an SQLite file there, a PostgreSQL schema named after the size) and reuses it.
"""

from __future__ import annotations

import argparse
import operator
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ddas.registry import Registry, tallies  # noqa: E402
from ddas.registry.database import _ENGINES  # noqa: E402
from ddas.registry.models import Content, Copy, Event, Source  # noqa: E402

PG_URL = os.environ.get("DDAS_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
#: The kept PostgreSQL registries' schema prefix: engineers sharing one database keep theirs apart.
PG_KEPT = os.environ.get("DDAS_BENCH_PG_SCHEMA", "ddas_regscale")
BATCH = 20_000
TOPICS = [
    "era5",
    "cmip6_tas",
    "gpm_imerg",
    "sentinel2_l2a",
    "modis_lst",
    "landsat8_sr",
    "merra2",
    "goes16_abi",
    "jra55",
    "icesat2_atl06",
]
EXTS = [".nc", ".tif", ".zarr.zip", ".csv", ".parquet", ".grib2", ".h5", ".tar.gz"]
USERS = [f"user{i:03d}" for i in range(200)]
DAY = 86_400.0


def name_of(i: int) -> str:
    return f"{TOPICS[i % len(TOPICS)]}_{i:07d}{EXTS[i % len(EXTS)]}"


def url_of(i: int) -> str:
    topic = TOPICS[i % len(TOPICS)]
    return f"https://data{i % 37}.example.org/{topic}/{2000 + i % 25}/{name_of(i)}"


def blake3_of(i: int) -> str:
    return f"{(i * 0x9E3779B97F4A7C15) % (1 << 128):032x}{i:032x}"


def _contents(ids: range, now: float) -> list[dict]:
    return [
        {
            "id": i,
            "blake3": blake3_of(i),
            "size": 1000 + i,
            "name": name_of(i),
            "ext": EXTS[i % len(EXTS)],
            "created_at": now - i,
            "last_used_at": now - i,
        }
        for i in ids
    ]


def source_rows(ids: range, now: float, url: Callable[[int], str] | None = None) -> list[dict]:
    """One source row per content, for either benchmark layout (``url``: its URL scheme)."""
    url = url or url_of
    return [
        {
            "id": i,
            "url": url(i),
            "version_key": f'"e{i}"||{1000 + i}',
            "etag": f'"e{i}"',
            "last_modified": None,
            "size": 1000 + i,
            "checksum": None,
            "content_id": i,
            "first_seen": now,
            "last_seen": now,
        }
        for i in ids
    ]


def _copies(ids: range, now: float) -> list[dict]:
    return [
        {
            "id": 2 * i - k,
            "content_id": i,
            "host": "hpc",
            "location": f"/store/{i}/{name_of(i)}" if k else f"/home/{USERS[i % 200]}/{name_of(i)}",
            "owner": USERS[(i + k) % 200],
            "state": "present",
            "in_store": bool(k),
            "size": 1000 + i,
            "mtime_ns": i,
            "device": 1,
            "inode": 2 * i - k,
            "created_at": now,
            "verified_at": now,
        }
        for i in ids
        for k in (1, 0)
    ]


def _events(ids: range, now: float) -> list[dict]:
    """The download of content ``i`` by its store copy's owner, then a reuse by the other."""
    return [
        {
            "id": 2 * i - k,
            "kind": "download" if k else "reuse",
            "user": USERS[(i + k) % 200],
            "at": now - (i % 90) * DAY - k,
            "content_id": i,
            "source_id": i,
            "copy_id": 2 * i - k,
            "bytes": 1000 + i,
            "seconds": 0.5,
            "detail": "{}",
        }
        for i in ids
        for k in (1, 0)
    ]


INSTITUTION_MODELS = (Content, Source, Copy, Event)


def institution_rows(copies: int, now: float | None = None) -> Iterator[tuple[list[dict], ...]]:
    """Batches of (contents, sources, copies, events) rows for a registry of ``copies`` copies,
    dated relative to ``now`` (the current time if not given)."""
    now = time.time() if now is None else now
    contents = copies // 2
    for start in range(1, contents + 1, BATCH):
        ids = range(start, min(start + BATCH, contents + 1))
        yield _contents(ids, now), source_rows(ids, now), _copies(ids, now), _events(ids, now)


def seed_institution(registry: Registry, copies: int, now: float | None = None) -> float:
    """Load the institution layout into an empty registry; the seconds it took."""
    return bulk_load(registry, institution_rows(copies, now), INSTITUTION_MODELS)


def bulk_load(
    registry: Registry, batches: Iterable[Sequence[list[dict]]], models: Sequence[type]
) -> float:
    """Insert ``batches`` (one list of rows per model, in ``models`` order) in one transaction,
    recount the running tallies (rows written around the API have none), then gather statistics;
    the seconds it took.

    PostgreSQL gets ``VACUUM ANALYZE``, as autovacuum would run a minute later: otherwise autovacuum
    runs *during* the timed requests (visibility map, GIN pending lists), and a registry in use is
    measured in its steady state, not in its first minute. SQLite gets ``ANALYZE``.
    """
    started = time.perf_counter()
    if registry.engine.dialect.name == "postgresql":
        pg_load(registry, batches, models)
    else:
        with registry.engine.connect() as conn:
            conn = conn.execution_options(ddas_write=True)
            with conn.begin():
                for batch in batches:
                    for model, values in zip(models, batch, strict=True):
                        if values:
                            conn.execute(sa.insert(model.__table__), values)
        registry.rebuild_tallies()
    postgres = registry.engine.dialect.name == "postgresql"
    with registry.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE" if postgres else "ANALYZE")
    return time.perf_counter() - started


def pg_load(
    registry: Registry, batches: Iterable[Sequence[list[dict]]], models: Sequence[type]
) -> None:
    """PostgreSQL: the rows and their recount in one transaction (a load cut short leaves an empty
    registry, not a kept one without indexes), with the loaded tables' secondary indexes dropped
    first and built again from their own definitions (``pg_get_indexdef``) at the end.

    Each row's index entries, the trigram GIN ones above all, cost more than the row itself, and
    the recount rewrites every content row twice (non-HOT: ``copy_count`` and ``places`` are
    indexed); one index build after the load is far cheaper than 10^6 insertions into each.
    Primary keys and unique constraints stay: they check the load."""
    tables = [m.__tablename__ for m in models]
    quote = registry.engine.dialect.identifier_preparer.quote
    with registry.engine.connect() as conn:
        conn = conn.execution_options(ddas_write=True)
        with conn.begin():
            conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")  # index builds
            conn.exec_driver_sql("SET LOCAL work_mem = '256MB'")  # the recount's sorts and hashes
            indexes = secondary_indexes(conn, tables)
            for name, _definition in indexes:
                conn.exec_driver_sql(f'DROP INDEX "{name}"')
            for batch in batches:
                for model, values in zip(models, batch, strict=True):
                    copy_rows(conn, model.__table__, values)
            advance_sequences(conn, models)
            # statistics of the rows just loaded (ANALYZE counts its own transaction's): with
            # none, the recount's UPDATE ... FROM runs as 500,000 index probes, not a hash join
            conn.exec_driver_sql(f"ANALYZE {', '.join(map(quote, tables))}")
            tallies.rebuild(conn)  # what Registry.rebuild_tallies runs, in this transaction
            tallies.mark_changed(conn)
            for _name, definition in indexes:
                conn.exec_driver_sql(definition)


def secondary_indexes(conn: sa.Connection, tables: list[str]) -> list[tuple[str, str]]:
    """(name, ``CREATE INDEX`` statement) of the indexes of ``tables`` in the current schema that
    back no constraint (not primary keys, not unique constraints)."""
    rows = conn.execute(
        sa.text(
            "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
            "WHERE t.relnamespace = current_schema()::regnamespace AND t.relname = ANY(:tables) "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) "
            "ORDER BY i.relname"
        ),
        {"tables": tables},
    )
    return [(name, definition) for name, definition in rows]


def copy_rows(conn: sa.Connection, table: sa.Table, values: list[dict]) -> None:
    """PostgreSQL: ``COPY ... FROM STDIN`` the rows, in the connection's transaction.

    An executemany sends each row as its own ``INSERT`` (the 1M registry took over 80 minutes);
    COPY streams them as one statement. The rows must be what ``sa.insert`` would have written:
    the columns the rows leave out get their model's Python-side scalar default (``state``,
    ``detail``, ...), as SQLAlchemy fills them in; the others their server default. Each value
    goes through its column type's bind processor, as it would through ``sa.insert``."""
    if not values:
        return
    given = list(values[0])
    left_out = [c for c in table.columns if c.name not in given and c.default is not None]
    if any(not c.default.is_scalar for c in left_out):
        raise ValueError(f"{table.name}: a left-out column has a computed default")
    defaults = {c.name: c.default.arg for c in left_out}
    columns = [*given, *defaults]
    dialect = conn.dialect
    processors = [(c, table.c[c].type.bind_processor(dialect)) for c in given]
    converted = [(c, f) for c, f in processors if f is not None]
    q = dialect.identifier_preparer.quote
    sql = f"COPY {q(table.name)} ({', '.join(q(c) for c in columns)}) FROM STDIN"
    tail = tuple(defaults.values())
    cells = operator.itemgetter(*given) if len(given) > 1 else (lambda row: (row[given[0]],))
    driver = conn.connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(sql) as copy:
        for row in values:
            if converted:
                row = {**row, **{c: f(row[c]) for c, f in converted}}
            copy.write_row(cells(row) + tail)


def advance_sequences(conn: sa.Connection, models: Sequence[type]) -> None:
    """PostgreSQL: move each table's id sequence past the explicit ids just loaded, so that the
    registry's own inserts afterwards (fetches during a benchmark) get fresh ids. Tables keyed by
    something else (``content_metadata`` by its content, ``metadata_words`` by word) have none."""
    for model in models:
        table = model.__tablename__
        if "id" not in model.__table__.c:
            continue
        conn.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"(SELECT coalesce(max(id), 1) FROM {table}))"
        )


def pg_schema_url(schema: str) -> str:
    """The registry URL of a PostgreSQL schema in the benchmark database (created if missing)."""
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    admin.dispose()
    return f"{PG_URL}?options=-csearch_path%3D{schema}"


def drop_pg_schema(schema: str) -> None:
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


@contextmanager
def fresh_registry(backend: str) -> Iterator[Registry]:
    """A new, migrated, empty registry, thrown away afterwards."""
    schema = f"ddas_bench_{uuid.uuid4().hex[:10]}"
    with tempfile.TemporaryDirectory(prefix="ddas-bench-") as tmp:
        url = f"sqlite:///{tmp}/registry.db" if backend == "sqlite" else pg_schema_url(schema)
        try:
            yield Registry(url)
        finally:
            engine = _ENGINES.pop(url, None)
            if engine is not None:
                engine.dispose()
            if backend == "postgresql":
                drop_pg_schema(schema)


@contextmanager
def kept_registry(backend: str, copies: int, keep: Path | None) -> Iterator[Registry]:
    """The institution registry of ``copies`` copies, built once and kept under ``keep`` (an SQLite
    file there; a PostgreSQL schema named after the size), or built and thrown away."""
    if keep is None:
        with fresh_registry(backend) as registry:
            print(f"    seeded in {seed_institution(registry, copies):.0f} s", file=sys.stderr)
            yield registry
        return
    keep.mkdir(parents=True, exist_ok=True)
    if backend == "sqlite":
        url = f"sqlite:///{keep / f'registry-{copies}.db'}"
    else:
        url = pg_schema_url(f"{PG_KEPT}_{copies}")
    registry = Registry(url)
    if registry.stats().copy_count < copies:
        print(f"    seeding {copies:,} copies ...", file=sys.stderr, flush=True)
        print(f"    seeded in {seed_institution(registry, copies):.0f} s", file=sys.stderr)
    try:
        yield registry
    finally:
        _ENGINES.pop(url).dispose()


def arguments(doc: str | None) -> argparse.ArgumentParser:
    """The options the 1M-registry benchmarks share: size, backends, where registries are kept."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--copies", type=int, default=1_000_000)
    parser.add_argument(
        "--backends", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"]
    )
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the seeded registries here")
    return parser


def p99(samples: list[float]) -> float:
    return quantile(samples, 99)


def quantile(samples: list[float], p: int) -> float:
    if len(samples) < 2:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[p - 1]


def load_average() -> str:
    """The 1-, 5- and 15-minute load averages, printed beside every figure: on a shared machine
    they say how much of a core each process had."""
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> None:
    """Build (or check) the kept registries, so that the benchmarks do not time their seeding."""
    args = arguments(__doc__).parse_args(argv)
    for backend in args.backends:
        with kept_registry(backend, args.copies, args.keep) as registry:
            stats = registry.stats()
            print(f"{backend}: {stats.copy_count:,} copies, {stats.contents:,} contents")


if __name__ == "__main__":
    main()
