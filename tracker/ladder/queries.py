"""Board queries, all scoped by enterprise_scope; a fixed number per page however many cards."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import case, func, select, union_all
from sqlalchemy.orm import contains_eager, joinedload

from tracker.accounts.scope import enterprise_scope
from tracker.clock import today
from tracker.enterprises.models import Enterprise
from tracker.extensions import db
from tracker.inputs import parse_int
from tracker.ladder import wording
from tracker.ladder.models import (
    APPLICATION_STATUSES,
    OPEN_APPLICATION_STATUSES,
    Application,
    EligibilityResult,
)
from tracker.ladder.rules import KINDS
from tracker.ladder.validity import rung_index
from tracker.pagination import Page, SortKey, keyset_page

#: cards shown per rung column; the column header still counts them all
CARDS_PER_COLUMN = 30
BOARD_VIEWS = {"rungs": "梯度分布", "candidates": "可申报企业", "near": "差一点",
               "applications": "申报看板"}


def _rank(column) -> Any:
    """A kind's ladder position in SQL; -1 for no rung."""
    return case({k: i for i, k in enumerate(KINDS)}, value=column, else_=-1)


@dataclass
class BoardFilters:
    zone: str = ""
    tech_field: str = ""
    officer_id: int | None = None
    kind: str = ""
    year: int | None = None

    @classmethod
    def from_args(cls, args: Any) -> BoardFilters:
        officer, year = args.get("officer_id", ""), args.get("year", "")
        return cls(
            zone=args.get("zone", ""), tech_field=args.get("tech_field", ""),
            officer_id=parse_int(officer),
            kind=args.get("kind", "") if args.get("kind", "") in KINDS else "",
            year=parse_int(year, low=1900, high=2100),
        )

    def apply(self, query):
        """Narrow a query that already involves Enterprise."""
        if self.zone:
            query = query.where(Enterprise.zone == self.zone)
        if self.tech_field:
            query = query.where(Enterprise.tech_field == self.tech_field)
        if self.officer_id:
            query = query.where(Enterprise.officer_id == self.officer_id)
        return query


def above_current_rung(kind_column) -> Any:
    """SQL: a rung above the firm's current one (what makes a result a candidate to show)."""
    return _rank(kind_column) > _rank(Enterprise.current_rung)


def _active(user: Any):
    return (enterprise_scope(user), Enterprise.status == "active")


#: the reader of the maintained figures: (user) -> {(zone, rung, field): active firms}, or None
#: when they are not current; set by init_app (the dashboard keeps them, and imports this
#: module), None until then (the straightforward count)
_kept_firm_counts: Callable[[Any], dict[tuple[Any, Any, Any], int] | None] | None = None


def keep_firm_counts_from(reader: Callable[[Any], dict[tuple[Any, Any, Any], int] | None]
                          ) -> None:
    """Let rung_counts read maintained per-zone figures (see _kept_firm_counts)."""
    global _kept_firm_counts
    _kept_firm_counts = reader


def rung_counts(user: Any, filters: BoardFilters) -> dict[str | None, int]:
    """Firms per rung (None = not yet on the ladder).

    Summed from the maintained (zone, rung, field) figures when they are current and the
    filters are zone and field only: a few hundred rows instead of a count over every active
    firm, which grows with the register. Else the straightforward GROUP BY.
    """
    kept = (_kept_firm_counts(user)
            if _kept_firm_counts is not None and not filters.officer_id else None)
    if kept is None:
        return rung_counts_live(user, filters)
    counts: dict[str | None, int] = {}
    for (zone, rung, field), n in kept.items():
        if n and (not filters.zone or zone == filters.zone) \
                and (not filters.tech_field or field == filters.tech_field):
            counts[rung] = counts.get(rung, 0) + n
    return counts


def rung_counts_live(user: Any, filters: BoardFilters) -> dict[str | None, int]:
    """Firms per rung, one GROUP BY over the active firms in scope (what the figures equal)."""
    query = filters.apply(select(Enterprise.current_rung, func.count(Enterprise.id))
                          .where(*_active(user)).group_by(Enterprise.current_rung))
    return {rung: n for rung, n in db.session.execute(query)}


#: what a board card shows of a firm, read as plain rows: ~200 full entities (wide rows with
#: JSON lists) cost more than the query that finds them
_CARD_COLUMNS = (Enterprise.id, Enterprise.name, Enterprise.zone, Enterprise.tech_field,
                 Enterprise.current_rung, Enterprise.eligibility_stale_since)


def rung_cards(user: Any, filters: BoardFilters, per_column: int = CARDS_PER_COLUMN
               ) -> dict[str | None, list[Any]]:
    """The first `per_column` firms of each rung by name (pinyin order), in one query.

    One small ordered read per rung (UNION ALL of LIMITed branches on the index
    ix_enterprises_active_rung_pinyin) instead of ranking every active firm: the cost follows
    the cards shown, not the size of the register. Each firm is a row of _CARD_COLUMNS.
    """
    branches = []
    for rung in (None, *KINDS):
        on_rung = (Enterprise.current_rung.is_(None) if rung is None
                   else Enterprise.current_rung == rung)
        first = filters.apply(select(Enterprise.id).where(*_active(user), on_rung)
                              .order_by(Enterprise.name_pinyin, Enterprise.id).limit(per_column))
        branches.append(select(first.subquery().c.id))
    shown = union_all(*branches).subquery()
    query = (select(*_CARD_COLUMNS).where(Enterprise.id.in_(select(shown.c.id)))
             .order_by(Enterprise.name_pinyin, Enterprise.id))
    columns: dict[str | None, list[Any]] = {None: [], **{k: [] for k in KINDS}}
    for firm in db.session.execute(query):
        columns.setdefault(firm.current_rung, []).append(firm)
    return columns


def _step_sentences() -> dict[str, str]:
    """The next-step sentences translated once per board, formatted per card (a gettext call
    per card and per label was a third of the board's time at ~200 cards)."""
    return {
        "applied_due": _("%(kind)s申报：%(status)s（截止 %(due)s）"),
        "applied": _("%(kind)s申报：%(status)s"),
        "no_results": _("待评估：补充年度数据"),
        "ready_review": _("可申报%(kind)s（待专家评审）"),
        "ready": _("可申报%(kind)s"),
        "near": _("接近%(kind)s：%(criterion)s"),
        "needs_threshold": _("%(kind)s：待管理员设置本地阈值"),
        "no_data": _("%(kind)s：数据不全"),
        "missing": _("距%(kind)s还差%(num)s项"),
    }


def next_steps(firms: list[Any]) -> dict[int, dict[str, Any]]:
    """Each firm's next step from its open applications and stored results (two queries).

    `firms`: anything with `id` and `current_rung` (entities or rung_cards' rows).
    """
    ids = [f.id for f in firms]
    if not ids:
        return {}
    open_apps: dict[int, Application] = {}
    for app in db.session.scalars(
        select(Application).where(Application.enterprise_id.in_(ids),
                                  Application.status.in_(OPEN_APPLICATION_STATUSES))
        .order_by(Application.deadline.is_(None), Application.deadline, Application.id)
    ):
        open_apps.setdefault(app.enterprise_id, app)
    results: dict[int, dict[str, Any]] = {i: {} for i in ids}
    # the summary columns as plain rows, not entities: a board shows ~200 cards with up to six
    # results each, and building that many ORM objects cost as much as the rest of the page.
    # near_miss is stored as JSON null on most rows: read it only where a near miss is recorded
    # (decoding ~1,200 nulls per board showed in the profile)
    r = EligibilityResult
    near_miss = case((r.near_miss_code.is_not(None), r.near_miss), else_=None)
    for row in db.session.execute(select(r.enterprise_id, r.kind, r.verdict, r.candidate,
                                         r.near_miss_code, near_miss.label("near_miss"),
                                         r.failed_count)
                                  .where(r.enterprise_id.in_(ids))):
        results[row.enterprise_id][row.kind] = row
    order = list(KINDS)
    kinds = {k: _(label) for k, label in KINDS.items()}
    statuses = {s: _(label) for s, label in APPLICATION_STATUSES.items()}
    say = _step_sentences()
    steps = {}
    for firm in firms:
        app = open_apps.get(firm.id)
        if app is not None:
            kind, status = kinds[app.kind], statuses[app.status]
            text = (say["applied_due"] % {"kind": kind, "status": status,
                                          "due": app.deadline.isoformat()} if app.deadline
                    else say["applied"] % {"kind": kind, "status": status})
            steps[firm.id] = {"text": text, "tone": "primary"}
            continue
        above = [results[firm.id][k] for k in order[rung_index(firm.current_rung) + 1:]
                 if k in results[firm.id]]
        if not above:
            steps[firm.id] = {"text": say["no_results"], "tone": "secondary"}
            continue
        ready = next((r for r in above if r.candidate), None)
        if ready is not None:
            text = say["ready_review" if ready.verdict == "needs_review" else "ready"] % {
                "kind": kinds[ready.kind]}
            steps[firm.id] = {"text": text, "tone": "success"}
            continue
        near = next((r for r in above if r.near_miss_code), None)
        if near is not None:
            steps[firm.id] = {"text": say["near"] % {
                "kind": kinds[near.kind],
                "criterion": wording.localise(near.near_miss["label"])}, "tone": "warning"}
            continue
        first = above[0]
        kind = kinds[first.kind]
        if first.verdict == "needs_review":
            text = say["needs_threshold"] % {"kind": kind}
        elif first.verdict == "insufficient_data":
            text = say["no_data"] % {"kind": kind}
        else:
            text = say["missing"] % {"kind": kind, "num": first.failed_count}
        steps[firm.id] = {"text": text, "tone": "secondary"}
    return steps


#: firms in pinyin order of their names, as on every list
_RESULT_SORT = [SortKey(Enterprise.name_pinyin), SortKey(EligibilityResult.id, kind="int")]


def _result_values(row: EligibilityResult) -> list[Any]:
    return [row.enterprise.name_pinyin, row.id]


def _results_above_rung(user: Any, filters: BoardFilters):
    query = (select(EligibilityResult).join(EligibilityResult.enterprise)
             .options(contains_eager(EligibilityResult.enterprise)
                      .joinedload(Enterprise.officer))
             .where(*_active(user),
                    above_current_rung(EligibilityResult.kind)))
    if filters.kind:
        query = query.where(EligibilityResult.kind == filters.kind)
    return filters.apply(query)


def candidates(user: Any, filters: BoardFilters, *, size: int, after: str | None = None,
               before: str | None = None) -> Page:
    """Firms that meet a rung above their current one (eligible, or only experts left)."""
    query = _results_above_rung(user, filters).where(EligibilityResult.candidate.is_(True))
    return keyset_page(db.session, query, _RESULT_SORT, size=size, after=after, before=before,
                       row_values=_result_values)


def near_misses(user: Any, filters: BoardFilters, *, size: int, after: str | None = None,
                before: str | None = None) -> Page:
    """Firms failing one criterion of a higher rung by a small margin (gaps.near_miss)."""
    query = _results_above_rung(user, filters).where(
        EligibilityResult.near_miss_code.is_not(None))
    return keyset_page(db.session, query, _RESULT_SORT, size=size, after=after, before=before,
                       row_values=_result_values)


#: applications shown per status column
APPLICATIONS_PER_COLUMN = 50


def application_columns(user: Any, filters: BoardFilters) -> tuple[dict[str, list[Application]],
                                                                   dict[str, int]]:
    """This year's applications by status (counts + first cards), two queries in all."""
    year = filters.year or today().year
    base = filters.apply(select(Application).join(Application.enterprise)
                         .where(enterprise_scope(user), Application.year == year))
    if filters.kind:
        base = base.where(Application.kind == filters.kind)
    counts_q = base.with_only_columns(Application.status, func.count(Application.id)) \
        .group_by(Application.status)
    counts = {status: n for status, n in db.session.execute(counts_q)}
    position = func.row_number().over(partition_by=Application.status,
                                      order_by=(Application.deadline.is_(None),
                                                Application.deadline, Application.id)
                                      ).label("pos")
    inner = base.with_only_columns(Application.id, position).subquery()
    query = (select(Application).join(inner, inner.c.id == Application.id)
             .where(inner.c.pos <= APPLICATIONS_PER_COLUMN)
             .options(joinedload(Application.enterprise), joinedload(Application.owner))
             .order_by(Application.deadline.is_(None), Application.deadline, Application.id))
    columns: dict[str, list[Application]] = {s: [] for s in APPLICATION_STATUSES}
    for app in db.session.scalars(query):
        columns[app.status].append(app)
    return columns, counts


def get_application_or_404(user: Any, application_id: int) -> Application:
    """An application whose firm is in the user's scope, else 404."""
    from flask import abort

    app = db.session.scalar(select(Application).join(Application.enterprise)
                            .where(enterprise_scope(user), Application.id == application_id))
    if app is None:
        abort(404)
    return app


def get_qualification_or_404(user: Any, qualification_id: int):
    """A qualification whose firm is in the user's scope, else 404."""
    from flask import abort

    from tracker.ladder.models import Qualification

    q = db.session.scalar(select(Qualification).join(Qualification.enterprise)
                          .where(enterprise_scope(user), Qualification.id == qualification_id))
    if q is None:
        abort(404)
    return q
