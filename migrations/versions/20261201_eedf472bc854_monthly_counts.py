"""monthly counts: month-end firms per rung and tenants per carrier kind, for the trend charts

Revision ID: eedf472bc854
Revises: f3a1c0de2b51
Create Date: 2026-12-01

The table starts empty; `flask dashboard backfill-snapshots` (or the beat job's first run)
fills the past months from the stage transitions and tenancies.
"""

import sqlalchemy as sa
from alembic import op

import tracker.models_base

revision = "eedf472bc854"
down_revision = "f3a1c0de2b51"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "monthly_counts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("measure", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=30), nullable=False),
        sa.Column("zone", sa.String(length=20), nullable=False),
        sa.Column("carrier_id", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("computed_at", tracker.models_base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monthly_counts")),
        sa.UniqueConstraint("month", "measure", "key", "zone", "carrier_id",
                            name="uq_monthly_counts_cell"),
    )
    with op.batch_alter_table("monthly_counts", schema=None) as batch_op:
        batch_op.create_index("ix_monthly_counts_measure_month", ["measure", "month"],
                              unique=False)


def downgrade():
    with op.batch_alter_table("monthly_counts", schema=None) as batch_op:
        batch_op.drop_index("ix_monthly_counts_measure_month")
    op.drop_table("monthly_counts")
