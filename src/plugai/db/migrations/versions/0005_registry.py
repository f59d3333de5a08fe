"""local model registry and persisted download jobs

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from plugai.db.tables import UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registry_models",
        sa.Column("id", sa.String(300), primary_key=True),
        sa.Column("display_name", sa.String(300), nullable=False),
        sa.Column("modality", sa.String(20), nullable=False),
        sa.Column("format", sa.String(20), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("total_size", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("discovered", sa.Boolean(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("last_used_at", UtcDateTime(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "download_jobs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("revision", sa.String(200), nullable=True),
        sa.Column("commit", sa.String(200), nullable=True),
        sa.Column("patterns", sa.JSON(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("user_id", sa.String(40), nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("bytes_done", sa.BigInteger(), nullable=False),
        sa.Column("bytes_total", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("model_id", sa.String(300), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=True),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
    )
    op.create_index("ix_download_jobs_state", "download_jobs", ["state", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_download_jobs_state", table_name="download_jobs")
    op.drop_table("download_jobs")
    op.drop_table("registry_models")
