"""The marshmallow schemas of /api/v1: they parse the requests and are the OpenAPI document.

Money is in 元 (yuan) and written as a decimal string in answers, never a float. Limits on
input mirror the columns (lengths, the integer range the database stores), so the document
tells a client what would be refused before it sends it.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from tracker.enterprises.models import MONEY_FIELDS
from tracker.enterprises.services import METRIC_FIELDS
from tracker.enterprises.zones import TECH_FIELDS, ZONES
from tracker.incubation.models import GRADUATION_BASES, PROPOSAL_ACTIONS, REPORT_FIELDS
from tracker.inputs import MAX_INT4
from tracker.ladder.models import APPLICATION_STATUSES
from tracker.messages import Message
from tracker.vocabulary import KINDS

#: the biggest amount (元) a money column holds with its two decimals
MAX_MONEY = 10**15
_COUNT = validate.Range(min=0, max=MAX_INT4)


def _str(max_len: int, **kw) -> fields.String:
    return fields.String(validate=validate.Length(max=max_len), **kw)


def _nstr() -> fields.String:
    """A text answer that may be null."""
    return fields.String(allow_none=True)


def _money_out() -> fields.Decimal:
    return fields.Decimal(as_string=True, allow_none=True,
                          metadata={"description": "元（yuan）, a decimal string"})


def _money_range(value: Any) -> None:
    # a plain function, not validate.Range: apispec would write a Decimal bound as a string
    if value is not None and not 0 <= value <= MAX_MONEY:
        raise ma.ValidationError(Message("须在 0 至 %(max)s 之间", max=MAX_MONEY))


def _money_in() -> fields.Decimal:
    return fields.Decimal(places=2, allow_none=True, validate=_money_range,
                          metadata={"description": "元（yuan）", "minimum": 0,
                                    "maximum": MAX_MONEY})


def _int_in(**kw) -> fields.Integer:
    return fields.Integer(strict=True, validate=_COUNT, **kw)


# -- lists -------------------------------------------------------------------------------------

class PageArgs(ma.Schema):
    size = fields.Integer(validate=validate.Range(min=1, max=200),
                          metadata={"description": "rows per page (1–200)"})
    after = fields.String(validate=validate.Length(max=2000),
                          metadata={"description": "the `next` cursor of the previous page"})


class _Page(ma.Schema):
    next = fields.String(allow_none=True, required=True,
                         metadata={"description": "cursor of the next page; null on the last"})


def page_of(item: type[ma.Schema], name: str, **extra: fields.Field) -> type[ma.Schema]:
    """A `{items, next}` page schema of `item` (plus extra fields)."""
    return _Page.from_dict({"items": fields.List(fields.Nested(item), required=True), **extra},
                           name=name)


# -- enterprises -------------------------------------------------------------------------------

class EnterpriseArgs(PageArgs):
    """The list page's filters (tracker.enterprises.queries.EnterpriseFilters)."""

    q = fields.String(validate=validate.Length(max=200), metadata={"description": "name search"})
    uscc = fields.String(validate=validate.Length(max=40))
    officer_id = fields.Integer(validate=_COUNT)
    zone = fields.String(validate=validate.Length(max=20))
    rung = fields.String(validate=validate.Length(max=30))
    tech_field = fields.String(validate=validate.Length(max=40))
    status = fields.String(validate=validate.Length(max=20),
                           metadata={"description": "active (default), archived, all"})
    sort = fields.String(validate=validate.Length(max=30))


class EnterpriseSummary(ma.Schema):
    id = fields.Integer(required=True)
    uscc = fields.String(required=True)
    name = fields.String(required=True)
    zone = fields.String(required=True)
    tech_field = _nstr()
    founded_on = fields.Date(allow_none=True)
    current_rung = _nstr()
    status = fields.String(required=True)
    officer_id = fields.Integer(allow_none=True)
    updated_at = fields.DateTime(required=True)


EnterpriseList = page_of(EnterpriseSummary, "EnterpriseList",
                         count=fields.Integer(required=True),
                         count_is_lower_bound=fields.Boolean(required=True))

Metrics = ma.Schema.from_dict({
    "id": fields.Integer(), "fiscal_year": fields.Integer(required=True),
    "source": fields.String(required=True), "period_months": fields.Integer(required=True),
    "is_partial": fields.Boolean(required=True), "version": fields.Integer(),
    **{name: _money_out() if name in MONEY_FIELDS else fields.Integer(allow_none=True)
       for name in METRIC_FIELDS},
}, name="Metrics")


class Contact(ma.Schema):
    id = fields.Integer()
    name = fields.String(required=True)
    title = _nstr()
    email = _nstr()
    phone = _nstr()
    receives_reminders = fields.Boolean()
    version = fields.Integer()


class EnterpriseDetail(EnterpriseSummary):
    street = _nstr()
    address = _nstr()
    website = _nstr()
    description = _nstr()
    industry_tags = fields.List(fields.String(), allow_none=True)
    honours = fields.List(fields.String(), allow_none=True)
    innovation_score = fields.Integer(allow_none=True)
    version = fields.Integer(required=True)
    metrics = fields.List(fields.Nested(Metrics))
    contacts = fields.List(fields.Nested(Contact))


class EnterpriseIn(ma.Schema):
    """A firm's record as the register form takes it (create: uscc, name, zone required)."""

    uscc = _str(40, required=True)
    uscc_override_reason = _str(500, allow_none=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    zone = fields.String(required=True, validate=validate.OneOf(list(ZONES)))
    street = _str(100, allow_none=True)
    founded_on = fields.Date(allow_none=True)
    tech_field = fields.String(allow_none=True, validate=validate.OneOf(list(TECH_FIELDS)))
    industry_tags = fields.List(_str(40), validate=validate.Length(max=20))
    officer_id = fields.Integer(allow_none=True, strict=True, validate=_COUNT)
    address = _str(300, allow_none=True)
    website = _str(200, allow_none=True)
    description = _str(5000, allow_none=True)
    registered_in_tianjin = fields.Boolean(allow_none=True)
    resident_enterprise = fields.Boolean(allow_none=True)
    restricted_industry = fields.Boolean(allow_none=True)
    integrity_record_clean = fields.Boolean(allow_none=True)
    honours = fields.List(_str(100), validate=validate.Length(max=50))
    innovation_score = fields.Integer(allow_none=True, strict=True,
                                      validate=validate.Range(min=0, max=100))


class EnterprisePatch(EnterpriseIn):
    """Only the fields sent change."""

    uscc = _str(40)
    name = fields.String(validate=validate.Length(min=1, max=200))
    zone = fields.String(validate=validate.OneOf(list(ZONES)))


class ContactIn(ma.Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    title = _str(100, allow_none=True)
    phone = _str(40, allow_none=True)
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    receives_reminders = fields.Boolean()


class ContactPatch(ContactIn):
    """Only the fields sent change."""

    name = fields.String(validate=validate.Length(min=1, max=100))


#: one fiscal year's figures (a full year); money in 元
MetricsIn = ma.Schema.from_dict({
    name: _money_in() if name in MONEY_FIELDS else _int_in(allow_none=True)
    for name in METRIC_FIELDS}, name="MetricsIn")


class Qualification(ma.Schema):
    id = fields.Integer(required=True)
    enterprise_id = fields.Integer(required=True)
    kind = fields.String(required=True)
    number = _nstr()
    granted_on = fields.Date(required=True)
    valid_until = fields.Date(allow_none=True)
    batch = _nstr()
    revoked_on = fields.Date(allow_none=True)
    source = fields.String()
    version = fields.Integer(required=True)


class QualificationIn(ma.Schema):
    kind = fields.String(required=True, validate=validate.OneOf(list(KINDS)))
    number = _str(60, allow_none=True)
    granted_on = fields.Date(required=True)
    valid_until = fields.Date(allow_none=True)
    batch = _str(100, allow_none=True)
    evidence = _str(500, allow_none=True)


class Application(ma.Schema):
    id = fields.Integer(required=True)
    enterprise_id = fields.Integer(required=True)
    kind = fields.String(required=True)
    year = fields.Integer(required=True)
    batch = _nstr()
    status = fields.String(required=True)
    owner_id = fields.Integer(allow_none=True)
    deadline = fields.Date(allow_none=True)
    notes = _nstr()
    qualification_id = fields.Integer(allow_none=True)
    version = fields.Integer(required=True)


class ApplicationIn(ma.Schema):
    kind = fields.String(required=True, validate=validate.OneOf(list(KINDS)))
    year = fields.Integer(required=True, strict=True, validate=validate.Range(2000, 2100))
    batch = _str(100, allow_none=True)
    owner_id = fields.Integer(allow_none=True, strict=True, validate=_COUNT)
    deadline = fields.Date(allow_none=True)
    notes = _str(5000, allow_none=True)


class ApplicationPatch(ma.Schema):
    batch = _str(100, allow_none=True)
    owner_id = fields.Integer(allow_none=True, strict=True, validate=_COUNT)
    deadline = fields.Date(allow_none=True)
    notes = _str(5000, allow_none=True)


class ApplicationMove(ma.Schema):
    """A move along the bid pipeline; approving also records the title (number, dates)."""

    to_status = fields.String(required=True,
                              validate=validate.OneOf(list(APPLICATION_STATUSES)))
    note = _str(500, allow_none=True)
    number = _str(60, allow_none=True)
    granted_on = fields.Date(allow_none=True)
    valid_until = fields.Date(allow_none=True)


class StageStep(ma.Schema):
    id = fields.Integer(required=True)
    chain = fields.String(required=True)
    from_stage = _nstr()
    to_stage = _nstr()
    effective_on = fields.Date(required=True)
    recorded_at = fields.DateTime(required=True)
    source = fields.String(required=True)
    reason = _nstr()
    qualification_id = fields.Integer(allow_none=True)
    tenancy_id = fields.Integer(allow_none=True)


class ReminderArgs(PageArgs):
    status = fields.String(validate=validate.Length(max=12))
    enterprise_id = fields.Integer(validate=_COUNT)


class Reminder(ma.Schema):
    id = fields.Integer(required=True)
    enterprise_id = fields.Integer(allow_none=True)
    subject_type = fields.String(required=True)
    subject_id = fields.Integer(required=True)
    occurrence_on = fields.Date(required=True)
    occurrence_tag = fields.String(required=True)
    status = fields.String(required=True)
    channel = fields.String(required=True)
    sent_at = fields.DateTime(allow_none=True)
    handled_at = fields.DateTime(allow_none=True)


# -- incubation --------------------------------------------------------------------------------

class Carrier(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    scheme = fields.String(required=True)
    level = fields.String(allow_none=True)
    zone = _nstr()
    area_m2 = fields.Integer(allow_none=True)
    default_term_months = fields.Integer(required=True)
    recognised_on = fields.Date(allow_none=True)
    archived = fields.Boolean(required=True)


class TenancyArgs(PageArgs):
    carrier_id = fields.Integer(validate=_COUNT)
    enterprise_id = fields.Integer(validate=_COUNT)
    status = fields.String(validate=validate.Length(max=20))


class Tenancy(ma.Schema):
    id = fields.Integer(required=True)
    enterprise_id = fields.Integer(required=True)
    carrier_id = fields.Integer(required=True)
    moved_in_on = fields.Date(required=True)
    term_ends_on = fields.Date(required=True)
    status = fields.String(required=True)
    ended_on = fields.Date(allow_none=True)
    graduation_basis = _nstr()
    previous_tenancy_id = fields.Integer(allow_none=True)
    term_override_reason = _nstr()
    area_m2 = fields.Decimal(as_string=True, allow_none=True)
    version = fields.Integer()


TenancyList = page_of(Tenancy, "TenancyList")


def _area_range(value: Any) -> None:
    if value is not None and not 0 <= value <= 10**8:
        raise ma.ValidationError("须在 0 至 100000000 之间")


class TenancyPatch(ma.Schema):
    """The move-in details a carrier manager may correct; absent fields keep their value."""

    moved_in_on = fields.Date()
    term_ends_on = fields.Date(allow_none=True)
    term_override_reason = _str(500, allow_none=True)
    area_m2 = fields.Decimal(places=1, allow_none=True, validate=_area_range,
                             metadata={"minimum": 0, "maximum": 10**8})


class Proposal(ma.Schema):
    id = fields.Integer(required=True)
    tenancy_id = fields.Integer(required=True)
    action = fields.String(required=True)
    effective_on = fields.Date(required=True)
    graduation_basis = _nstr()
    evidence = _nstr()
    reason = _nstr()
    next_carrier_id = fields.Integer(allow_none=True)
    next_carrier_note = _nstr()
    status = fields.String(required=True)
    proposed_at = fields.DateTime(required=True)
    decided_at = fields.DateTime(allow_none=True)
    decision_comment = _nstr()
    version = fields.Integer(required=True)


class ProposalIn(ma.Schema):
    """A proposed graduation, exit or move, for the bureau to decide."""

    action = fields.String(required=True, validate=validate.OneOf(list(PROPOSAL_ACTIONS)))
    effective_on = fields.Date(required=True)
    graduation_basis = fields.String(allow_none=True,
                                     validate=validate.OneOf(list(GRADUATION_BASES)))
    evidence = _str(1000, allow_none=True)
    reason = _str(1000, allow_none=True)
    next_carrier_id = fields.Integer(allow_none=True, strict=True, validate=_COUNT)
    next_carrier_note = _str(200, allow_none=True)


class Cycle(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    fiscal_year = fields.Integer(required=True)
    due_on = fields.Date(required=True)


class ReportArgs(PageArgs):
    cycle_id = fields.Integer(validate=_COUNT)
    tenancy_id = fields.Integer(validate=_COUNT)


class TenantReport(ma.Schema):
    id = fields.Integer(required=True)
    cycle_id = fields.Integer(required=True)
    tenancy_id = fields.Integer(required=True)
    revenue = _money_out()
    employees = fields.Integer(allow_none=True)
    rd_expense = _money_out()
    class1_ip = fields.Integer(allow_none=True)
    class2_ip = fields.Integer(allow_none=True)
    investment_raised = _money_out()
    submitted_at = fields.DateTime(required=True)
    version = fields.Integer(required=True)


class TenantReportIn(ma.Schema):
    """A tenant's year-to-date figures for a cycle; money in 元. Resubmitting needs If-Match."""

    cycle_id = fields.Integer(required=True, strict=True, validate=_COUNT)
    tenancy_id = fields.Integer(required=True, strict=True, validate=_COUNT)
    revenue = _money_in()
    employees = _int_in(allow_none=True)
    rd_expense = _money_in()
    class1_ip = _int_in(allow_none=True)
    class2_ip = _int_in(allow_none=True)
    investment_raised = _money_in()


assert set(REPORT_FIELDS) <= set(TenantReportIn._declared_fields)


# -- dashboard ---------------------------------------------------------------------------------

class IndicatorLine(ma.Schema):
    """One indicator of a plan period (tracker.indicators): figures may be unknown (null)."""

    metric = fields.String(required=True, metadata={"description": "the indicator's code"})
    label = fields.String(required=True)
    year = fields.Integer(required=True, metadata={"description": "the year the target is due"})
    current = fields.Float(allow_none=True, required=True)
    target = fields.Float(allow_none=True, required=True)
    baseline = fields.Float(allow_none=True)
    source = fields.String(allow_none=True, required=True,
                           metadata={"description": "the plan document, once recorded"})


class Indicators(ma.Schema):
    as_of = fields.Date(required=True)
    enterprises_by_zone = fields.Dict(keys=fields.String(), values=fields.Integer(),
                                      required=True)
    enterprises_by_rung = fields.Dict(keys=fields.String(), values=fields.Integer(),
                                      required=True)
    incubation = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    plan = fields.List(fields.Nested(IndicatorLine), required=True,
                       metadata={"description": "plan indicators (area-wide roles only)"})


class IndicatorArgs(ma.Schema):
    year = fields.Integer(validate=validate.Range(2020, 2050))
