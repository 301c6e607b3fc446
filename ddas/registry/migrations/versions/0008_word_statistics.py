"""PostgreSQL: finer statistics for the search words, so a word's range is estimated right

``metadata_words.word`` holds a few hundred words that thousands of contents share (variable names
such as ``t2m``, title words) among millions of rare ones. At the default statistics target (100
most common values) a variable in 0.2 % of the contents is not among them, and the planner put its
range at 3 rows instead of 7,500: it then tested 200 sampled contents by a nested loop over a
materialized copy of the range (150 ms at 1M copies) instead of hashing it (4.6 ms). A target of
1,000 keeps the common words' counts. ``ANALYZE`` takes the new sample now (1.6 s for 4M words);
autovacuum keeps it. SQLite keeps no such statistics: nothing to do there.

Revision ID: 0008_word_statistics
Revises: 0007_report_generations
"""

from alembic import op

revision = "0008_word_statistics"
down_revision = "0007_report_generations"
branch_labels = None
depends_on = None

#: The columns whose ranges a search asks for, and the statistics target they get.
WORD_COLUMNS = (("metadata_words", "word"), ("annotation_words", "word"))
TARGET = 1000


def _set(target: int) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in WORD_COLUMNS:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET STATISTICS {target}")
        op.execute(f"ANALYZE {table}")


def upgrade() -> None:
    _set(TARGET)


def downgrade() -> None:
    _set(-1)  # the server's default_statistics_target again
