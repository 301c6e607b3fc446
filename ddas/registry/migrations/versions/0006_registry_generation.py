"""the registry's generation: a counter every committed change of copies or events moves on

``ddas.registry.tallies`` adds one to ``registry_generation.generation`` as the last statement of
every transaction that changed a content's copies or wrote an event, so a server can tell "nothing
has changed since generation N" with one primary-key read: ETags, 304s and a response cache for the
report routes, with no aggregate. One row, updated right before COMMIT (the last lock a write
takes, held only for its commit).

Revision ID: 0006_generation
Revises: 0005_collections
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_generation"
down_revision = "0005_collections"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "registry_generation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_generation")),
    )
    op.bulk_insert(table, [{"id": 1, "generation": 0}])


def downgrade() -> None:
    op.drop_table("registry_generation")
