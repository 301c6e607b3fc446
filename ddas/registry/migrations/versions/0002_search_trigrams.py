"""trigram search structures: FTS5 trigram tables on SQLite, pg_trgm GIN indexes on PostgreSQL

``Registry.search`` matches substrings of names and URLs (``LIKE '%q%'``), which no B-tree can
answer: at a million copies every keystroke in the sidebar's search box scanned both tables. Trigram
indexes answer substring queries of three characters or more. They are best effort: an SQLite built
without FTS5's trigram tokenizer (< 3.34), or a PostgreSQL where ``pg_trgm`` cannot be installed,
keeps the registry working with the old scan (``ddas.registry.search`` checks what exists).

On SQLite, ``contents_fts`` and ``sources_fts`` are external-content FTS5 tables (they index
``contents.name`` and ``sources.url`` without storing a copy), kept in sync by triggers. On
PostgreSQL, ``pg_trgm`` is created in schema ``public`` (so that dropping one registry's schema never
drops the extension under another's) and indexes ``lower(name)`` and ``lower(url)``, the expressions
the search compares.

Revision ID: 0002
Revises: 0001
"""

from alembic import op
from sqlalchemy.exc import DBAPIError

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SQLITE_FTS = {"contents": ("contents_fts", "name"), "sources": ("sources_fts", "url")}
PG_INDEXES = {
    "contents": ("ix_contents_name_trgm", "name"),
    "sources": ("ix_sources_url_trgm", "url"),
}


def _sqlite_up() -> list[str]:
    out = []
    for table, (fts, col) in SQLITE_FTS.items():
        delete = f"INSERT INTO {fts}({fts}, rowid, {col}) VALUES ('delete', old.id, old.{col});"
        insert = f"INSERT INTO {fts}(rowid, {col}) VALUES (new.id, new.{col});"
        out += [
            f"CREATE VIRTUAL TABLE {fts} USING fts5({col}, content='{table}', "
            f"content_rowid='id', tokenize='trigram')",
            f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN {insert} END",
            f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN {delete} END",
            f"CREATE TRIGGER {fts}_update AFTER UPDATE OF {col} ON {table} "
            f"BEGIN {delete} {insert} END",
            f"INSERT INTO {fts}({fts}) VALUES ('rebuild')",
        ]
    return out


def _sqlite_has_trigram(bind) -> bool:
    try:
        with bind.begin_nested():
            bind.exec_driver_sql(
                "CREATE VIRTUAL TABLE temp.ddas_fts_probe USING fts5(x, tokenize='trigram')"
            )
            bind.exec_driver_sql("DROP TABLE temp.ddas_fts_probe")
        return True
    except DBAPIError:
        return False


def _pg_trgm_schema(bind) -> str | None:
    """The schema holding pg_trgm, installing it into ``public`` if possible; None if absent."""
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
    except DBAPIError:  # not allowed, not available, or created concurrently by another registry
        pass
    return bind.exec_driver_sql(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
        " WHERE e.extname = 'pg_trgm'"
    ).scalar()


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite" and _sqlite_has_trigram(bind):
        for statement in _sqlite_up():
            op.execute(statement)
    elif bind.dialect.name == "postgresql":
        schema = _pg_trgm_schema(bind)
        if schema is None:
            return
        for table, (name, col) in PG_INDEXES.items():
            op.execute(
                f'CREATE INDEX {name} ON {table} USING gin (lower({col}) "{schema}".gin_trgm_ops)'
            )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for fts, _col in SQLITE_FTS.values():
            for event in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS {fts}_{event}")
            op.execute(f"DROP TABLE IF EXISTS {fts}")
    elif bind.dialect.name == "postgresql":
        for name, _col in PG_INDEXES.values():
            op.execute(f"DROP INDEX IF EXISTS {name}")
