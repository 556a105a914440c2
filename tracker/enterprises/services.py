"""Writing enterprise records: validation, optimistic locking, audit.

Services flush; the caller (view, task, CLI) commits once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from tracker.accounts.scope import may_place_in_zone
from tracker.audit import services as audit
from tracker.bulk_insert import insert_rows
from tracker.clock import now_utc, today
from tracker.enterprises import uscc
from tracker.enterprises.models import (
    COUNT_FIELDS,
    FULL_YEAR_MONTHS,
    MONEY_FIELDS,
    Activity,
    AnnualMetrics,
    Contact,
    Enterprise,
    derived_columns,
)
from tracker.enterprises.zones import TECH_FIELDS, ZONES
from tracker.errors import FieldError as FieldError  # re-exported for views
from tracker.errors import StaleEdit as StaleEdit
from tracker.errors import check_version
from tracker.extensions import db
from tracker.messages import Message
from tracker.names import fold_name
from tracker.vocabulary import SOURCES

ENTERPRISE_FIELDS = (
    "uscc", "uscc_override_reason", "name", "zone", "street", "founded_on", "tech_field",
    "industry_tags", "officer_id", "address", "website", "description",
    "registered_in_tianjin", "resident_enterprise", "restricted_industry",
    "integrity_record_clean", "honours", "innovation_score", "status",
)
CONTACT_FIELDS = ("name", "title", "phone", "email", "receives_reminders", "locale")
METRIC_FIELDS = COUNT_FIELDS + MONEY_FIELDS
#: what the audit (and an import's undo) records of a year's figures: whether they cover the
#: full year matters as much as the figures
METRIC_AUDIT_FIELDS = (*METRIC_FIELDS, "period_months")


def check_uscc(raw: str, override_reason: str | None, *,
               exclude_id: int | None = None) -> tuple[str, str | None]:
    """The normalised code and the override reason to keep (only for a code failing the check).

    Raises FieldError with a clear message for a bad or already registered code.
    """
    code, reason = check_uscc_form(raw, override_reason)
    query = select(Enterprise.id).where(Enterprise.uscc == code)
    if exclude_id is not None:
        query = query.where(Enterprise.id != exclude_id)
    if db.session.scalar(query) is not None:
        # The clash may lie outside the user's scope: name no firm, point to who sees them all.
        raise FieldError({"uscc": _(
            "该统一社会信用代码已登记；如需查看或调整该企业，请联系区科技局")})
    return code, reason


def check_uscc_form(raw: str, override_reason: str | None) -> tuple[str, str | None]:
    """check_uscc without the database: only the form (bulk callers look codes up at once)."""
    code = uscc.normalise(raw)
    problem = uscc.problem(code)
    reason = (override_reason or "").strip() or None
    if problem is not None and not (problem.code == "check" and reason):
        message = problem.message
        if problem.code == "check":
            message = Message("%(problem)s；如确为历史遗留的真实代码，请填写例外说明",
                              problem=problem.message)
        raise FieldError({"uscc": message})
    return code, reason if problem is not None else None


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    cleaned = {k: v for k, v in data.items() if k in ENTERPRISE_FIELDS}
    for key in ("name", "street", "address", "website", "description"):
        if isinstance(cleaned.get(key), str):
            cleaned[key] = cleaned[key].strip() or None
    if cleaned.get("name"):  # searched by: folded the same way as the search query
        cleaned["name"] = fold_name(cleaned["name"]) or None
    if "name" in cleaned and not cleaned["name"]:
        errors["name"] = _("请填写企业名称")
    if "zone" in cleaned and cleaned["zone"] not in ZONES:
        errors["zone"] = _("请选择所属区域")
    if cleaned.get("tech_field") and cleaned["tech_field"] not in TECH_FIELDS:
        errors["tech_field"] = _("技术领域不在八大领域之内")
    if problem := founded_on_error(cleaned.get("founded_on")):
        errors["founded_on"] = problem
    score = cleaned.get("innovation_score")
    if score is not None and not 0 <= score <= 100:
        errors["innovation_score"] = _("创新能力评分应在 0–100 之间")
    if errors:
        raise FieldError(errors)
    return cleaned


def _check_zone(user: Any, cleaned: dict[str, Any]) -> None:
    """The zone rule of accounts.scope, told on the zone field."""
    if "zone" in cleaned and not may_place_in_zone(user, cleaned["zone"]):
        own = ZONES.get(user.zone, ("",))[0] if user.zone else ""
        raise FieldError({"zone": Message("只能登记或修改本区域（%(own)s）的企业",
                                          own=Message(own)) if own
                          else Message("您的账号没有设置所属区域，请联系管理员")})


def create_enterprise(data: dict[str, Any], *, user: Any = None) -> Enterprise:
    """Register a firm; `user` (None for the shell) places it only where they may."""
    cleaned = _clean(data)
    _check_zone(user, cleaned)
    cleaned["uscc"], cleaned["uscc_override_reason"] = check_uscc(
        data.get("uscc", ""), data.get("uscc_override_reason"))
    enterprise = Enterprise(**cleaned)
    db.session.add(enterprise)
    db.session.flush()
    audit.record(
        "enterprise", enterprise.id, "create",
        audit.changed_fields({}, audit.snapshot(enterprise, ENTERPRISE_FIELDS)),
        enterprise_id=enterprise.id,
    )
    return enterprise


@dataclass
class NewFirm:
    """One firm for register_many: checked values, and its first contact and year's figures."""

    #: from prepare_enterprise
    values: dict[str, Any]
    #: save_contact's data (name, title, phone, email, receives_reminders)
    contact: dict[str, Any] | None = None
    #: (fiscal year, figures, source) for a full year
    metrics: tuple[int, dict[str, Any], str] | None = None
    #: the stored rows register_many read back (columns as attributes, not session objects)
    enterprise: Any = None
    contact_row: Any = None
    metrics_row: Any = None
    #: each new record's audited fields as written (kind -> snapshot), for the caller's notes
    snapshots: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: derived_columns of the values, when the caller worked them out ahead (an import's reader)
    derived: dict[str, Any] | None = None


def prepare_enterprise(data: dict[str, Any], *, user: Any = None) -> dict[str, Any]:
    """create_enterprise's checks for register_many, except the code's uniqueness.

    The caller guarantees no firm holds the code (it looked the chunk's codes up at once; the
    unique index refuses a race). Raises FieldError like create_enterprise.
    """
    cleaned = _clean(data)
    _check_zone(user, cleaned)
    cleaned["uscc"], cleaned["uscc_override_reason"] = check_uscc_form(
        data.get("uscc", ""), data.get("uscc_override_reason"))
    return cleaned


def contact_values(data: dict[str, Any]) -> dict[str, Any]:
    """A contact's stored values from a form or a row; FieldError for what save_contact refuses."""
    name = (data.get("name") or "").strip()
    if not name:
        raise FieldError({"name": _("请填写联系人姓名")})
    email = (data.get("email") or "").strip().lower() or None
    values = {**{k: data.get(k) for k in CONTACT_FIELDS if k in data}, "name": name,
              "email": email}
    if values.get("receives_reminders") and not email:
        raise FieldError({"email": _("接收提醒的联系人必须填写邮箱")})
    return values


def register_many(firms: list[NewFirm], *, actor_id: int | None = None,
                  summary: str | None = None, stale_since: datetime | None = None) -> None:
    """Register many new firms with their first contact and figures: multi-row INSERTs.

    The same records and audit events as create_enterprise, save_contact and save_metrics
    one by one (an import registers thousands of firms; a flush per record was its cost).
    Values must come from prepare_enterprise / contact_values / metric_errors-checked figures.
    `actor_id` and `summary` fill in the audit events' empty fields (see audit.record_many).
    Core INSERTs (the columns' defaults and the derived keys filled in as the ORM would) and
    Core reads: each NewFirm's enterprise, contact_row and metrics_row are the stored rows as
    read back (read-only, attributes named as the model's), not objects of the session.
    No flush sees these rows: the caller tells the after-save pipeline (changes.touch).
    `stale_since`: the firms go in marked stale (eligibility_stale_since), as the commit's
    hand-off to workers would mark them (changes.hands_off), instead of rewritten by it.
    """
    stale = {} if stale_since is None else {"eligibility_stale_since": stale_since}
    table = Enterprise.__table__
    by_code = {e.uscc: e for e in insert_rows(
        table, [{**f.values, **(f.derived or derived_columns(f.values["name"], f.values["uscc"])),
                 **stale} for f in firms], read_back=table.c.uscc)}
    events = []
    contacts, metrics = [], []
    for firm in firms:
        firm.enterprise = enterprise = by_code[firm.values["uscc"]]
        firm.snapshots["enterprise"] = after = audit.snapshot(enterprise, ENTERPRISE_FIELDS)
        events.append({"entity_type": "enterprise", "entity_id": enterprise.id,
                       "action": "create", "enterprise_id": enterprise.id,
                       "changes": audit.changed_fields({}, after)})
        if firm.contact is not None:
            contacts.append({"enterprise_id": enterprise.id, **firm.contact})
        if firm.metrics is not None:
            year, values, source = firm.metrics
            metrics.append({"enterprise_id": enterprise.id, "fiscal_year": year,
                            "source": source, "period_months": FULL_YEAR_MONTHS,
                            **{k: values.get(k) for k in METRIC_FIELDS}})
    by_firm = {f.enterprise.id: f for f in firms}
    for contact in _insert_all(Contact, contacts):  # one each: the firms are new
        firm = by_firm[contact.enterprise_id]
        firm.contact_row = contact
        firm.snapshots["contact"] = after = audit.snapshot(contact, CONTACT_FIELDS)
        events.append({"entity_type": "contact", "entity_id": contact.id,
                       "action": "create", "enterprise_id": contact.enterprise_id,
                       "summary": contact.name, "changes": audit.changed_fields({}, after)})
    for row in _insert_all(AnnualMetrics, metrics):
        firm = by_firm[row.enterprise_id]
        firm.metrics_row = row
        firm.snapshots["metrics"] = after = audit.snapshot(row, METRIC_AUDIT_FIELDS)
        changed = audit.changed_fields({}, after)
        if changed:
            events.append({"entity_type": "metrics", "entity_id": row.id, "action": "create",
                           "enterprise_id": row.enterprise_id, "changes": changed,
                           "summary": metrics_summary(row.fiscal_year, row.source)})
    events.sort(key=lambda e: (e["enterprise_id"], e["entity_type"] != "enterprise"))
    audit.record_many(events, actor_id=actor_id, summary=summary)


def _insert_all(model: type, rows: list[dict[str, Any]]) -> list[Any]:
    """The chunk's new firms' records of one kind, inserted together and read back in id order.

    The firms are new, so every record of theirs is one of these (read back by firm).
    """
    table = model.__table__
    return insert_rows(table, rows, read_back=table.c.enterprise_id)


def update_enterprise(
    enterprise: Enterprise, data: dict[str, Any], *, expected_version: int | None,
    user: Any = None,
) -> dict[str, list[Any]]:
    """Apply changed fields; refuses when the record moved on since the form was read."""
    check_version(enterprise, expected_version)
    cleaned = _clean(data)
    _check_zone(user, cleaned)
    if "uscc" in data:
        cleaned["uscc"], cleaned["uscc_override_reason"] = check_uscc(
            data["uscc"], data.get("uscc_override_reason"), exclude_id=enterprise.id)
    changes = audit.apply_changes(enterprise, cleaned, ENTERPRISE_FIELDS)
    if changes:
        db.session.flush()
        audit.record("enterprise", enterprise.id, "update", changes, enterprise_id=enterprise.id)
    return changes


def prepare_update(data: dict[str, Any], *, user: Any = None) -> dict[str, Any]:
    """update_enterprise's checks without the database, for a bulk caller (an import's chunk).

    Raises FieldError like update_enterprise. A changed code needs the uniqueness look-up:
    the caller leaves such a row to update_enterprise.
    """
    cleaned = _clean(data)
    _check_zone(user, cleaned)
    return cleaned


def metrics_summary(fiscal_year: int, source: str) -> str:
    """The audit summary of a year's figures saved from `source` (save_metrics' wording)."""
    return f"{fiscal_year} 年度数据（{SOURCES.get(source, source)}）"


def set_archived(enterprise: Enterprise, archived: bool, *, expected_version: int | None,
                 reason: str = "") -> None:
    check_version(enterprise, expected_version)
    new_status = "archived" if archived else "active"
    if enterprise.status == new_status:
        return
    old = enterprise.status
    enterprise.status = new_status
    db.session.flush()
    audit.record(
        "enterprise", enterprise.id, "archive" if archived else "restore",
        {"status": [old, new_status]}, enterprise_id=enterprise.id, summary=reason or None,
    )


def save_contact(enterprise: Enterprise, data: dict[str, Any],
                 contact: Contact | None = None) -> Contact:
    values = contact_values(data)
    action = "update" if contact else "create"
    if contact is None:
        contact = Contact(enterprise=enterprise)
        db.session.add(contact)
        before: dict[str, Any] = {}
    else:
        before = audit.snapshot(contact, CONTACT_FIELDS)
    for key, value in values.items():
        setattr(contact, key, value)
    db.session.flush()
    changes = audit.changed_fields(before, audit.snapshot(contact, CONTACT_FIELDS))
    if changes:
        audit.record("contact", contact.id, action, changes, enterprise_id=enterprise.id,
                     summary=contact.name)
    return contact


def remove_contact(contact: Contact) -> None:
    audit.record("contact", contact.id, "delete",
                 audit.changed_fields(audit.snapshot(contact, CONTACT_FIELDS), {}),
                 enterprise_id=contact.enterprise_id, summary=contact.name)
    db.session.delete(contact)
    db.session.flush()


def metric_errors(values: Mapping[str, Any], fiscal_year: int | None = None
                  ) -> dict[str, str]:
    """One year's figures checked against each other (no database), by field.

    The one place for these rules: saving refuses on them, an import's dry run reports them.
    """
    errors: dict[str, str] = {}
    if fiscal_year is not None and not 1980 <= int(fiscal_year) <= today().year:
        errors["fiscal_year"] = Message("年度应在 1980–%(year)s 之间", year=today().year)
    for key in METRIC_FIELDS:
        value = values.get(key)
        if value is not None and value < 0:
            errors[key] = Message("不能为负数")
    staff, employees = values.get("tech_staff"), values.get("employees")
    if staff is not None and employees is not None and staff > employees:
        errors["tech_staff"] = Message("科技人员数（%(staff)s）不能超过从业人数（%(employees)s）",
                                       staff=staff, employees=employees)
    domestic, rd = values.get("rd_expense_domestic"), values.get("rd_expense")
    if domestic is not None and rd is not None and domestic > rd:
        errors["rd_expense_domestic"] = Message("境内研发费用不能超过研发费用总额")
    return errors


def founded_on_error(founded: Any) -> str | None:
    """A founding date in the future is a typing error, wherever it is typed."""
    if isinstance(founded, date) and founded > today():
        return Message("成立日期不能晚于今天")
    return None


def save_metrics(
    enterprise: Enterprise,
    fiscal_year: int,
    values: dict[str, Any],
    *,
    source: str = "manual",
    expected_version: int | None = None,
    period_months: int = FULL_YEAR_MONTHS,
) -> AnnualMetrics:
    """Create or update one fiscal year's figures; money values are in 元.

    `period_months` below 12 marks year-to-date figures (a tenant's quarterly report): they
    never overwrite a full year on file, and full-year figures replace them entirely, so a
    year is either complete or visibly partial, never a mix.
    """
    partial = period_months < FULL_YEAR_MONTHS
    errors = metric_errors(values, fiscal_year)
    if errors:
        raise FieldError(errors)
    row = db.session.scalar(
        select(AnnualMetrics).where(
            AnnualMetrics.enterprise_id == enterprise.id,
            AnnualMetrics.fiscal_year == fiscal_year,
        )
    )
    action = "update"
    if row is None:
        row = AnnualMetrics(enterprise_id=enterprise.id, fiscal_year=fiscal_year)
        db.session.add(row)
        action = "create"
        before: dict[str, Any] = {}
    else:
        check_version(row, expected_version)
        if partial and not row.is_partial:
            return row  # the full year on file stands; the partial figures stay in their report
        before = audit.snapshot(row, METRIC_AUDIT_FIELDS)
        if row.is_partial and not partial:
            for key in METRIC_FIELDS:  # no year-to-date figure may pass for a full-year one
                setattr(row, key, None)
    for key in METRIC_FIELDS:
        if key in values:
            setattr(row, key, values[key])
    row.source = source
    row.period_months = period_months
    db.session.flush()
    changes = audit.changed_fields(before, audit.snapshot(row, METRIC_AUDIT_FIELDS))
    if changes:
        audit.record("metrics", row.id, action, changes, enterprise_id=enterprise.id,
                     summary=metrics_summary(fiscal_year, source))
    return row


def add_activity(enterprise: Enterprise, data: dict[str, Any], *, created_by_id: int | None
                 ) -> Activity:
    kind = data.get("kind")
    subject = (data.get("subject") or "").strip()
    errors = {}
    if kind not in ("note", "visit", "call", "task"):
        errors["kind"] = _("请选择类型")
    if not subject:
        errors["subject"] = _("请填写主题")
    if kind == "task" and not data.get("due_on"):
        errors["due_on"] = _("待办事项需要截止日期")
    if errors:
        raise FieldError(errors)
    activity = Activity(
        enterprise_id=enterprise.id, kind=kind, subject=subject, body=data.get("body"),
        occurred_on=data.get("occurred_on") or (None if kind == "task" else today()),
        due_on=data.get("due_on") if kind == "task" else None,
        owner_id=data.get("owner_id") or created_by_id, created_by_id=created_by_id,
    )
    db.session.add(activity)
    db.session.flush()
    return activity


def complete_task(activity: Activity) -> None:
    if activity.done_at is None:
        activity.done_at = now_utc()
        db.session.flush()
