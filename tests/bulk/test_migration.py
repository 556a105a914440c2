"""Migration a75977cb2c07 fills the duplicate key and the code check in for existing firms."""

from __future__ import annotations

from flask_migrate import upgrade
from sqlalchemy import MetaData, create_engine, select

from config import TestConfig
from tests.test_migration_090add3e93cc import _fill
from tracker import ROOT, create_app
from tracker.enterprises.uscc import make_code
from tracker.names import name_key


def test_upgrade_fills_name_key_and_uscc_valid_on_a_table_others_point_at(tmp_path):
    url = f"sqlite:///{tmp_path / 'data.db'}"

    class Cfg(TestConfig):
        SQLALCHEMY_DATABASE_URI = url

    app = create_app(Cfg)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="7c1e5a9d2b40")
        engine = create_engine(url)
        meta = MetaData()
        meta.reflect(engine)
        t = meta.tables
        with engine.begin() as conn:
            conn.execute(_fill(t["enterprises"], id=1, uscc=make_code(1),
                               name="北洋能源（天津）有限责任公司", zone="hitech"))
            conn.execute(_fill(t["enterprises"], id=2, uscc="12120116A00000000X",
                               name="ＡＢＣ科技有限公司", zone="hitech"))
            conn.execute(_fill(t["contacts"], enterprise_id=1, name="张三"))
        upgrade(directory=str(ROOT / "migrations"))
        meta = MetaData()
        meta.reflect(engine)
        firms = meta.tables["enterprises"]
        with engine.connect() as conn:
            rows = conn.execute(select(firms.c.id, firms.c.name_key, firms.c.uscc_valid,
                                       firms.c.merged_into_id).order_by(firms.c.id)).all()
        engine.dispose()
    assert [tuple(r) for r in rows] == [
        (1, name_key("北洋能源（天津）有限责任公司"), True, None),
        (2, name_key("ＡＢＣ科技有限公司"), False, None),
    ]
