"""reminders: 64-bit ids and a renewable sending lease

Revision ID: e332e24998fc
Revises: de98a6da7984
Create Date: 2026-12-01 04:18:12.807845

On PostgreSQL `reminders.id` was int4 (and its sequence too): the ids the old sweep burnt would
have run it out. SQLite's INTEGER primary key is 64-bit already and must stay INTEGER.
"""
from alembic import op
import sqlalchemy as sa

import tracker.models_base


# revision identifiers, used by Alembic.
revision = 'e332e24998fc'
down_revision = 'de98a6da7984'
branch_labels = None
depends_on = None

_COLUMNS = (("reminders", "id"), ("reminders", "digest_id"), ("reminder_outbox", "reminder_id"))


def upgrade():
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_until', tracker.models_base.UTCDateTime(timezone=True), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        for table, column in _COLUMNS:
            op.alter_column(table, column, type_=sa.BigInteger(), existing_type=sa.Integer())
        # the column's type does not change its sequence's: that one caps at 2^31 - 1 too
        op.execute("ALTER SEQUENCE reminders_id_seq AS bigint")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER SEQUENCE reminders_id_seq AS integer")
        for table, column in reversed(_COLUMNS):
            op.alter_column(table, column, type_=sa.Integer(), existing_type=sa.BigInteger())
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.drop_column('lease_until')
