"""scan_runs: one row per scan a server runs, so that a scan cut short by a killed server is marked

Revision ID: 0004_hardening
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_hardening"
down_revision = "0004"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "scan_runs",
        sa.Column("id", Id, nullable=False),
        sa.Column("user", sa.String(255), nullable=False),
        sa.Column("roots", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("heartbeat_at", sa.Float(), nullable=False),
        sa.Column("finished_at", sa.Float(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scan_runs")),
    )
    op.create_index(op.f("ix_scan_runs_state"), "scan_runs", ["state"])


def downgrade() -> None:
    op.drop_index(op.f("ix_scan_runs_state"), table_name="scan_runs")
    op.drop_table("scan_runs")
