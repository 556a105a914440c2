"""The data step of 847f66f14954: firms already stored get their pinyin keys."""

from __future__ import annotations

from flask_migrate import upgrade
from sqlalchemy import MetaData, create_engine, select

from config import TestConfig
from tests.test_migration_090add3e93cc import _fill
from tracker import ROOT, create_app


def test_upgrade_backfills_the_pinyin_keys(tmp_path):
    url = f"sqlite:///{tmp_path / 'data.db'}"

    class Cfg(TestConfig):
        SQLALCHEMY_DATABASE_URI = url

    app = create_app(Cfg)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="7c1e5a9d2b40")
        engine = create_engine(url)
        meta = MetaData()
        meta.reflect(engine)
        with engine.begin() as conn:
            for i, name in enumerate(["天津北洋能源科技有限公司", "天津ABC（滨海）科技"], 1):
                conn.execute(_fill(meta.tables["enterprises"], id=i, uscc=str(i) * 18,
                                   name=name, zone="hitech"))
            conn.execute(_fill(meta.tables["carriers"], id=1, name="滨海创新孵化器"))
        upgrade(directory=str(ROOT / "migrations"), revision="847f66f14954")
        meta = MetaData()
        meta.reflect(engine)
        firms, carriers = meta.tables["enterprises"], meta.tables["carriers"]
        with engine.connect() as conn:
            rows = conn.execute(select(firms.c.id, firms.c.name_pinyin, firms.c.name_initials)
                                .order_by(firms.c.id)).all()
            carrier_key = conn.scalar(select(carriers.c.name_pinyin))
        engine.dispose()
    assert [tuple(r) for r in rows] == [
        (1, "tianjinbeiyangnengyuankejiyouxiangongsi", "tjbynykjyxgs"),
        (2, "tianjinabcbinhaikeji", "tjabcbhkj")]
    assert carrier_key == "binhaichuangxinfuhuaqi"
