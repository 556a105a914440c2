"""plan periods and indicators: periods, the plan's indicators, targets and yearly figures

Revision ID: a8ddbb1d6758
Revises: 5236c0efeaa4
Create Date: 2026-12-01

Data step: the 十四五 period (closed) with its targets and 2020 baseline, the 十五五 period
(unconfirmed, no targets yet) and the plan's indicators, through the same idempotent seeding
function the demo and the tests use (tracker.indicators.seed, Core statements on named columns).
"""

import sqlalchemy as sa
from alembic import op

import tracker.models_base
from tracker.indicators.seed import seed_plan

revision = "a8ddbb1d6758"
down_revision = "5236c0efeaa4"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('plan_indicators',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('group', sa.String(length=20), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('basis', sa.String(length=300), nullable=False),
    sa.Column('decimals', sa.Integer(), nullable=False),
    sa.Column('lower_is_better', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_indicators')),
    sa.UniqueConstraint('code', name=op.f('uq_plan_indicators_code'))
    )
    op.create_table('plan_periods',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('start_year', sa.Integer(), nullable=False),
    sa.Column('end_year', sa.Integer(), nullable=False),
    sa.Column('closed', sa.Boolean(), nullable=False),
    sa.Column('source_title', sa.String(length=200), nullable=True),
    sa.Column('source_number', sa.String(length=100), nullable=True),
    sa.Column('source_date', sa.Date(), nullable=True),
    sa.Column('updated_at', tracker.models_base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_periods')),
    sa.UniqueConstraint('code', name=op.f('uq_plan_periods_code'))
    )
    op.create_table('plan_targets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period_id', sa.Integer(), nullable=False),
    sa.Column('indicator_id', sa.Integer(), nullable=False),
    sa.Column('target', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('target_note', sa.String(length=100), nullable=True),
    sa.Column('baseline', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('updated_at', tracker.models_base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.ForeignKeyConstraint(['indicator_id'], ['plan_indicators.id'], name=op.f('fk_plan_targets_indicator_id_plan_indicators')),
    sa.ForeignKeyConstraint(['period_id'], ['plan_periods.id'], name=op.f('fk_plan_targets_period_id_plan_periods')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_targets')),
    sa.UniqueConstraint('period_id', 'indicator_id', name=op.f('uq_plan_targets_period_id_indicator_id'))
    )
    op.create_table('indicator_values',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('indicator_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('value', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('entered_by_id', sa.Integer(), nullable=True),
    sa.Column('entered_at', tracker.models_base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.ForeignKeyConstraint(['entered_by_id'], ['users.id'], name=op.f('fk_indicator_values_entered_by_id_users')),
    sa.ForeignKeyConstraint(['indicator_id'], ['plan_indicators.id'], name=op.f('fk_indicator_values_indicator_id_plan_indicators')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_indicator_values')),
    sa.UniqueConstraint('indicator_id', 'year', name=op.f('uq_indicator_values_indicator_id_year'))
    )
    seed_plan(op.get_bind())


def downgrade():
    op.drop_table('indicator_values')
    op.drop_table('plan_targets')
    op.drop_table('plan_periods')
    op.drop_table('plan_indicators')
