"""Facts for the rules engine built from an enterprise's stored records (eligibility.md)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from tracker.enterprises.models import AnnualMetrics, Enterprise
from tracker.ladder.models import Qualification
from tracker.ladder.rules import HONOURS
from tracker.ladder.rules.horizon import rules_valid_through
from tracker.ladder.validity import status_on, title_change_days
from tracker.money import plain_number

#: AnnualMetrics columns that feed the engine's "years" block, under the same names
YEAR_FIELDS = ("employees", "tech_staff", "revenue", "total_income", "total_assets",
               "total_cost", "rd_expense", "rd_expense_domestic", "high_tech_income")
ENTERPRISE_FLAGS = ("registered_in_tianjin", "resident_enterprise", "restricted_industry",
                    "integrity_record_clean")


def build_facts(
    enterprise: Enterprise,
    as_of: date,
    kinds: Iterable[str] | None = None,
    *,
    metrics: Iterable[AnnualMetrics] | None = None,
    qualifications: Iterable[Qualification] | None = None,
) -> dict[str, Any]:
    """The eligibility.md facts of one firm on `as_of`, from its record, figures and titles.

    `metrics` and `qualifications` may be passed when already loaded (the board loads them for
    many firms at once); otherwise the enterprise's relationships are read. Plain rows with the
    same attribute names do as well as ORM objects (tracker.ladder.inputs reads them so).
    """
    rows = sorted(metrics if metrics is not None else enterprise.metrics,
                  key=lambda m: m.fiscal_year)
    # year-based rules read complete years only: a quarterly report's year-to-date figures
    # would pass for a whole (small) year
    rows = [m for m in rows if m.fiscal_year < as_of.year and not m.is_partial]
    if qualifications is None:
        from tracker.ladder.services import qualifications_of

        qualifications = qualifications_of(enterprise.id)
    honours = sorted({h for h in (enterprise.honours or []) if h in HONOURS})
    if any(q.kind == "hnte" and status_on(q, as_of) == "valid" for q in qualifications):
        honours = sorted({*honours, "hnte_valid"})
    ent: dict[str, Any] = {
        "founded_on": enterprise.founded_on.isoformat() if enterprise.founded_on else None,
        "tech_field": enterprise.tech_field,
        "honours": honours,
        "innovation_score": enterprise.innovation_score,
    }
    if enterprise.founded_on and enterprise.founded_on > as_of:
        ent["founded_on"] = None  # not yet founded on that date: unknown rather than malformed
    for flag in ENTERPRISE_FLAGS:
        ent[flag] = getattr(enterprise, flag)
    # IP counts are holdings: the latest year that reports them.
    for key in ("class1_ip", "class2_ip"):
        ent[key] = next((getattr(m, key) for m in reversed(rows)
                         if getattr(m, key) is not None), None)
    years = {str(m.fiscal_year): _year_figures(m) for m in rows}
    facts: dict[str, Any] = {"as_of": as_of.isoformat(),
                             "enterprise": {k: v for k, v in ent.items() if v is not None},
                             "years": years}
    if kinds is not None:
        facts["kinds"] = list(kinds)
    return facts


def _year_figures(metrics: Any) -> dict[str, Any]:
    """One year's reported figures (None left out), as plain numbers."""
    out = {}
    for key in YEAR_FIELDS:
        value = getattr(metrics, key)
        if value is not None:
            out[key] = plain_number(value)
    return out


def facts_valid_through(enterprise: Any, as_of: date, qualifications: Iterable[Any],
                        facts: dict[str, Any]) -> date:
    """The last day the verdicts on `facts` (built by build_facts on `as_of`) still hold.

    The rules' own dates (rules.horizon), and the days build_facts itself reads differently:
    a title starting, running out or revoked (the hnte_valid honour; every title's dates count,
    so a change of rung is looked at too; validity.status_on), and a founding date after
    `as_of`, which build_facts leaves unknown until the day it arrives. The fiscal years it
    keeps (before as_of's year) move with the year, as the rules' do.
    """
    ends = [rules_valid_through(facts) + timedelta(days=1)]
    if enterprise.founded_on is not None and enterprise.founded_on > as_of:
        ends.append(enterprise.founded_on)
    ends.extend(title_change_days(qualifications))
    return min(d for d in ends if d > as_of) - timedelta(days=1)
