"""PostgreSQL: pg_prewarm, so a server's warm-up can read the search's relations into the cache

A fresh server's warm-up runs each kind of search once, but the first users' searches for other
texts read other pages of the trigram indexes and tables. When the database host's page cache has
dropped them (a restart, a night of other jobs), those reads go to disk: with the page cache
dropped, a 1M-copy registry's URL-part searches took 97 ms at p99 for their first 40 requests
(first call 101 ms), against 27 ms warm. ``pg_prewarm`` reads a relation in one sequential pass;
the warm-up (:mod:`ddas.registry.pagecache`) calls it when it exists. Best effort, as ``pg_trgm``
in 0002: it is created in ``public`` where the role may, and a registry without it still works.

Revision ID: 0009_pg_prewarm
Revises: 0008_word_statistics
"""

from alembic import op
from sqlalchemy.exc import DBAPIError

revision = "0009_pg_prewarm"
down_revision = "0008_word_statistics"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_prewarm SCHEMA public")
    except DBAPIError:  # not allowed, not available, or created concurrently by another registry
        pass


def downgrade() -> None:
    """The extension stays: other registries of the database may use it (as with pg_trgm)."""
