"""dashboard figures gain the workload chart's measures (applications and reminders per status):
the maintained figures marked stale until the next refresh counts them

Revision ID: 5e388a41f9eb
Revises: 1ce35b4cb6a1
Create Date: 2026-12-01

No schema change: the new measures are rows of dashboard_aggregates and dashboard_firm_marks.
Figures counted before this have none of their rows, so they must not be read as current: the
first reader falls back to the straightforward queries and asks for the full refresh (as the
counts-version migration did for the expiring and coarse-stays measures).
"""

from alembic import op

revision = "5e388a41f9eb"
down_revision = '1ce35b4cb6a1'
branch_labels = None
depends_on = None


def upgrade():
    op.execute("UPDATE dashboard_aggregate_state SET counts_version = -1")


def downgrade():
    # the older code reads none of the new measures' rows; the refresh drops them
    op.execute("UPDATE dashboard_aggregate_state SET counts_version = -1")
