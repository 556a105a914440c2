"""pinyin infix search: trigram indexes on the pinyin keys (PostgreSQL only)

Revision ID: 5d2c8e7f1a36
Revises: 8e1f0c2d7a45
Create Date: 2026-12-01

The navbar search also looks for the query inside a firm's pinyin and initials. PostgreSQL
answers that from these GIN trigram indexes; SQLite has none (it scans the keys in pinyin
order), as the model declares.
"""

from alembic import op

revision = "5d2c8e7f1a36"
down_revision = "8e1f0c2d7a45"
branch_labels = None
depends_on = None

_KEYS = {"ix_enterprises_pinyin_trgm": "name_pinyin",
         "ix_enterprises_initials_trgm": "name_initials"}


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in _KEYS.items():
        op.create_index(name, "enterprises", [column], postgresql_using="gin",
                        postgresql_ops={column: "gin_trgm_ops"})


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in _KEYS:
        op.drop_index(name, table_name="enterprises")
