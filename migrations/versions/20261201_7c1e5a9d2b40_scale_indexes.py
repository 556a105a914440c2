"""scale indexes: trigram name search, active firms by name, the board's rung columns, near misses

Revision ID: 7c1e5a9d2b40
Revises: e332e24998fc
Create Date: 2026-12-01

PostgreSQL-only DDL (the pg_trgm extension, the GIN operator class) is guarded by dialect; on
SQLite the trigram index is a plain one, as the model declares it there.
"""

import sqlalchemy as sa
from alembic import op

revision = "7c1e5a9d2b40"
down_revision = "e332e24998fc"
branch_labels = None
depends_on = None


def upgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_index("ix_enterprises_name_trgm", "enterprises", ["name"],
                    postgresql_using="gin", postgresql_ops={"name": "gin_trgm_ops"})
    op.create_index("ix_enterprises_active_name", "enterprises", ["name", "id"],
                    postgresql_where=sa.text("status = 'active'"),
                    sqlite_where=sa.text("status = 'active'"))
    op.create_index("ix_enterprises_active_rung_name", "enterprises",
                    ["current_rung", "name", "id"],
                    postgresql_where=sa.text("status = 'active'"),
                    sqlite_where=sa.text("status = 'active'"))
    op.create_index("ix_eligibility_results_near_miss", "eligibility_results",
                    ["enterprise_id", "kind"],
                    postgresql_where=sa.text("near_miss_code IS NOT NULL"),
                    sqlite_where=sa.text("near_miss_code IS NOT NULL"))


def downgrade():
    op.drop_index("ix_eligibility_results_near_miss", table_name="eligibility_results")
    op.drop_index("ix_enterprises_active_rung_name", table_name="enterprises")
    op.drop_index("ix_enterprises_active_name", table_name="enterprises")
    op.drop_index("ix_enterprises_name_trgm", table_name="enterprises")
    # the pg_trgm extension stays: other objects may use it
