"""The leadership workbook's indicator sheet: every period, labels only, the reader's scope."""

from __future__ import annotations

import io
from datetime import date

from openpyxl import load_workbook

from tests.conftest import login
from tests.factories import make_enterprise, make_user
from tracker.clock import frozen
from tracker.extensions import db
from tracker.indicators import catalogue, services
from tracker.indicators.status import Status
from tracker.ladder.models import Qualification

DAY = date(2026, 12, 1)
HEADER = ("规划期", "指标分组", "指标", "单位", "基数", "目标", "目标说明", "实际", "实际年度",
          "进度（%）", "状态", "是否完成", "口径", "来源")


def _sheet(client, user):
    login(client, user)
    with frozen(DAY):
        answer = client.get("/imports/export/report.xlsx")
    assert answer.status_code == 200
    workbook = load_workbook(io.BytesIO(answer.data))
    if services.SHEET_TITLE not in workbook.sheetnames:
        return None
    return list(workbook[services.SHEET_TITLE].iter_rows(values_only=True))


def _hnte_firms():
    """Two HNTE holders on 2025-12-31, one in hitech and one in teda."""
    for zone in ("hitech", "teda"):
        firm = make_enterprise(zone=zone)
        db.session.add(Qualification(enterprise_id=firm.id, kind="hnte",
                                     granted_on=date(2024, 1, 1), valid_until=date(2026, 12, 31)))
    db.session.flush()


def test_the_sheet_lists_every_period_with_labels_only(client, plan):
    _hnte_firms()
    services.save_value(plan.indicators["tech_contracts"], plan.periods["14th"], 2025, "512.3",
                        "2025年技术合同登记统计", day=DAY)
    rows = _sheet(client, make_user("viewer"))
    assert rows[0] == HEADER
    body = rows[1:]
    assert len(body) == 2 * len(catalogue.INDICATORS)
    by_key = {(row[0], row[2]): row for row in body}
    hnte = by_key[("十四五（2021–2025，已结束）", "国家高新技术企业")]
    assert hnte[1] == "创新主体规模"
    assert hnte[3:12] == ("家", 3270, 5800, None, 2, 2025, -129.2, "滞后", "未完成")
    assert hnte[12].startswith("持有有效国家高新技术企业证书的企业")
    contracts = by_key[("十四五（2021–2025，已结束）", "年技术合同成交额")]
    assert contracts[5:13] == (500, "超过500亿元", 512.3, 2025, 102.5, "符合进度", "已完成",
                               "当年成交额（流量），全区")
    assert contracts[13] == "2025年技术合同登记统计"
    assert by_key[("十五五（2026–2030，目标未确认）", "国家高新技术企业")][5] is None
    codes = {row[0] for row in catalogue.INDICATORS} | set(catalogue.GROUPS) | {
        str(s) for s in Status} | set(catalogue.PERIODS)
    assert not codes & {cell for row in body for cell in row if isinstance(cell, str)}


def test_zone_staff_get_their_zone_without_district_targets(client, plan):
    _hnte_firms()
    rows = _sheet(client, make_user("zone", zone="teda"))
    hnte = next(r for r in rows if r[0].startswith("十四五") and r[2] == "国家高新技术企业")
    assert (hnte[4], hnte[5], hnte[7], hnte[10]) == (None, None, 1, "无数据")
    assert hnte[12].endswith("（本区域）")


def test_carrier_managers_get_no_indicator_sheet(client, plan):
    assert _sheet(client, make_user("carrier_manager")) is None
