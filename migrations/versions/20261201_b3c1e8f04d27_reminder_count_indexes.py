"""reminder count indexes: the ledger's capped counts in a scope read indexes, not the ledger

Revision ID: b3c1e8f04d27
Revises: 475ad91349bd
Create Date: 2026-12-01

- reminders (status, enterprise_id): a scoped user's count of one status walks the scope's
  firms and probes this index (index-only), instead of reading every row of the status and
  testing each against the scope (a carrier manager's count of `sent` read the whole ledger);
- reminders (recipient_id, status) WHERE recipient_type = 'user': the user's own rows
  (digests, officer copies) per status; the digest run's pending-digest lookup uses it too.
"""

import sqlalchemy as sa
from alembic import op

revision = "b3c1e8f04d27"
down_revision = "475ad91349bd"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_reminders_status_enterprise", "reminders", ["status", "enterprise_id"],
                    unique=False)
    op.create_index("ix_reminders_user_status", "reminders", ["recipient_id", "status"],
                    unique=False, postgresql_where=sa.text("recipient_type = 'user'"),
                    sqlite_where=sa.text("recipient_type = 'user'"))


def downgrade():
    op.drop_index("ix_reminders_user_status", table_name="reminders")
    op.drop_index("ix_reminders_status_enterprise", table_name="reminders")
