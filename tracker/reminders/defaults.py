"""Default reminder rules, derived from domain.md §6; admins edit the seeded rows afterwards."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select

from tracker.extensions import db
from tracker.reminders.models import ReminderRule


def may_31(year: int) -> date:
    """HNTE annual report and the tech-SME `0` marker both end on 31 May (domain.md §1.4, §2.5)."""
    return date(year, 5, 31)


#: the official texts the rules rest on, cited to admins on the rules page (never our notes)
HNTE_RULES = "《高新技术企业认定管理办法》（国科发火〔2016〕32号）"
INCUBATOR_RULES = "《科技企业孵化器管理办法》（国科发区〔2018〕300号）"

DEFAULT_RULES: list[dict[str, Any]] = [
    {
        # 办法 第九条: valid 3 years; re-apply as a new applicant in a batch of the expiry year
        # (domain.md §2.3, 国家税务总局公告2017年第24号 on the 15% prepayment).
        "code": "hnte_expiry", "kind": "hnte_expiry",
        "name": "高企证书即将到期：请在今年批次中重新申报",
        "offsets": [180, 90, 30], "recipients": ["contacts", "officer"],
        "template": "hnte_expiry", "basis": HNTE_RULES + " 第九条",
    },
    {
        # Annual development report by 31 May each validity year; remind from 1 May and a week
        # before (domain.md §2.5; Tianjin's own date UNCONFIRMED, 31 May used).
        "code": "hnte_annual_report", "kind": "hnte_annual_report",
        "name": "高企年度发展情况报表：5月31日前填报", "offsets": [30, 7],
        "recipients": ["contacts", "officer"], "template": "hnte_annual_report",
        "programme": "hnte_annual_report", "basis": HNTE_RULES,
    },
    {
        # Missing the report in two years (cumulative) cancels the status (domain.md §2.5).
        "code": "hnte_annual_report_escalation", "kind": "hnte_annual_report_escalation",
        "name": "高企年报：去年未报，今年再不报将被取消资格", "offsets": [7],
        "recipients": ["officer"], "template": "hnte_annual_report_escalation",
        "programme": "hnte_annual_report", "basis": HNTE_RULES,
    },
    {
        # The registration number is valid for its year only; filing by 31 May keeps the `0`
        # marker needed for the prior year's CIT settlement (domain.md §1.4, 国科火字〔2019〕87号).
        "code": "tech_sme_refile", "kind": "tech_sme_refile",
        "name": "科技型中小企业：今年重新评价，5月31日前提交以保留“0”标识",
        "offsets": [120, 30, 7], "recipients": ["contacts", "officer"],
        "template": "tech_sme_refile", "basis": "国科火字〔2019〕87号；国科发火〔2018〕11号",
    },
    {
        # Incubation term in principle ≤ 48 months
        # (国科发区〔2018〕300号 第九条(9), domain.md §4.2).
        "code": "tenancy_term_ending", "kind": "tenancy_term_ending", "name": "孵化期即将届满",
        "offsets": [90, 30], "recipients": ["carrier_manager", "officer"],
        "template": "tenancy_term_ending", "basis": INCUBATOR_RULES + " 第九条",
    },
    {
        # Torch statistics are mandatory for national carriers (domain.md §4.1, §4.10); the
        # deadline is the closing date of the admin-entered `tenant_report` cycle.
        "code": "tenant_report_overdue", "kind": "tenant_report_overdue",
        "name": "在孵企业统计报表逾期未报", "offsets": [-1, -14],
        "recipients": ["carrier_manager", "contacts"], "template": "tenant_report_overdue",
        "programme": "tenant_report", "basis": INCUBATOR_RULES,
    },
    {
        # 逾期未报（催报）: a carrier's reporting cycle (incubation) passed its due date without
        # the tenant's report; the manager fills it in, the tenant supplies the figures.
        "code": "tenant_report_late", "kind": "tenant_report_late",
        "name": "逾期未报（催报）：在孵企业报表逾期未报", "offsets": [-1, -7],
        "recipients": ["carrier_manager", "contacts"], "template": "tenant_report_late",
        "basis": None,
    },
    {
        "code": "application_deadline", "kind": "application_deadline",
        "name": "申报材料截止日期临近", "offsets": [30, 7, 1],
        "recipients": ["owner", "officer", "contacts"], "template": "application_deadline",
        "basis": None,
    },
    {
        "code": "cycle_closing", "kind": "cycle_closing", "name": "申报批次即将截止",
        "offsets": [14, 3], "recipients": ["officer", "contacts"],
        "template": "cycle_closing", "basis": "官方申报日历（管理员维护）",
    },
    {
        # Once per rung and year, to the officer (issue 5; engine: tracker.ladder.rules).
        "code": "newly_eligible", "kind": "newly_eligible",
        "name": "企业已达到上一梯度的申报条件", "offsets": [0], "recipients": ["officer"],
        "template": "newly_eligible", "basis": None,
    },
    {
        "code": "digest", "kind": "digest", "name": "每日提醒汇总", "offsets": [0],
        "recipients": ["officer"], "template": "digest", "basis": None,
    },
]


def seed_rules() -> int:
    """Add the default rules that are missing (by code); returns how many were added."""
    existing = set(db.session.scalars(select(ReminderRule.code)))
    added = 0
    for spec in DEFAULT_RULES:
        if spec["code"] in existing:
            continue
        db.session.add(ReminderRule(**spec))
        added += 1
    db.session.flush()
    return added


def seed_if_empty() -> int:
    """The sweep seeds the defaults on a fresh database so reminders work out of the box."""
    if db.session.scalar(select(func.count(ReminderRule.id))):
        return 0
    return seed_rules()


def digest_rule() -> ReminderRule:
    rule = db.session.scalar(select(ReminderRule).where(ReminderRule.kind == "digest"))
    if rule is None:
        seed_rules()
        rule = db.session.scalar(select(ReminderRule).where(ReminderRule.kind == "digest"))
    return rule


def seed_demo(year: int) -> None:
    """Default rules plus this year's official cycles, so the demo's calendar is not empty."""
    from tracker.reminders.models import OfficialCycle

    seed_rules()
    cycles = [
        # illustrative dates an admin would copy from the year's notices (domain.md §1.5, §2.5)
        ("hnte_annual_report", "", date(year, 5, 1), may_31(year)),
        ("tech_sme_evaluation", "第一批", date(year, 3, 1), date(year, 5, 31)),
        ("hnte_application", "第一批", date(year, 5, 1), date(year, 6, 30)),
        ("hnte_application", "第二批", date(year, 7, 1), date(year, 9, 15)),
        ("tenant_report", "", date(year, 1, 1), date(year, 3, 31)),
    ]
    for programme, batch, opens, closes in cycles:
        exists = db.session.scalar(select(OfficialCycle.id).where(
            OfficialCycle.programme == programme, OfficialCycle.year == year,
            OfficialCycle.batch == batch))
        if exists is None:
            db.session.add(OfficialCycle(programme=programme, year=year, batch=batch,
                                         opens_on=opens, closes_on=closes,
                                         notes="演示数据，请按当年官方通知修改"))
    db.session.flush()
