"""retire the old plan targets; mark the month-ends a backdated change makes wrong

Revision ID: c69127999d28
Revises: 2a25d58cd42b
Create Date: 2026-12-01

- targets: dropped. The plan periods and their indicators (plan_targets) replaced it; only the
  retired /admin/targets page, `flask targets set` and the API's plan lines (now the
  indicators') still read it (issue 14).
  The downgrade recreates the table empty: its rows were overrides no page showed.
- monthly_count_redo: per zone, the first stored month-end a change with a past effective date
  made wrong (a backdated title, revocation or tenancy close); rewritten in the same commit,
  or by a worker / the next beat run after a bulk commit (tracker.dashboard.redo).
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
    op.create_table(
        "monthly_count_redo",
        sa.Column("zone", sa.String(length=20), nullable=False),
        sa.Column("from_month", sa.Date(), nullable=False),
        sa.Column("marked_at", tracker.models_base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("zone", name=op.f("pk_monthly_count_redo")),
    )


def downgrade():
    op.drop_table("monthly_count_redo")
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
