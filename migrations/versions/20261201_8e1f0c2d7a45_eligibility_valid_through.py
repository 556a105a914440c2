"""eligibility results say how long they hold (valid_through)

Revision ID: 8e1f0c2d7a45
Revises: b3c1e8f04d27
Create Date: 2026-12-01

A stored verdict holds until the first day the rules could read the same facts differently
(the fiscal-year switch, an age threshold, a title's dates): the nightly recompute skips a firm
whose facts did not change while that day has not come. Rows stored before hold on their own
day only (valid_through = as_of), so the first night after the upgrade evaluates them once.
"""

import sqlalchemy as sa
from alembic import op

revision = "8e1f0c2d7a45"
down_revision = "b3c1e8f04d27"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("eligibility_results", sa.Column("valid_through", sa.Date(), nullable=True))
    op.execute("UPDATE eligibility_results SET valid_through = as_of")


def downgrade():
    with op.batch_alter_table("eligibility_results") as batch:
        batch.drop_column("valid_through")
