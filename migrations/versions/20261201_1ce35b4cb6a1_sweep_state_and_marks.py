"""scheduled sweep state and marks: a full pass once a day, then only the marked firms

Revision ID: 1ce35b4cb6a1
Revises: 5b7d2e9c4f10
Create Date: 2026-12-01

sweep_state holds one row: the day of the last full pass and the count of full passes asked
for (a rule, cycle or user changed) against the count served. sweep_marks holds the firms
changed outside an inline sweep since the last pass (no foreign key: a deleted firm's mark is
harmless and must not hold up the deletion). An installation without the row does a full pass
first, which writes it.
"""

import sqlalchemy as sa
from alembic import op

import tracker.models_base

revision = "1ce35b4cb6a1"
down_revision = '5b7d2e9c4f10'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "sweep_marks",
        sa.Column("enterprise_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("marked_at", tracker.models_base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("enterprise_id", name=op.f("pk_sweep_marks")),
    )
    op.create_table(
        "sweep_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("full_pass_on", sa.Date(), nullable=True),
        sa.Column("requested", sa.BigInteger(), nullable=False),
        sa.Column("served", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sweep_state")),
    )


def downgrade():
    op.drop_table("sweep_state")
    op.drop_table("sweep_marks")
