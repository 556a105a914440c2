"""counts versions (a commit that changes counted records adds a row; cached figures compare
ids) and eligibility_results.inputs_hash (a recompute over unchanged inputs skips the firm)

Revision ID: 5236c0efeaa4
Revises: 47cd184e9d09
Create Date: 2026-12-01 10:09:19.112018

"""
import sqlalchemy as sa
from alembic import op

import tracker.models_base

# revision identifiers, used by Alembic.
revision = "5236c0efeaa4"
down_revision = "47cd184e9d09"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "counts_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", tracker.models_base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_counts_versions")),
    )
    with op.batch_alter_table("eligibility_results", schema=None) as batch_op:
        batch_op.add_column(sa.Column("inputs_hash", sa.String(length=40), nullable=True))


def downgrade():
    with op.batch_alter_table("eligibility_results", schema=None) as batch_op:
        batch_op.drop_column("inputs_hash")
    op.drop_table("counts_versions")
