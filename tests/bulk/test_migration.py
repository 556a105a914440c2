"""Migration a75977cb2c07 fills the duplicate key and the code check in for existing firms."""

from __future__ import annotations

from sqlalchemy import select

from tests.migration_support import fill, upgrade_with_rows
from tracker.enterprises.uscc import make_code
from tracker.names import name_key


def _rows(t):
    yield fill(t["enterprises"], id=1, uscc=make_code(1), name="北洋能源（天津）有限责任公司",
               zone="hitech")
    yield fill(t["enterprises"], id=2, uscc="12120116A00000000X", name="ＡＢＣ科技有限公司",
               zone="hitech")
    yield fill(t["contacts"], enterprise_id=1, name="张三")


def _read(conn, t):
    firms = t["enterprises"]
    return [tuple(r) for r in conn.execute(
        select(firms.c.id, firms.c.name_key, firms.c.uscc_valid, firms.c.merged_into_id)
        .order_by(firms.c.id)).all()]


def test_upgrade_fills_name_key_and_uscc_valid_on_a_table_others_point_at(tmp_path):
    assert upgrade_with_rows(tmp_path, "7c1e5a9d2b40", _rows, _read) == [
        (1, name_key("北洋能源（天津）有限责任公司"), True, None),
        (2, name_key("ＡＢＣ科技有限公司"), False, None),
    ]
