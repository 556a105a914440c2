"""counts version as one counter row bumped at each counting commit (commit order), replacing
the append-only counts_versions log whose max(id) followed insert order, not commit order; the
maintained dashboard figures marked stale (new measures: recounted by the next refresh);
zone_moves (a month-end keeps a moved firm in the zone it was in then)

Revision ID: c4a7e2f19b03
Revises: 5d2c8e7f1a36
Create Date: 2026-12-01 19:20:00.000000

"""
import sqlalchemy as sa
from alembic import op

import tracker.models_base

# revision identifiers, used by Alembic.
revision = "c4a7e2f19b03"
down_revision = "5d2c8e7f1a36"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "counts_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("at", tracker.models_base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_counts_version")),
    )
    # the counter goes on from the old log's newest id: figures marked with it stay current
    op.execute("INSERT INTO counts_version (id, value, at) "
               "SELECT 1, coalesce(max(id), 0), CURRENT_TIMESTAMP FROM counts_versions")
    op.drop_table("counts_versions")
    op.create_table(
        "zone_moves",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("moved_on", sa.Date(), nullable=False),
        sa.Column("from_zone", sa.String(length=20), nullable=False),
        sa.Column("to_zone", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprises.id"],
                                name=op.f("fk_zone_moves_enterprise_id_enterprises"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zone_moves")),
    )
    op.create_index("ix_zone_moves_enterprise_day", "zone_moves", ["enterprise_id", "moved_on"],
                    unique=False)
    # the maintained figures gain measures (expiring titles, the stays' coarse buckets): stale
    # until the next full refresh, which the first reader asks for
    op.execute("UPDATE dashboard_aggregate_state SET counts_version = -1")


def downgrade():
    op.drop_index("ix_zone_moves_enterprise_day", table_name="zone_moves")
    op.drop_table("zone_moves")
    op.create_table(
        "counts_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", tracker.models_base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_counts_versions")),
    )
    op.execute("INSERT INTO counts_versions (id, at) "
               "SELECT value, at FROM counts_version WHERE value > 0")
    op.drop_table("counts_version")
