"""enterprise name pinyin keys: pinyin order for the lists, pinyin search in the navbar;
carriers' names in pinyin too; the reminders ledger sorted by due date

Revision ID: 847f66f14954
Revises: eedf472bc854
Create Date: 2026-12-01

Adds enterprises.name_pinyin and name_initials with their indexes and back-fills them for the
firms already stored, in id-ordered chunks (bounded memory at any size), with the same
tracker.names.pinyin_keys the model's listener uses on every later save.
"""

import sqlalchemy as sa
from alembic import op

from tracker.names import pinyin_keys

revision = "847f66f14954"
down_revision = "eedf472bc854"
branch_labels = None
depends_on = None

CHUNK = 2000


def _backfill_carriers() -> None:
    """Carriers are a few hundred rows: one read, one batched write."""
    bind = op.get_bind()
    carriers = sa.table("carriers", sa.column("id", sa.Integer), sa.column("name", sa.String),
                        sa.column("name_pinyin", sa.String))
    values = [{"b_id": id_, "p": pinyin_keys(name)[0]}
              for id_, name in bind.execute(sa.select(carriers.c.id, carriers.c.name))]
    if values:
        bind.execute(carriers.update().where(carriers.c.id == sa.bindparam("b_id"))
                     .values(name_pinyin=sa.bindparam("p")), values)


def _backfill() -> None:
    bind = op.get_bind()
    firms = sa.table("enterprises", sa.column("id", sa.Integer), sa.column("name", sa.String),
                     sa.column("name_pinyin", sa.String), sa.column("name_initials", sa.String))
    last = 0
    while True:
        rows = bind.execute(sa.select(firms.c.id, firms.c.name).where(firms.c.id > last)
                            .order_by(firms.c.id).limit(CHUNK)).all()
        if not rows:
            return
        values = []
        for id_, name in rows:
            spelled, initials = pinyin_keys(name)
            values.append({"b_id": id_, "p": spelled, "i": initials})
        bind.execute(firms.update().where(firms.c.id == sa.bindparam("b_id"))
                     .values(name_pinyin=sa.bindparam("p"), name_initials=sa.bindparam("i")),
                     values)
        last = rows[-1][0]


def upgrade():
    # a NOT NULL column with a default is a plain ALTER TABLE on SQLite too (no table copy)
    op.add_column("enterprises", sa.Column("name_pinyin", sa.String(length=600),
                                           server_default="", nullable=False))
    op.add_column("enterprises", sa.Column("name_initials", sa.String(length=200),
                                           server_default="", nullable=False))
    op.add_column("carriers", sa.Column("name_pinyin", sa.String(length=600),
                                        server_default="", nullable=False))
    _backfill()
    _backfill_carriers()
    op.create_index("ix_carriers_name_pinyin", "carriers", ["name_pinyin"])
    op.create_index("ix_enterprises_pinyin_id", "enterprises", ["name_pinyin", "id"])
    op.create_index("ix_enterprises_initials", "enterprises", ["name_initials"])
    op.create_index("ix_enterprises_active_pinyin", "enterprises", ["name_pinyin", "id"],
                    postgresql_where=sa.text("status = 'active'"),
                    sqlite_where=sa.text("status = 'active'"))
    op.create_index("ix_enterprises_zone_pinyin", "enterprises", ["zone", "name_pinyin", "id"])
    op.create_index("ix_enterprises_active_rung_pinyin", "enterprises",
                    ["current_rung", "name_pinyin", "id"],
                    postgresql_where=sa.text("status = 'active'"),
                    sqlite_where=sa.text("status = 'active'"))
    op.create_index("ix_reminders_occurrence_id", "reminders", ["occurrence_on", "id"])


def downgrade():
    op.drop_index("ix_reminders_occurrence_id", table_name="reminders")
    op.drop_index("ix_enterprises_active_rung_pinyin", table_name="enterprises")
    op.drop_index("ix_enterprises_zone_pinyin", table_name="enterprises")
    op.drop_index("ix_enterprises_active_pinyin", table_name="enterprises")
    op.drop_index("ix_enterprises_initials", table_name="enterprises")
    op.drop_index("ix_enterprises_pinyin_id", table_name="enterprises")
    op.drop_index("ix_carriers_name_pinyin", table_name="carriers")
    with op.batch_alter_table("carriers") as batch_op:
        batch_op.drop_column("name_pinyin")
    with op.batch_alter_table("enterprises") as batch_op:
        batch_op.drop_column("name_initials")
        batch_op.drop_column("name_pinyin")
