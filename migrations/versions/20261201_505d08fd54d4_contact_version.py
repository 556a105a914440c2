"""Contacts carry a version: their edits use the same optimistic lock as every other record

Revision ID: 505d08fd54d4
Revises: 4a9620a83196
Create Date: 2026-12-01 04:20:28.140091

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "505d08fd54d4"
down_revision = "4a9620a83196"
branch_labels = None
depends_on = None


def upgrade():
    # existing contacts start at version 1, like every new row
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1",
                                      nullable=False))


def downgrade():
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_column("version")
