"""What the recompute reads, selected column-wise: plain rows, no ORM objects.

Building ORM objects (with their identity map and relationships) for every firm cost about as
much as evaluating it, so the recompute reads only the columns facts.build_facts uses, as rows
that answer the same attribute names, in a fixed number of queries per chunk.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, Integer, Text, any_, bindparam, cast, func, select

from tracker.enterprises.models import AnnualMetrics, Enterprise
from tracker.extensions import db
from tracker.ladder.facts import ENTERPRISE_FLAGS, YEAR_FIELDS
from tracker.ladder.models import EligibilityResult, Qualification

#: the months of a full fiscal year; fewer means year-to-date figures (AnnualMetrics.is_partial)
_FULL_YEAR = 12

_ENTERPRISE_COLUMNS = (
    Enterprise.id, Enterprise.founded_on, Enterprise.tech_field, Enterprise.honours,
    Enterprise.innovation_score, *(getattr(Enterprise, f) for f in ENTERPRISE_FLAGS),
    # not facts: the recompute's stale mark and the rung it compares with the titles
    Enterprise.eligibility_stale_since, Enterprise.current_rung,
)
_METRIC_COLUMNS = (
    AnnualMetrics.enterprise_id, AnnualMetrics.fiscal_year, AnnualMetrics.class1_ip,
    AnnualMetrics.class2_ip, *(getattr(AnnualMetrics, f) for f in YEAR_FIELDS),
    (func.coalesce(AnnualMetrics.period_months, _FULL_YEAR) < _FULL_YEAR).label("is_partial"),
)
_QUALIFICATION_COLUMNS = (
    Qualification.enterprise_id, Qualification.kind, Qualification.granted_on,
    Qualification.valid_until, Qualification.revoked_on,
)


def among(column: Any, ids: Sequence[int]) -> ColumnElement[bool]:
    """`column IN ids`, as one array parameter on PostgreSQL (`= ANY(:ids)`).

    A chunk of the nightly run is a thousand ids in several statements each: spelled as IN,
    every id is a placeholder of its own, which SQLAlchemy renders (with a cast each) and the
    driver parses again on every execution, about as long as the database takes to answer.
    SQLite has no arrays; its driver binds the placeholders cheaply.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        return column == any_(id_array(ids))
    return column.in_(ids)


def id_array(ids: Iterable[int]) -> ColumnElement[Any]:
    """The ids as one PostgreSQL `integer[]` parameter, spelled as the array's text (the driver
    adapts a list of ints element by element)."""
    spelled = "{" + ",".join(str(int(i)) for i in ids) + "}"
    return cast(bindparam(None, spelled, type_=Text), ARRAY(Integer))


def fact_rows(ids: Sequence[int], qualifications: dict[int, list[Any]] | None = None
              ) -> tuple[dict[int, Any], dict[int, list[Any]], dict[int, list[Any]]]:
    """(firm row by id, metric rows by firm, qualification rows by firm) for build_facts.

    A firm row also answers eligibility_stale_since (the recompute reads both in one query).
    `qualifications`: qualification_rows already read for (at least) these firms.
    """
    firms = {r.id: r for r in db.session.execute(
        select(*_ENTERPRISE_COLUMNS).where(among(Enterprise.id, ids)))}
    metrics: dict[int, list[Any]] = {i: [] for i in ids}
    for row in db.session.execute(select(*_METRIC_COLUMNS)
                                  .where(among(AnnualMetrics.enterprise_id, ids))):
        metrics[row.enterprise_id].append(row)
    if qualifications is None:
        return firms, metrics, qualification_rows(ids)
    return firms, metrics, {i: qualifications[i] for i in ids}


def qualification_rows(ids: Sequence[int]) -> dict[int, list[Any]]:
    """Each firm's titles as rows with kind and dates (what validity and build_facts read)."""
    quals: dict[int, list[Any]] = {i: [] for i in ids}
    for row in db.session.execute(select(*_QUALIFICATION_COLUMNS)
                                  .where(among(Qualification.enterprise_id, ids))):
        quals[row.enterprise_id].append(row)
    return quals


def facts_changed_at(ids: Sequence[int]) -> dict[int, datetime]:
    """When each firm's facts last changed: the newest updated_at of its record, figures and
    titles (the same stamps the eligibility freshness invariant compares with computed_at)."""
    found: dict[int, datetime] = {}
    queries = (
        select(Enterprise.id, Enterprise.updated_at).where(among(Enterprise.id, ids)),
        select(AnnualMetrics.enterprise_id, func.max(AnnualMetrics.updated_at))
        .where(among(AnnualMetrics.enterprise_id, ids)).group_by(AnnualMetrics.enterprise_id),
        select(Qualification.enterprise_id, func.max(Qualification.updated_at))
        .where(among(Qualification.enterprise_id, ids)).group_by(Qualification.enterprise_id),
    )
    for query in queries:
        for enterprise_id, at in db.session.execute(query):
            if at is not None and (enterprise_id not in found or at > found[enterprise_id]):
                found[enterprise_id] = at
    return found


def settled_on(ids: Sequence[int], day: date, tag: str, kinds: int) -> set[int]:
    """The firms whose stored results need no look at all tonight, decided in one query.

    Settled means: every rung stored, each evaluated on or before `day` and holding through it
    (as_of <= day <= valid_through: the rules read the same facts the same way until then),
    from one digest under the current rules (`tag`), computed after the firm's record, figures
    and titles last changed (strictly: a frozen clock ties), and the firm not marked stale. The
    comparison is the eligibility freshness invariant's, done by the database over one row per
    firm instead of reading every result and stamp into Python.
    """
    if not ids:
        return set()
    r = EligibilityResult
    stored = (select(r.enterprise_id, func.count().label("n"),
                     func.max(r.as_of).label("last_day"),
                     # count() skips NULLs: a row without a window is not settled
                     func.count(r.valid_through).label("windows"),
                     func.min(r.valid_through).label("holds_through"),
                     func.min(r.inputs_hash).label("low"), func.max(r.inputs_hash).label("high"),
                     func.min(r.computed_at).label("computed_at"))
              # the ids' span too: a chunk of the nightly run is a narrow span of sorted ids,
              # read off the index rather than by a scan of the whole table
              .where(among(r.enterprise_id, ids), r.enterprise_id.between(min(ids), max(ids)))
              .group_by(r.enterprise_id).subquery())
    firm, computed_at = stored.c.enterprise_id, stored.c.computed_at
    # "computed after the newest stamp" as "no stamp on or after it": the database stops at
    # the first such row of the firm instead of taking a maximum over all of them
    figures_since = select(AnnualMetrics.id).where(AnnualMetrics.enterprise_id == firm,
                                                   AnnualMetrics.updated_at >= computed_at)
    titles_since = select(Qualification.id).where(Qualification.enterprise_id == firm,
                                                  Qualification.updated_at >= computed_at)
    # the firms come from the stored rows (already restricted to `ids`), each joined to its
    # record by key: the ids are not matched a second time for every firm
    query = (select(firm).join(Enterprise, Enterprise.id == firm)
             .where(Enterprise.eligibility_stale_since.is_(None),
                    stored.c.n == kinds, stored.c.windows == kinds,
                    stored.c.last_day <= day, stored.c.holds_through >= day,
                    stored.c.low == stored.c.high, func.substr(stored.c.low, 41 - len(tag)) == tag,
                    computed_at > Enterprise.updated_at,
                    ~figures_since.exists(), ~titles_since.exists()))
    return set(db.session.scalars(query))
