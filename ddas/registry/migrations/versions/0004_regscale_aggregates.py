"""per-content aggregates and running tallies for duplicates and stats; event indexes by kind

``duplicates`` and ``stats`` read every copy and event (10-14 s at 200,000 copies). This adds what
lets them read a page and a few rows instead (see ``ddas.registry.tallies``):

* ``contents.copy_count``, ``places`` (distinct inodes of the present copies), ``wasted_bytes`` and
  ``tallied``, with a partial index on ``(wasted_bytes, id)`` over the duplicates (``places >= 2``)
  and one on ``(copy_count, id)`` for the listing's sort by copies;
* ``type_tallies``, ``user_tallies``, ``day_tallies``: sums per file type, per user, per day;
* ``events (kind, id)`` and ``(user, kind, id)`` in place of ``events (kind)``, so that "events of
  these kinds after id N" is an index range.

Columns are added with ``ALTER TABLE ... ADD COLUMN`` (no table rebuild on SQLite, which would drop
migration 0002's FTS triggers), then :func:`ddas.registry.tallies.rebuild` counts the existing rows.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from ddas.registry import tallies

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

PLACES = sa.text("places >= 2")


def _counters(*names: str) -> list[sa.Column]:
    return [sa.Column(n, sa.BigInteger(), nullable=False) for n in names]


def upgrade() -> None:
    for name, type_, default in (
        ("copy_count", sa.Integer(), "0"),
        ("places", sa.Integer(), "0"),
        ("wasted_bytes", sa.BigInteger(), "0"),
        ("tallied", sa.Boolean(), sa.false()),
    ):
        op.add_column("contents", sa.Column(name, type_, nullable=False, server_default=default))
    op.create_table(
        "type_tallies",
        sa.Column("ext", sa.String(32), nullable=False),
        *_counters(*tallies.TYPE_COLUMNS),
        sa.PrimaryKeyConstraint("ext", name="pk_type_tallies"),
    )
    op.create_table(
        "user_tallies",
        sa.Column("user", sa.String(255), nullable=False),
        *_counters("downloads", "bytes_downloaded", "reuses", "bytes_saved"),
        sa.PrimaryKeyConstraint("user", name="pk_user_tallies"),
    )
    op.create_table(
        "day_tallies",
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("user", sa.String(255), nullable=False),
        *_counters("reuses", "bytes_saved"),
        sa.PrimaryKeyConstraint("day", "user", name="pk_day_tallies"),
    )
    tallies.rebuild(op.get_bind())
    op.create_index("ix_contents_copy_count_id", "contents", ["copy_count", "id"])
    op.create_index(
        "ix_contents_duplicates",
        "contents",
        ["wasted_bytes", "id"],
        sqlite_where=PLACES,
        postgresql_where=PLACES,
    )
    op.drop_index("ix_events_kind", table_name="events")
    op.create_index("ix_events_kind_id", "events", ["kind", "id"])
    op.create_index("ix_events_user_kind_id", "events", ["user", "kind", "id"])


def downgrade() -> None:
    op.drop_index("ix_events_user_kind_id", table_name="events")
    op.drop_index("ix_events_kind_id", table_name="events")
    op.create_index("ix_events_kind", "events", ["kind"])
    op.drop_index("ix_contents_duplicates", table_name="contents")
    op.drop_index("ix_contents_copy_count_id", table_name="contents")
    for name in ("day_tallies", "user_tallies", "type_tallies"):
        op.drop_table(name)
    for column in ("tallied", "wasted_bytes", "places", "copy_count"):
        op.drop_column("contents", column)
