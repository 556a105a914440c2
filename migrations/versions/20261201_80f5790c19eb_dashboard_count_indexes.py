"""dashboard count indexes: the cold dashboard and its charts read indexes, not wide rows

Revision ID: 80f5790c19eb
Revises: 847f66f14954
Create Date: 2026-12-01

- eligibility_results (kind, enterprise_id) WHERE candidate: the ladder card's candidates per
  kind without reading every result's JSON (was a scan of all results);
- enterprises (status, zone, current_rung, tech_field): firms per zone / rung / field, one
  ordered GROUP BY read off the index;
- enterprises (id, status, current_rung, zone): joins from child rows probe this instead of
  the wide firm row;
- qualifications (valid_until, granted_on, revoked_on, kind, enterprise_id): titles valid on a
  day (holders per kind, titles expiring) without reading the wide rows.
"""

import sqlalchemy as sa
from alembic import op

revision = "80f5790c19eb"
down_revision = "847f66f14954"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_eligibility_results_candidates", "eligibility_results",
                    ["kind", "enterprise_id"], unique=False,
                    postgresql_where=sa.text("candidate IS true"),
                    sqlite_where=sa.text("candidate IS 1"))
    op.create_index("ix_enterprises_id_status_rung_zone", "enterprises",
                    ["id", "status", "current_rung", "zone"], unique=False)
    op.create_index("ix_enterprises_status_zone_rung_field", "enterprises",
                    ["status", "zone", "current_rung", "tech_field"], unique=False)
    op.create_index("ix_qualifications_validity_cover", "qualifications",
                    ["valid_until", "granted_on", "revoked_on", "kind", "enterprise_id"],
                    unique=False)


def downgrade():
    op.drop_index("ix_qualifications_validity_cover", table_name="qualifications")
    op.drop_index("ix_enterprises_status_zone_rung_field", table_name="enterprises")
    op.drop_index("ix_enterprises_id_status_rung_zone", table_name="enterprises")
    op.drop_index("ix_eligibility_results_candidates", table_name="eligibility_results")
