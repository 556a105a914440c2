"""API tokens and idempotency keys: user_tokens gains name, read_only and last_used_at (purpose
"api"); api_idempotency_keys remembers each POST's first answer per token; audit_events gains
the channel a change came through.

Revision ID: 47cd184e9d09
Revises: 7c1e5a9d2b40
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

import tracker.models_base


# revision identifiers, used by Alembic.
revision = '47cd184e9d09'
down_revision = "7c1e5a9d2b40"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('api_idempotency_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('headers', sa.JSON(), nullable=False),
    sa.Column('created_at', tracker.models_base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['token_id'], ['user_tokens.id'], name=op.f('fk_api_idempotency_keys_token_id_user_tokens'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_idempotency_keys')),
    sa.UniqueConstraint('token_id', 'key', name=op.f('uq_api_idempotency_keys_token_id_key'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=120), nullable=True))

    with op.batch_alter_table('user_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('read_only', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('last_used_at', tracker.models_base.UTCDateTime(timezone=True), nullable=True))



def downgrade():
    with op.batch_alter_table('user_tokens', schema=None) as batch_op:
        batch_op.drop_column('last_used_at')
        batch_op.drop_column('read_only')
        batch_op.drop_column('name')

    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('channel')

    op.drop_table('api_idempotency_keys')
