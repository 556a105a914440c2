"""Invariant checker: stored runs, last-write times on qualifications and tenancies.

Existing qualifications and tenancies take their creation time as their last write.

Revision ID: de98a6da7984
Revises: 090add3e93cc
Create Date: 2026-12-01 04:15:44.063779

"""
from alembic import op
import sqlalchemy as sa

import tracker.models_base


# revision identifiers, used by Alembic.
revision = 'de98a6da7984'
down_revision = '090add3e93cc'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('integrity_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('started_at', tracker.models_base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', tracker.models_base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('trigger', sa.String(length=20), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('checked', sa.JSON(), nullable=False),
    sa.Column('violations', sa.JSON(), nullable=False),
    sa.Column('violation_count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integrity_runs'))
    )
    with op.batch_alter_table('integrity_runs', schema=None) as batch_op:
        batch_op.create_index('ix_integrity_runs_started', ['started_at'], unique=False)

    # Added NOT NULL with a placeholder default, then filled: altering nullability afterwards
    # would make SQLite rebuild the table, which other tables' foreign keys refuse.
    op.add_column('qualifications', sa.Column('updated_at', tracker.models_base.UTCDateTime(timezone=True), nullable=False, server_default='1970-01-01 00:00:00+00:00'))
    op.execute("UPDATE qualifications SET updated_at = created_at")

    # Added NOT NULL with a placeholder default, then filled: altering nullability afterwards
    # would make SQLite rebuild the table, which other tables' foreign keys refuse.
    op.add_column('tenancies', sa.Column('updated_at', tracker.models_base.UTCDateTime(timezone=True), nullable=False, server_default='1970-01-01 00:00:00+00:00'))
    op.execute("UPDATE tenancies SET updated_at = created_at")



def downgrade():
    with op.batch_alter_table('tenancies', schema=None) as batch_op:
        batch_op.drop_column('updated_at')

    with op.batch_alter_table('qualifications', schema=None) as batch_op:
        batch_op.drop_column('updated_at')

    with op.batch_alter_table('integrity_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_integrity_runs_started')

    op.drop_table('integrity_runs')
