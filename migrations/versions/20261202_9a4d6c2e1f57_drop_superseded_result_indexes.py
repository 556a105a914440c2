"""drop eligibility_results' single-column indexes on candidate and near_miss_code

Revision ID: 9a4d6c2e1f57
Revises: 5e388a41f9eb
Create Date: 2026-12-02

Superseded by the partial indexes ix_eligibility_results_candidates (kind, enterprise_id WHERE
candidate) and ix_eligibility_results_near_miss (enterprise_id, kind WHERE near_miss_code IS
NOT NULL): at 500,000 firms on PostgreSQL the board's candidates and near misses and the
ladder card's counts are planned the same with or without them, and nothing filters on either
column otherwise. Each stored result row no longer writes two more index entries.
"""

from alembic import op

revision = "9a4d6c2e1f57"
down_revision = "5e388a41f9eb"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_eligibility_results_candidate", table_name="eligibility_results")
    op.drop_index("ix_eligibility_results_near_miss_code", table_name="eligibility_results")


def downgrade():
    op.create_index("ix_eligibility_results_near_miss_code", "eligibility_results",
                    ["near_miss_code"], unique=False)
    op.create_index("ix_eligibility_results_candidate", "eligibility_results", ["candidate"],
                    unique=False)
