"""collections, scientific metadata, people's annotations, and their search words

* ``collections`` / ``collection_members``: a folder-like dataset at one version (URL + digest of the
  sorted member list) and its files (relative path -> content).
* ``content_metadata``: what a file says about itself (JSON), its one-line summary, and the
  signature grouping "same data, different files".
* ``annotations``: tags, description, license, DOI, keyed by URL (kept across versions) or content.
* ``metadata_words`` / ``annotation_words``: one row per (word, owner) with the word leading the
  primary key, so ``datasets?q=temperature`` is a btree range, not a scan of JSON documents, and
  an index (id, word) for a broad search's per-row test. On
  PostgreSQL the word columns use the "C" collation: byte order, so prefix ranges are exact.

Revision ID: 0005_collections
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_collections"
down_revision = "0004_hardening"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Word = sa.String(64).with_variant(sa.String(64, collation="C"), "postgresql")


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    _collections()
    _metadata()
    _annotations()


def _collections() -> None:
    """Collections and their members: one folder-like dataset at one version."""
    op.create_table(
        "collections",
        sa.Column("id", Id, nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("last_used_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collections")),
        sa.UniqueConstraint("url", "digest", name=op.f("uq_collections_url_digest")),
    )
    op.create_index("ix_collections_last_used_at_id", "collections", ["last_used_at", "id"])
    op.create_table(
        "collection_members",
        sa.Column("collection_id", Id, nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("content_id", Id, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        _fk("collection_members", "collection_id", "collections"),
        _fk("collection_members", "content_id", "contents"),
        sa.PrimaryKeyConstraint("collection_id", "path", name=op.f("pk_collection_members")),
    )
    op.create_index("ix_collection_members_content_id", "collection_members", ["content_id"])


def _metadata() -> None:
    """What files say about themselves, and the words a search finds them by."""
    op.create_table(
        "content_metadata",
        sa.Column("content_id", Id, nullable=False),
        sa.Column("format", sa.String(32), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.Column("signature", sa.String(64), nullable=True),
        sa.Column("extracted_at", sa.Float(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        _fk("content_metadata", "content_id", "contents"),
        sa.PrimaryKeyConstraint("content_id", name=op.f("pk_content_metadata")),
    )
    op.create_index("ix_content_metadata_signature", "content_metadata", ["signature"])
    op.create_table(
        "metadata_words",
        sa.Column("word", Word, nullable=False),
        sa.Column("content_id", Id, nullable=False),
        _fk("metadata_words", "content_id", "contents"),
        sa.PrimaryKeyConstraint("word", "content_id", name=op.f("pk_metadata_words")),
    )
    op.create_index("ix_metadata_words_content_id_word", "metadata_words", ["content_id", "word"])


def _annotations() -> None:
    """People's annotations, and their search words."""
    op.create_table(
        "annotations",
        sa.Column("id", Id, nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("content_id", Id, nullable=True),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("license", sa.String(255), nullable=False),
        sa.Column("doi", sa.String(255), nullable=False),
        sa.Column("updated_by", sa.String(255), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        _fk("annotations", "content_id", "contents"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_annotations")),
        sa.UniqueConstraint("url", name=op.f("uq_annotations_url")),
        sa.UniqueConstraint("content_id", name=op.f("uq_annotations_content_id")),
    )
    op.create_table(
        "annotation_words",
        sa.Column("word", Word, nullable=False),
        sa.Column("annotation_id", Id, nullable=False),
        _fk("annotation_words", "annotation_id", "annotations"),
        sa.PrimaryKeyConstraint("word", "annotation_id", name=op.f("pk_annotation_words")),
    )
    op.create_index(
        "ix_annotation_words_annotation_id_word", "annotation_words", ["annotation_id", "word"]
    )


def downgrade() -> None:
    for table in (
        "annotation_words",
        "annotations",
        "metadata_words",
        "content_metadata",
        "collection_members",
        "collections",
    ):
        op.drop_table(table)
