"""Schema migrations: an empty database is brought to head; a newer one is refused, never downgraded."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from ddas.errors import RegistrySchemaError
from ddas.identity import Validators
from ddas.registry import Registry
from ddas.registry.database import _ENGINES
from ddas.registry.engine import HEAD_REVISION, create_registry_engine, head_revision
from ddas.registry.models import Base

TABLES = {
    "alembic_version",
    "contents",
    "digests",
    "sources",
    "copies",
    "events",
    "leases",
    "scan_runs",
    "collections",
    "collection_members",
    "content_metadata",
    "metadata_words",
    "annotations",
    "annotation_words",
}
TABLES |= {"type_tallies", "user_tallies", "day_tallies"}  # running totals (migration 0004)
TABLES |= {"registry_generation"}  # the change counter (migration 0006)
# Trigram search structures are raw SQL in migration 0002 (FTS5 tables, pg_trgm indexes), not models.
SEARCH_STRUCTURES = ("_fts", "_trgm")
FUTURE = "9999_from_a_newer_ddas"


def forget_engine(url: str) -> None:
    """Make the next Registry(url) connect afresh, as a new process would."""
    engine = _ENGINES.pop(url, None)
    if engine is not None:
        engine.dispose()


def snapshot(url: str) -> dict[str, object]:
    """Tables, the stamped revision and the row counts: everything a downgrade would change."""
    engine = create_registry_engine(url)
    try:
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            out: dict[str, object] = {"tables": tables}
            if "alembic_version" in tables:
                out["revision"] = conn.execute(
                    sa.text("SELECT version_num FROM alembic_version")
                ).scalar_one_or_none()
            for name in sorted(tables - {"alembic_version"}):
                out[name] = conn.execute(sa.text(f"SELECT COUNT(*) FROM {name}")).scalar_one()
            return out
    finally:
        engine.dispose()


def stamp(url: str, revision: str) -> None:
    engine = create_registry_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    finally:
        engine.dispose()


def test_an_empty_database_is_migrated_to_head_on_first_use(registry_url: str) -> None:
    assert snapshot(registry_url)["tables"] == set()

    Registry(registry_url)

    state = snapshot(registry_url)
    assert state["tables"] >= TABLES
    assert {
        t for t in state["tables"] - TABLES if not any(s in t for s in SEARCH_STRUCTURES)
    } == set()
    assert state["revision"] == head_revision() != ""


def test_the_migrated_schema_is_exactly_what_the_models_declare(registry_url: str) -> None:
    registry = Registry(registry_url)

    def modelled(obj, name, type_, reflected, compare_to) -> bool:
        return not (reflected and compare_to is None and any(s in name for s in SEARCH_STRUCTURES))

    with registry.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": modelled})
        diff = compare_metadata(context, Base.metadata)
        indexes = {ix["name"] for ix in sa.inspect(conn).get_indexes("copies")}
    assert diff == [], "a model change without a migration"
    assert {"ix_copies_content_id_state", "ix_copies_device_inode"} <= indexes


def test_reopening_a_migrated_registry_keeps_its_data(registry_url: str) -> None:
    registry = Registry(registry_url)
    registry.record_download(
        url="https://example.org/a.nc",
        validators=Validators(size=1),
        blake3="a" * 64,
        size=1,
        location="/a.nc",
    )
    forget_engine(registry_url)

    again = Registry(registry_url)

    assert [c.location for c in again.copies_for_url("https://example.org/a.nc")] == ["/a.nc"]
    assert snapshot(registry_url)["revision"] == head_revision()


def test_a_registry_upgraded_by_a_newer_ddas_is_refused_and_left_alone(registry_url: str) -> None:
    registry = Registry(registry_url)
    registry.record_download(
        url="https://example.org/a.nc",
        validators=Validators(size=1),
        blake3="a" * 64,
        size=1,
        location="/a.nc",
    )
    forget_engine(registry_url)
    stamp(registry_url, FUTURE)
    before = snapshot(registry_url)

    with pytest.raises(RegistrySchemaError) as err:
        Registry(registry_url)

    message = str(err.value)
    assert FUTURE in message and "newer" in message
    assert "pip install -U ddas" in message and "never downgrades" in message
    assert snapshot(registry_url) == before, "nothing dropped, nothing re-stamped"
    assert before["revision"] == FUTURE and before["copies"] == 1
    assert registry_url not in _ENGINES, "a refused registry is not cached as usable"


def test_an_unknown_revision_on_an_otherwise_empty_database_creates_nothing(
    registry_url: str,
) -> None:
    engine = create_registry_engine(registry_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
        conn.execute(sa.text("INSERT INTO alembic_version VALUES (:r)"), {"r": FUTURE})
    engine.dispose()

    with pytest.raises(RegistrySchemaError, match="Upgrade ddas"):
        Registry(registry_url)

    assert snapshot(registry_url) == {"tables": {"alembic_version"}, "revision": FUTURE}


def test_the_head_known_without_alembic_is_alembics_head() -> None:
    assert head_revision() == HEAD_REVISION


def test_an_up_to_date_registry_opens_without_importing_alembic(registry_url: str) -> None:
    """Every kernel and ``ddas`` command opens the registry: Alembic (~0.25 s of imports) loads
    only when there is something to migrate."""
    Registry(registry_url)  # migrates
    code = (
        "import sys; from ddas.registry import Registry; "
        f"Registry({registry_url!r}).stats(); print('alembic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr


def _old_registry_with_history(conn: sa.Connection) -> None:
    """Rows as DDAS at revision 0003 wrote them: three contents, copies with a hardlink, a missing
    and a corrupt copy, a download and two reuses."""
    now = time.time()
    for i, ext in enumerate([".nc", ".nc", ".csv"], start=1):
        conn.execute(
            sa.text(
                "INSERT INTO contents (id, blake3, size, name, ext, created_at)"
                " VALUES (:i, :b, :s, :n, :e, :t)"
            ),
            {"i": i, "b": f"{i:064x}", "s": 100 * i, "n": f"f{i}{ext}", "e": ext, "t": now},
        )
    copies = [  # (content, state, inode): 1 has two places and a hardlink; 2 one place
        (1, "present", 10),
        (1, "present", 10),
        (1, "present", 11),
        (2, "present", 20),
        (2, "missing", 21),
        (3, "corrupt", 30),
    ]
    for n, (cid, state, inode) in enumerate(copies, start=1):
        conn.execute(
            sa.text(
                "INSERT INTO copies (id, content_id, host, location, owner, state,"
                " in_store, size, device, inode, created_at)"
                " VALUES (:n, :c, 'h', :loc, 'alice', :st, false, :s, 1, :ino, :t)"
            ),
            {"n": n, "c": cid, "loc": f"/d/{n}", "st": state, "s": 100 * cid}
            | {"ino": inode, "t": now},
        )
    for kind, user, cid in [
        ("download", "alice", 1),
        ("reuse", "bob", 1),
        ("reuse", "carol", 3),
    ]:
        conn.execute(
            sa.text(
                'INSERT INTO events (kind, "user", at, content_id, bytes, seconds, detail)'
                " VALUES (:k, :u, :t, :c, :b, 0, '{}')"
            ),
            {"k": kind, "u": user, "t": now, "c": cid, "b": 100 * cid},
        )


def test_upgrading_a_registry_with_history_builds_its_tallies_exactly(registry_url: str) -> None:
    """A registry of an older DDAS (revision 0003, no tallies) with copies, hardlinks, a missing
    copy, downloads and reuses: migration 0004 counts it all, as a full recount does."""
    from alembic import command

    from ddas.registry.engine import alembic_config
    from tests.recount import recount, reported

    engine = create_registry_engine(registry_url)
    with engine.connect() as conn:
        conn = conn.execution_options(ddas_write=True)
        with conn.begin():
            command.upgrade(alembic_config(conn), "0003")
            _old_registry_with_history(conn)
    engine.dispose()

    registry = Registry(registry_url)  # upgrades to head

    assert snapshot(registry_url)["revision"] == head_revision()
    assert reported(registry) == recount(registry)
    stats = registry.stats()
    assert (stats.contents, stats.copy_count, stats.duplicate_groups) == (3, 4, 1)
    assert (stats.wasted_bytes, stats.reuses, stats.bytes_saved) == (100, 2, 400)
    assert [g.id for g in registry.duplicates().items] == [1]


def test_postgresql_estimates_a_common_search_word_from_finer_statistics(
    tmp_path, request: pytest.FixtureRequest
) -> None:
    """Migration 0008: the search words keep 1,000 most common values. At the default 100, a
    variable outside them (``var099``, in 750 of 50,000 contents here, as ``benchmarks/
    metadata_search.py`` words 1M copies) is estimated at one row: its prefix range ends at
    ``var09:``, a sliver of a histogram bucket, and the planner then loops over the whole range
    for every content it tests. Checked as PostgreSQL plans it, on the migrated table."""
    from tests.conftest import blank_registry

    titles = "ARRAY['reanalysis','hourly','surface','ensemble','monthly','forecast']"
    var = "'var' || lpad(((i * {k}) % 200)::text, 3, '0')"
    words = [
        "'u' || i",
        "'temperature' || lpad((i % 1000)::text, 4, '0')",
        *(var.format(k=k) for k in (1, 7, 13)),
        *(f"({titles})[1 + ((i + {k}) % 6)]" for k in (0, 2, 3)),
    ]
    with blank_registry("postgresql", tmp_path, request) as url:
        registry = Registry(url)
        with registry.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO contents (id, blake3, size, name, ext, created_at) "
                    "SELECT i, md5(i::text), i, 'f' || i, '', 0 FROM generate_series(1, 50000) i"
                )
            )
            conn.execute(
                sa.text(
                    "INSERT INTO metadata_words (word, content_id) SELECT DISTINCT x.word, i "
                    "FROM generate_series(1, 50000) i, LATERAL (VALUES "
                    + ", ".join(f"({w})" for w in words)
                    + ") AS x(word)"
                )
            )
            conn.execute(sa.text("ANALYZE metadata_words"))
            plan = conn.execute(
                sa.text(
                    "EXPLAIN (FORMAT JSON) SELECT 1 FROM metadata_words "
                    "WHERE word >= 'var099' AND word < 'var09:'"
                )
            ).scalar()
            actual = conn.execute(
                sa.text("SELECT count(*) FROM metadata_words WHERE word = 'var099'")
            ).scalar()
        forget_engine(url)
    assert actual == 750
    assert 375 <= plan[0]["Plan"]["Plan Rows"] <= 1500, plan
