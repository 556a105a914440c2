"""Graduation facts and carrier statistics: read from the records, fed to criteria.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select

from tracker.accounts.scope import counted_tenancies
from tracker.clock import today
from tracker.enterprises.models import FULL_YEAR_MONTHS, AnnualMetrics, Enterprise
from tracker.extensions import db
from tracker.incubation import criteria
from tracker.incubation.models import Carrier, Tenancy
from tracker.incubation.services.common import GRADUATE_CLAUSE, _count_where, _holds_valid


def graduation_facts(enterprise: Enterprise, as_of: date | None = None) -> criteria.GraduationFacts:
    """The firm's data the §4.3 bases read: HNTE held, investment by year, revenue by year."""
    as_of = as_of or today()
    rows = db.session.execute(select(
        AnnualMetrics.fiscal_year, AnnualMetrics.investment_raised, AnnualMetrics.revenue,
        AnnualMetrics.period_months,
    ).where(AnnualMetrics.enterprise_id == enterprise.id)).all()
    return criteria.GraduationFacts(
        hnte_valid=_holds_valid(enterprise.id, "hnte", as_of),
        # money raised so far this year is raised; revenue so far is not a year's revenue
        investment_by_year={y: inv for y, inv, _r, _m in rows if inv is not None},
        revenue_by_year={y: rev for y, _i, rev, months in rows
                         if rev is not None and months >= FULL_YEAR_MONTHS},
    )


def carrier_stats(carrier: Carrier, as_of: date | None = None, *, user: Any = None
                  ) -> criteria.CarrierStats:
    """Counts the recognition criteria read, in one aggregate query over what `user` may see."""
    as_of = as_of or today()
    incubating = Tenancy.status == "incubating"
    invested = exists().where(AnnualMetrics.enterprise_id == Tenancy.enterprise_id,
                              AnnualMetrics.investment_raised > 0)
    # Valid IP is approximated by IP counts reported for the current or previous fiscal year.
    has_ip = exists().where(
        AnnualMetrics.enterprise_id == Tenancy.enterprise_id,
        AnnualMetrics.fiscal_year >= as_of.year - 1,
        func.coalesce(AnnualMetrics.class1_ip, 0) + func.coalesce(AnnualMetrics.class2_ip, 0) > 0,
    )
    year_ago = as_of - timedelta(days=365)
    resident = and_(Tenancy.moved_in_on <= as_of,
                    or_(Tenancy.ended_on.is_(None), Tenancy.ended_on >= year_ago))
    financed = exists().where(AnnualMetrics.enterprise_id == Tenancy.enterprise_id,
                              AnnualMetrics.fiscal_year == as_of.year - 1,
                              AnnualMetrics.investment_raised > 0)
    tenants, graduates, invested_tenants, ip_tenants, residents, financed_residents = (
        db.session.execute(select(
            _count_where(incubating), _count_where(GRADUATE_CLAUSE),
            _count_where(incubating, invested), _count_where(incubating, has_ip),
            _count_where(resident), _count_where(resident, financed),
        ).where(Tenancy.carrier_id == carrier.id, counted_tenancies(user))).one())
    return criteria.CarrierStats(
        area_m2=carrier.area_m2, workstations=carrier.workstations, tenants=tenants,
        graduates=graduates, invested_tenants=invested_tenants, ip_tenants=ip_tenants,
        residents_last_year=residents, financed_last_year=financed_residents,
    )


@dataclass(frozen=True)
class CarrierCheck:
    stats: criteria.CarrierStats
    rules: criteria.SchemeCriteria | None
    results: list[criteria.CriterionResult]

    @property
    def summary(self) -> str | None:
        return criteria.summary(self.results) if self.rules else None


def carrier_check(carrier: Carrier, as_of: date | None = None, *, user: Any = None
                  ) -> CarrierCheck:
    """The carrier's figures (as far as `user` sees) against its scheme's criteria."""
    stats = carrier_stats(carrier, as_of, user=user)
    scheme_rules = criteria.criteria_for(carrier.scheme or "none", carrier.kind,
                                         specialised=carrier.specialised)
    results = criteria.check_criteria(scheme_rules, stats) if scheme_rules else []
    return CarrierCheck(stats, scheme_rules, results)
