"""dashboard aggregates: maintained per-zone counts the dashboard reads, back-filled

Revision ID: 2a25d58cd42b
Revises: c290763cc647
Create Date: 2026-12-01

- dashboard_aggregates (measure, zone, key, sub) -> value: firms per rung and field, holders
  and candidates per kind, funnel cohorts, the histogram of finished stays (issue 14/12: the
  cold dashboard reads a few hundred rows instead of scanning the register);
- dashboard_firm_marks: each active firm's own share of those figures (which sum to them), so
  a save recounts only the firms it touched and adds the difference;
- dashboard_aggregate_state: the day and counts version they are current for.

The back-fill counts every firm's marks with the product's own queries, on this connection,
and sums them into the figures.
"""

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

import tracker.models_base

revision = "2a25d58cd42b"
down_revision = "c290763cc647"
branch_labels = None
depends_on = None


def upgrade():
    state = op.create_table(
        "dashboard_aggregate_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("counted_on", sa.Date(), nullable=False),
        sa.Column("counts_version", sa.Integer(), nullable=False),
        sa.Column("refreshed_at", tracker.models_base.UTCDateTime(timezone=True),
                  nullable=False),
        sa.Column("updated_at", tracker.models_base.UTCDateTime(timezone=True),
                  nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dashboard_aggregate_state")),
    )
    op.create_table(
        "dashboard_aggregates",
        sa.Column("measure", sa.String(length=16), nullable=False),
        sa.Column("zone", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=30), nullable=False),
        sa.Column("sub", sa.String(length=30), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("measure", "zone", "key", "sub",
                                name=op.f("pk_dashboard_aggregates")),
    )
    op.create_table(
        "dashboard_firm_marks",
        sa.Column("enterprise_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("measure", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=30), nullable=False),
        sa.Column("sub", sa.String(length=30), nullable=False),
        sa.Column("zone", sa.String(length=20), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("enterprise_id", "measure", "key", "sub",
                                name=op.f("pk_dashboard_firm_marks")),
    )
    _backfill(state)


def _backfill(state: sa.Table) -> None:
    from tracker.clock import today
    from tracker.dashboard.aggregates import rebuild

    bind = op.get_bind()
    day = today()
    rebuild(bind.execute, day, bind.dialect.name)
    version = bind.execute(sa.text("SELECT max(id) FROM counts_versions")).scalar() or 0
    stamp = datetime.now(timezone.utc)
    bind.execute(state.insert().values(id=1, counted_on=day, counts_version=version,
                                       refreshed_at=stamp, updated_at=stamp))


def downgrade():
    op.drop_table("dashboard_firm_marks")
    op.drop_table("dashboard_aggregates")
    op.drop_table("dashboard_aggregate_state")
