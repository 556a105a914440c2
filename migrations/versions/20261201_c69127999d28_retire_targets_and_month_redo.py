"""retire the old plan targets: the targets table goes (plan periods hold the targets)

Revision ID: c69127999d28
Revises: 2a25d58cd42b
Create Date: 2026-12-01

- targets: dropped. The plan periods and their indicators (plan_targets) replaced it; nothing
  read it any more but the retired /admin/targets page and `flask targets set` (issue 14).
  The downgrade recreates the table empty: its rows were overrides no page showed.
"""

import sqlalchemy as sa
from alembic import op

import tracker.models_base

revision = "c69127999d28"
down_revision = "2a25d58cd42b"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_table("targets")


def downgrade():
    op.create_table(
        "targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=40), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("updated_at", tracker.models_base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_targets")),
        sa.UniqueConstraint("metric", "year", name=op.f("uq_targets_metric_year")),
    )
