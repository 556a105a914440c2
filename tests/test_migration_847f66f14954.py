"""The data step of 847f66f14954: firms already stored get their pinyin keys."""

from __future__ import annotations

from sqlalchemy import select

from tests.migration_support import fill, upgrade_with_rows


def _rows(t):
    for i, name in enumerate(["天津北洋能源科技有限公司", "天津ABC（滨海）科技"], 1):
        yield fill(t["enterprises"], id=i, uscc=str(i) * 18, name=name, zone="hitech")
    yield fill(t["carriers"], id=1, name="滨海创新孵化器")


def _read(conn, t):
    firms, carriers = t["enterprises"], t["carriers"]
    rows = conn.execute(select(firms.c.id, firms.c.name_pinyin, firms.c.name_initials)
                        .order_by(firms.c.id)).all()
    return [tuple(r) for r in rows], conn.scalar(select(carriers.c.name_pinyin))


def test_upgrade_backfills_the_pinyin_keys(tmp_path):
    rows, carrier_key = upgrade_with_rows(tmp_path, "7c1e5a9d2b40", _rows, _read,
                                          end="847f66f14954")
    assert rows == [
        (1, "tianjinbeiyangnengyuankejiyouxiangongsi", "tjbynykjyxgs"),
        (2, "tianjinabcbinhaikeji", "tjabcbhkj")]
    assert carrier_key == "binhaichuangxinfuhuaqi"
