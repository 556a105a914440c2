"""eligibility results leave half of each page free (fillfactor 50, PostgreSQL)

Revision ID: 5b7d2e9c4f10
Revises: c4a7e2f19b03
Create Date: 2026-12-01

The nightly recompute moves every stored row's stamps (as_of, computed_at, valid_through,
inputs_hash) on a first run and at the fiscal year's switch, and the stamps are in no index.
With room on the row's own page PostgreSQL writes the new version there (a HOT update) and
touches none of the table's seven indexes; on a full page it moves the row and inserts it into
every index, three to five times slower. Pages written from now on keep half their space for
that (a table updated nightly settles at about twice its packed size anyway, with or without
it); pages already written take it when next written, or at once with VACUUM FULL. SQLite has
no such setting: nothing to do there.
"""

from alembic import op

revision = "5b7d2e9c4f10"
down_revision = "c4a7e2f19b03"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE eligibility_results SET (fillfactor = 50)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE eligibility_results RESET (fillfactor)")
