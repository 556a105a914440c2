"""merge records and duplicate keys

- merge_records: what a merge of two firms moved and removed, so it can be undone.
- enterprises.name_key (tracker.names.name_key, indexed): likely duplicates are one GROUP BY;
  enterprises.uscc_valid (partial index on the invalid ones): legacy records to review;
  enterprises.merged_into_id: the record a merged-away firm now lives on.
- audit_events.batch_id: the one id shared by every event of a bulk action or a merge.

Existing firms get their name key and code check filled in here (frozen copies of the
functions, as migrations import no app code).

Revision ID: a75977cb2c07
Revises: 2744642c2dcd
Create Date: 2026-12-01 10:00:51.501485

"""
import re
import unicodedata

import sqlalchemy as sa
from alembic import op

import tracker.models_base


# revision identifiers, used by Alembic.
revision = 'a75977cb2c07'
down_revision = "2744642c2dcd"
branch_labels = None
depends_on = None


# Frozen copies of tracker.names.name_key and tracker.enterprises.uscc as of this revision.
_SUFFIXES = ("股份有限公司", "有限责任公司", "集团有限公司", "有限公司", "责任公司", "公司",
             "coltd", "ltd", "inc")
_DROPPED = re.compile(r"[\s()\[\]{}<>（）【】〔〕［］｛｝〈〉《》「」『』\"'“”‘’"
                      r",，.。、·・\-—_/&+:：;；!！?？]+")
_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = [pow(3, i, 31) for i in range(17)]


def _name_key(text):
    if not text:
        return None
    key = _DROPPED.sub("", unicodedata.normalize("NFKC", text).casefold())
    for suffix in _SUFFIXES:
        if key.endswith(suffix):  # the longest ending only; a bare 有限公司 stays itself
            return (key[: -len(suffix)] or key)[:200]
    return key[:200] or None


def _uscc_valid(code):
    code = re.sub(r"[\s\-‐‑‒–—―_]+", "", unicodedata.normalize("NFKC", code or "")).upper()
    if len(code) != 18 or any(c not in _ALPHABET for c in code):
        return False
    total = sum(_ALPHABET.index(c) * w for c, w in zip(code[:17], _WEIGHTS))
    return code[17] == _ALPHABET[(31 - total % 31) % 31]


def upgrade():
    op.create_table('merge_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('survivor_id', sa.Integer(), nullable=False),
    sa.Column('loser_id', sa.Integer(), nullable=False),
    sa.Column('at', tracker.models_base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('batch_id', sa.String(length=36), nullable=False),
    sa.Column('choices', sa.JSON(), nullable=False),
    sa.Column('survivor_before', sa.JSON(), nullable=False),
    sa.Column('loser_before', sa.JSON(), nullable=False),
    sa.Column('moved', sa.JSON(), nullable=False),
    sa.Column('removed', sa.JSON(), nullable=False),
    sa.Column('ladder_before', sa.JSON(), nullable=False),
    sa.Column('undone_at', tracker.models_base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('undone_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_merge_records_actor_id_users')),
    sa.ForeignKeyConstraint(['loser_id'], ['enterprises.id'], name=op.f('fk_merge_records_loser_id_enterprises')),
    sa.ForeignKeyConstraint(['survivor_id'], ['enterprises.id'], name=op.f('fk_merge_records_survivor_id_enterprises')),
    sa.ForeignKeyConstraint(['undone_by_id'], ['users.id'], name=op.f('fk_merge_records_undone_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_merge_records'))
    )
    with op.batch_alter_table('merge_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_merge_records_loser_id'), ['loser_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_merge_records_survivor_id'), ['survivor_id'], unique=False)

    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('batch_id', sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f('ix_audit_events_batch_id'), ['batch_id'], unique=False)

    # No batch for enterprises: a batch that copies the table is refused by SQLite's enforced
    # foreign keys while other tables point at it.
    if op.get_bind().dialect.name == "sqlite":  # ADD COLUMN may carry a REFERENCES clause
        op.execute("ALTER TABLE enterprises ADD COLUMN merged_into_id INTEGER "
                   "CONSTRAINT fk_enterprises_merged_into_id_enterprises "
                   "REFERENCES enterprises (id)")
    else:
        op.add_column('enterprises', sa.Column('merged_into_id', sa.Integer(), nullable=True))
        op.create_foreign_key('fk_enterprises_merged_into_id_enterprises', 'enterprises',
                              'enterprises', ['merged_into_id'], ['id'])

    # Plain ALTERs (no batch): SQLite adds these columns and partial indexes in place.
    op.add_column('enterprises', sa.Column('name_key', sa.String(length=200), nullable=True))
    op.add_column('enterprises', sa.Column('uscc_valid', sa.Boolean(), server_default=sa.true(),
                                           nullable=False))
    op.create_index('ix_enterprises_invalid_uscc', 'enterprises', ['id'], unique=False,
                    postgresql_where=sa.text('NOT uscc_valid'),
                    sqlite_where=sa.text('NOT uscc_valid'))
    op.create_index('ix_enterprises_name_key', 'enterprises', ['name_key'], unique=False,
                    postgresql_where=sa.text('merged_into_id IS NULL'),
                    sqlite_where=sa.text('merged_into_id IS NULL'))

    bind = op.get_bind()
    firms = sa.table("enterprises", sa.column("id"), sa.column("name"), sa.column("uscc"),
                     sa.column("name_key"), sa.column("uscc_valid", sa.Boolean))
    last = 0
    while True:  # in chunks: bounded memory at any size
        rows = bind.execute(sa.select(firms.c.id, firms.c.name, firms.c.uscc)
                            .where(firms.c.id > last).order_by(firms.c.id).limit(5000)).all()
        if not rows:
            break
        bind.execute(sa.update(firms).where(firms.c.id == sa.bindparam("row_id"))
                     .values(name_key=sa.bindparam("key"), uscc_valid=sa.bindparam("valid")),
                     [{"row_id": row_id, "key": _name_key(name), "valid": _uscc_valid(code)}
                      for row_id, name, code in rows])
        last = rows[-1][0]


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint('fk_enterprises_merged_into_id_enterprises', 'enterprises',
                           type_='foreignkey')
    with op.batch_alter_table('enterprises', schema=None) as batch_op:
        batch_op.drop_index('ix_enterprises_name_key')
        batch_op.drop_index('ix_enterprises_invalid_uscc', postgresql_where=sa.text('NOT uscc_valid'), sqlite_where=sa.text('NOT uscc_valid'))
        batch_op.drop_column('merged_into_id')
        batch_op.drop_column('uscc_valid')
        batch_op.drop_column('name_key')

    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_batch_id'))
        batch_op.drop_column('batch_id')

    with op.batch_alter_table('merge_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_merge_records_survivor_id'))
        batch_op.drop_index(batch_op.f('ix_merge_records_loser_id'))

    op.drop_table('merge_records')
