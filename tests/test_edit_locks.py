"""Every edit form uses the same optimistic lock: a missing version is refused, a stale one is 409.

The cases are found, not listed by hand only: every form class that edits a stored record is a
VersionedForm, and the test fails when one of them has no case below.
"""

from __future__ import annotations

import importlib
import pkgutil
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import pytest
from flask_wtf import FlaskForm
from sqlalchemy import select

import tracker
from tests.conftest import login
from tests.factories import make_carrier, make_enterprise, make_user
from tracker.enterprises import services as enterprises
from tracker.extensions import db
from tracker.forms_support import VersionedForm
from tracker.incubation import services as incubation
from tracker.indicators import services as indicators
from tracker.indicators.models import PlanIndicator, PlanPeriod, PlanTarget
from tracker.indicators.seed import seed_plan
from tracker.ladder import services as ladder
from tracker.reminders import services as reminders
from tracker.reminders.defaults import seed_rules
from tracker.reminders.models import PROGRAMMES, ReminderRule
from tracker.webhooks import services as webhooks

PROGRAMMES_FIRST = next(iter(PROGRAMMES))

MISSING = "缺少版本号"


class _Forms(HTMLParser):
    """The posted fields of each <form> on a page, as a browser would send them unchanged."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self._select: str | None = None
        self._first_option: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action") or "", "fields": {}})
        if not self.forms:
            return
        fields = self.forms[-1]["fields"]
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") in ("checkbox", "radio"):
                if "checked" in a:
                    fields[name] = a.get("value", "y")
            else:
                fields[name] = a.get("value") or ""
        elif tag == "select" and name:
            self._select, self._first_option = name, None
        elif tag == "option" and self._select:
            value = a.get("value") or ""
            if self._first_option is None:
                self._first_option = value
                fields.setdefault(self._select, value)
            if "selected" in a:
                fields[self._select] = value
        elif tag == "textarea" and name:
            self._textarea = name
            fields[name] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea and self.forms:
            self.forms[-1]["fields"][self._textarea] += data


def _form_on(page: str, action: str, version: str) -> dict[str, str]:
    parser = _Forms()
    parser.feed(page)
    for form in parser.forms:
        if version in form["fields"] and (not action or form["action"] == action):
            return dict(form["fields"])
    raise AssertionError(f"no versioned form posting to {action}")


@pytest.fixture
def records():
    """One stored record behind every edit form, and who may edit it."""
    bureau, admin = make_user("bureau"), make_user("admin")
    firm = make_enterprise()
    contact = enterprises.save_contact(firm, {"name": "张伟", "email": "zhang@firm.example"})
    metrics = enterprises.save_metrics(firm, 2025, {"employees": 12})
    qual = ladder.grant_qualification(firm, "hnte", "GR202312000273", date(2023, 12, 8))
    plan = ladder.create_application(firm, {"kind": "tech_sme", "year": 2026})
    moving = ladder.create_application(firm, {"kind": "chuying", "year": 2026})
    submitted = ladder.create_application(firm, {"kind": "dengling", "year": 2026})
    ladder.move_application(submitted, "preparing")
    ladder.move_application(submitted, "submitted")
    threshold = ladder.save_local_thresholds("dengling", {"min_revenue": Decimal(1)})
    carrier = make_carrier(name="甲孵化器", kind="incubator", zone="hitech", area_m2=1000)
    tenant = make_enterprise(founded_on=date(2023, 3, 1))
    tenancy = incubation.open_tenancy(tenant, carrier, date(2024, 1, 31))
    manager = make_user("carrier_manager", carrier_id=carrier.id)
    proposal = incubation.propose(tenancy, "exit", {"effective_on": date(2026, 5, 1),
                                                    "reason": "迁出"}, user=manager)
    cycle = incubation.create_cycle({"name": "2025年第四季度", "period_start": date(2025, 10, 1),
                                     "period_end": date(2025, 12, 31),
                                     "due_on": date(2026, 1, 20)}, user=bureau)
    report = incubation.submit_report(cycle, tenancy, {"employees": 9}, user=manager)
    seed_rules()
    rule = db.session.scalar(select(ReminderRule).order_by(ReminderRule.id))
    calendar = reminders.save_cycle(None, {"programme": PROGRAMMES_FIRST, "year": 2026,
                                           "batch": "第一批", "opens_on": date(2026, 3, 1),
                                           "closes_on": date(2026, 4, 30), "notes": None})
    hook = webhooks.create_endpoint({"url": "http://127.0.0.1:9/hook",
                                     "events": ["rung.changed"]})
    seed_plan(db.session.connection())
    period = db.session.scalar(select(PlanPeriod).where(PlanPeriod.code == "15th"))
    closed = db.session.scalar(select(PlanPeriod).where(PlanPeriod.code == "14th"))
    centres = db.session.scalar(select(PlanIndicator).where(PlanIndicator.code == "rd_centres"))
    value = indicators.save_value(centres, closed, 2025, "540", "年报", actor_id=bureau.id)
    target = db.session.scalar(select(PlanTarget).where(
        PlanTarget.period_id == period.id, PlanTarget.indicator_id == centres.id))
    db.session.commit()
    return locals()


#: form class name -> (page with the form, where it posts, who edits, the record, a change)
CASES: dict[str, tuple[str, str, str, str, dict[str, str]]] = {
    "EnterpriseForm": ("/enterprises/{firm.id}/edit", "", "bureau", "firm",
                       {"street": "第二大街"}),
    "ArchiveForm": ("/enterprises/{firm.id}/archive", "", "bureau", "firm", {"reason": "注销"}),
    "ContactForm": ("/enterprises/{firm.id}/contacts/{contact.id}", "", "bureau", "contact",
                    {"title": "总经理"}),
    "MetricsForm": ("/enterprises/{firm.id}/metrics/2025", "", "bureau", "metrics",
                    {"employees": "13"}),
    "QualificationForm": ("/ladder/qualifications/{qual.id}/edit", "", "bureau", "qual",
                          {"batch": "2023年第二批"}),
    "RevokeForm": ("/ladder/qualifications/{qual.id}/revoke", "", "bureau", "qual",
                   {"reason": "误录"}),
    "ApplicationEditForm": ("/ladder/applications/{plan.id}/edit", "", "bureau", "plan",
                            {"batch": "第一批"}),
    "MoveForm": ("/enterprises/{firm.id}", "/ladder/applications/{moving.id}/move", "bureau",
                 "moving", {"to_status": "preparing"}),
    "ApproveForm": ("/ladder/applications/{submitted.id}/approve", "", "bureau", "submitted",
                    {"number": "TJ2026000001"}),
    "ThresholdForm": ("/ladder/admin/thresholds", "", "admin", "threshold",
                      {"dengling-min_revenue": "2"}),  # one form per rung, prefixed
    "CarrierForm": ("/incubation/carriers/{carrier.id}/edit", "", "bureau", "carrier",
                    {"address": "新地址"}),
    "TenancyEditForm": ("/incubation/tenancies/{tenancy.id}/edit", "", "bureau", "tenancy",
                        {"area_m2": "88"}),
    "DecisionForm": ("/incubation/proposals/{proposal.id}", "", "bureau", "proposal",
                     {"decision": "reject", "comment": "请补充材料"}),
    "ReportForm": ("/incubation/reports/{cycle.id}/tenancies/{tenancy.id}", "", "bureau",
                   "report", {"employees": "10"}),
    "RuleForm": ("/reminders/rules/{rule.id}/edit", "", "admin", "rule", {"name": "到期提醒"}),
    "CycleForm": ("/reminders/cycles/{calendar.id}/edit", "", "admin", "calendar",
                  {"notes": "以官方通知为准"}),
    "EditEndpointForm": ("/admin/webhooks/{hook.id}/edit", "", "admin", "hook",
                         {"description": "孵化器系统"}),
    "ValueEditForm": ("/dashboard/indicators/values/{value.id}/edit", "", "bureau", "value",
                      {"source": "统计年鉴修订"}),
    "TargetForm": ("/dashboard/indicators/targets/{target.id}", "", "admin", "target",
                   {"target": "600"}),
    "SourceForm": ("/dashboard/indicators/periods/{period.id}/source", "", "bureau", "period",
                   {"source_title": "滨海新区科技创新十五五规划", "source_date": "2026-10-20"}),
}


#: forms embedded in another page: they answer with a redirect and a flashed message
REDIRECTING = {"ArchiveForm", "MoveForm"}


def _edit_forms() -> set[str]:
    for info in pkgutil.walk_packages(tracker.__path__, "tracker."):
        if info.name.endswith(".forms"):
            importlib.import_module(info.name)
    found, todo = set(), list(FlaskForm.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("tracker.") and issubclass(cls, VersionedForm):
            found.add(cls.__name__)
    return found


def test_every_edit_form_is_versioned_and_has_a_case():
    assert _edit_forms() == set(CASES)


def test_a_form_with_a_version_field_is_a_versioned_form():
    for info in pkgutil.walk_packages(tracker.__path__, "tracker."):
        if info.name.endswith(".forms"):
            module = importlib.import_module(info.name)
            for value in vars(module).values():
                if isinstance(value, type) and issubclass(value, FlaskForm) and \
                        hasattr(value, "version"):
                    assert issubclass(value, VersionedForm), value.__name__


@pytest.mark.parametrize("form_name", sorted(CASES))
def test_missing_or_stale_version_is_refused(client, records, form_name):
    page_url, action, role, record_name, change = CASES[form_name]
    page_url, action = page_url.format(**records), action.format(**records)
    record = records[record_name]
    login(client, records[role])
    page = client.get(page_url)
    assert page.status_code == 200, page_url
    prefix = next(iter(change)).rpartition("-")[0]
    version = f"{prefix}-version" if prefix else "version"
    data = {**_form_on(page.get_data(as_text=True), action, version), **change}
    post_to = action or page_url
    opened = record.version

    def outcome(response) -> tuple[int, str]:
        if response.status_code == 302:  # a form embedded in another page: flashed there
            return 302, client.get(response.headers["Location"]).get_data(as_text=True)
        return response.status_code, response.get_data(as_text=True)

    status, body = outcome(client.post(
        post_to, data={k: v for k, v in data.items() if k != version}))
    assert status == (302 if form_name in REDIRECTING else 400), form_name
    assert MISSING in body, form_name
    db.session.refresh(record)
    assert record.version == opened

    status, body = outcome(client.post(post_to, data={**data, version: "0"}))
    assert status == (302 if form_name in REDIRECTING else 409), form_name
    assert "已被他人" in body, form_name
    if status == 409:
        assert next(iter(change.values())) in body  # the user's input is still on screen
    db.session.refresh(record)
    assert record.version == opened

    saved = client.post(post_to, data=data)
    assert saved.status_code == 302, (form_name, saved.get_data(as_text=True)[:2000])
    db.session.refresh(record)
    assert record.version > opened
