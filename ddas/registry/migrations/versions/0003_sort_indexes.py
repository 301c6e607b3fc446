"""indexes for the sidebar's sort orders: (last_used_at, id), (name, id), (size, id), (created_at, id)

``Registry.search`` pages through contents ordered by one of these keys with ``id`` as the tie
breaker, in the same direction as the key, so one index serves both ``sort=x`` and ``sort=-x``:
the first page of a million datasets reads fifty index entries instead of sorting every row.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_contents_last_used_at_id": ["last_used_at", "id"],
    "ix_contents_name_id": ["name", "id"],
    "ix_contents_size_id": ["size", "id"],
    "ix_contents_created_at_id": ["created_at", "id"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "contents", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="contents")
