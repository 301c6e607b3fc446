"""a generation per report: events, duplicates, stats

Migration 0006's one counter moved on with every committed change of copies or events; every fetch
writes an event, so under a few fetchers it moved many times a second and the server's ETags and
response cache for ``duplicates`` and ``stats`` never hit, although no fetch changed the duplicates.
Now row 1 counts the event feed and rows 2 and 3 the duplicates and the stats
(``ddas.registry.tallies.CONCERNS``). They start past row 1's value, so an ETag given out before
this migration (which named row 1's value) never matches a new one.

Revision ID: 0007_report_generations
Revises: 0006_generation
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_report_generations"
down_revision = "0006_generation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    start = conn.execute(
        sa.text("SELECT generation FROM registry_generation WHERE id = 1")
    ).scalar()
    start = int(start or 0) + 1
    table = sa.table("registry_generation", sa.column("id"), sa.column("generation"))
    op.bulk_insert(table, [{"id": 2, "generation": start}, {"id": 3, "generation": start}])


def downgrade() -> None:
    op.execute("DELETE FROM registry_generation WHERE id > 1")
