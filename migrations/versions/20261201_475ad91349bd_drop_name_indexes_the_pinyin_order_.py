"""drop the active-firms-by-name indexes the pinyin order replaced

Revision ID: 475ad91349bd
Revises: c69127999d28
Create Date: 2026-12-01

The list and the board sort by `name_pinyin` (ix_enterprises_active_pinyin,
ix_enterprises_active_rung_pinyin); no query filters active firms and orders them by `name`
any more, so these two partial indexes only cost writes and space. Downgrade recreates them.
"""

import sqlalchemy as sa
from alembic import op

revision = "475ad91349bd"
down_revision = "c69127999d28"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_enterprises_active_rung_name", table_name="enterprises")
    op.drop_index("ix_enterprises_active_name", table_name="enterprises")


def downgrade():
    active = sa.text("status = 'active'")
    op.create_index("ix_enterprises_active_name", "enterprises", ["name", "id"],
                    postgresql_where=active, sqlite_where=active)
    op.create_index("ix_enterprises_active_rung_name", "enterprises",
                    ["current_rung", "name", "id"], postgresql_where=active, sqlite_where=active)
