"""The enterprise list's filters behind the dashboard's figures, so each figure opens its list.

Each filter is the very clause its chart counts with (history.py), registered on the list by
dashboard.init_app; the list and its export then keep exactly the firms the number counted.
"""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import and_, or_, select

from tracker.clock import today
from tracker.dashboard import history
from tracker.enterprises import queries
from tracker.enterprises.models import Enterprise
from tracker.incubation.models import CARRIER_KINDS, Carrier, Tenancy
from tracker.ladder.models import APPLICATION_STATUSES, Application, Qualification
from tracker.vocabulary import KINDS


def _day(extra: dict[str, str]) -> date:
    """The `on=` date of the drill-down (a month-end of the trend chart); today without it."""
    raw = extra.get("on")
    return date.fromisoformat(raw) if raw else today()


def _on(value: str, extra: dict[str, str]) -> None:
    date.fromisoformat(value)  # ValueError: ignored
    return None


def _past_rung(value: str, extra: dict[str, str]):
    if value not in KINDS:
        raise ValueError(value)
    held = history.rung_on(_day(extra)).subquery()
    return Enterprise.id.in_(select(held.c.enterprise_id).where(held.c.rung == value))


def _carrier_kind(value: str, extra: dict[str, str]):
    if value not in CARRIER_KINDS:
        raise ValueError(value)
    return Enterprise.id.in_(
        select(Tenancy.enterprise_id).join(Carrier, Carrier.id == Tenancy.carrier_id)
        .where(Carrier.kind == value, history.resident_on(_day(extra))))


def _tsme_year(value: str, extra: dict[str, str]):
    year = int(value)
    if not 1990 <= year <= 2100:
        raise ValueError(value)
    funnel = history.registrations(Enterprise.id.is_not(None), year)
    within = extra.get("hnte_within")
    query = select(funnel.c.enterprise_id)
    if within:
        years = int(within)
        if years not in history.FUNNEL_YEARS:
            raise ValueError(within)
        query = query.where(history.reached_within(funnel, years))
    return Enterprise.id.in_(query)


def _hnte_within(value: str, extra: dict[str, str]) -> None:
    if int(value) not in history.FUNNEL_YEARS or "tsme_year" not in extra:
        raise ValueError(value)
    return None  # applied by tsme_year


def month_bounds(value: str) -> tuple[date, date]:
    """'2027-03' -> its first and last day."""
    first = date.fromisoformat(f"{value}-01")
    return first, history.month_end(first)


def expiring_clause(first: date, last: date):
    """A title valid today whose validity ends between `first` and `last`."""
    day = today()
    return and_(Qualification.valid_until >= max(first, day), Qualification.valid_until <= last,
                Qualification.granted_on <= day,
                or_(Qualification.revoked_on.is_(None), Qualification.revoked_on > day))


def _expiring(value: str, extra: dict[str, str]):
    first, last = month_bounds(value)
    return Enterprise.id.in_(select(Qualification.enterprise_id)
                             .where(expiring_clause(first, last)))


def _application_status(value: str, extra: dict[str, str]):
    if value not in APPLICATION_STATUSES:
        raise ValueError(value)
    return Enterprise.id.in_(select(Application.enterprise_id)
                             .where(Application.status == value))


def register() -> None:
    """Add the dashboard's drill-down parameters to the enterprise list."""
    queries.register_filter("on", _on, lambda v, e: _("截至 %(d)s", d=v))
    queries.register_filter("past_rung", _past_rung, lambda v, e: _(
        "当日所处梯度为“%(r)s”", r=_(KINDS[v])))
    queries.register_filter("carrier_kind", _carrier_kind, lambda v, e: _(
        "当日在%(k)s孵化", k=_(CARRIER_KINDS[v])))
    queries.register_filter("tsme_year", _tsme_year, lambda v, e: _(
        "%(y)s年登记为科技型中小企业", y=int(v)) + (_("，%(n)s年内首次认定为国家高新技术企业",
                                               n=int(e["hnte_within"]))
                                             if e.get("hnte_within") else ""))
    queries.register_filter("hnte_within", _hnte_within, lambda v, e: "")
    queries.register_filter("expiring", _expiring, lambda v, e: _(
        "有资质证书于%(m)s到期", m=v))
    queries.register_filter("application_status", _application_status, lambda v, e: _(
        "有“%(s)s”状态的申报", s=_(APPLICATION_STATUSES[v])))

