"""The enterprise list: search, filters, sorting and keyset pages, always scoped."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import joinedload

from tracker.accounts.scope import enterprise_scope
from tracker.enterprises import uscc
from tracker.enterprises.models import Enterprise
from tracker.extensions import db
from tracker.inputs import parse_int
from tracker.names import fold_name, name_search_terms
from tracker.pagination import Page, SortKey, both_ways, keyset_page

#: whitelisted sort keys (each also as "-key", reversed); Chinese names sort in pinyin order
SORTS: dict[str, list[SortKey]] = {
    **both_ways("name", [SortKey(Enterprise.name_pinyin), SortKey(Enterprise.id, kind="int")]),
    **both_ways("updated", [SortKey(Enterprise.updated_at, kind="datetime"),
                            SortKey(Enterprise.id, kind="int")]),
    **both_ways("uscc", [SortKey(Enterprise.uscc), SortKey(Enterprise.id, kind="int")]),
    **both_ways("created", [SortKey(Enterprise.created_at, kind="datetime"),
                            SortKey(Enterprise.id, kind="int")]),
}
SORT_LABELS = {"name": "名称", "-name": "名称倒序", "uscc": "信用代码", "-uscc": "信用代码倒序",
               "-updated": "最近更新", "updated": "最早更新", "-created": "最近创建",
               "created": "最早创建"}


def sort_order(sort: str) -> list[Any]:
    """ORDER BY clauses of a list sort, so an export lists firms in the page's order."""
    keys = SORTS.get(sort, SORTS["name"])
    return [k.column.desc() if k.descending else k.column.asc() for k in keys]


@dataclass(frozen=True)
class ListFilter:
    """A query parameter another feature adds to the list (the dashboard's drill-downs).

    `clause(value, extra)` gives the WHERE clause for the value (None: the parameter only
    qualifies another one, like a date); it raises ValueError for a value it cannot read, which
    is then ignored. `describe(value, extra)` says in words what the filter keeps.
    """

    name: str
    clause: Callable[[str, dict[str, str]], ColumnElement[bool] | None]
    describe: Callable[[str, dict[str, str]], str]


_EXTRA_FILTERS: dict[str, ListFilter] = {}


def register_filter(name: str, clause: Callable[[str, dict[str, str]], Any],
                    describe: Callable[[str, dict[str, str]], str]) -> None:
    """Let the list (and its export) filter on `?name=value` with the given clause."""
    _EXTRA_FILTERS[name] = ListFilter(name, clause, describe)


def _extra_clauses(extra: dict[str, str]) -> list[tuple[str, ColumnElement[bool] | None]]:
    out = []
    for name, value in extra.items():
        try:
            out.append((name, _EXTRA_FILTERS[name].clause(value, extra)))
        except ValueError:
            continue
    return out


def describe_extra(extra: dict[str, str]) -> list[str]:
    """The readable text of each extra filter that applies (bad values are ignored)."""
    out = []
    for name, _clause in _extra_clauses(extra):
        try:
            text = _EXTRA_FILTERS[name].describe(extra[name], extra)
        except ValueError:
            continue
        if text:
            out.append(text)
    return out


@dataclass
class EnterpriseFilters:
    q: str = ""
    uscc: str = ""
    zone: str = ""
    tech_field: str = ""
    rung: str = ""
    officer_id: int | None = None
    status: str = "active"
    sort: str = "name"
    #: registered extra filters (register_filter): name -> raw value
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_args(cls, args: Any) -> EnterpriseFilters:
        officer = args.get("officer_id", "")
        return cls(
            q=fold_name(args.get("q"))[:100],  # shown back in the box; searched by name_filter
            uscc=uscc.normalise(args.get("uscc"))[:18],
            zone=args.get("zone", ""),
            tech_field=args.get("tech_field", ""),
            rung=args.get("rung", ""),
            officer_id=parse_int(officer),
            status=args.get("status", "active") or "active",
            sort=args.get("sort") if args.get("sort") in SORTS else "name",
            extra={name: str(args.get(name)).strip()[:40] for name in _EXTRA_FILTERS
                   if args.get(name)},
        )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def filtered_query(user: Any, filters: EnterpriseFilters):
    query = select(Enterprise).where(enterprise_scope(user))
    if filters.q:
        query = query.where(name_filter(filters.q))
    if filters.uscc:
        query = query.where(Enterprise.uscc.like(f"{_escape_like(filters.uscc)}%", escape="\\"))
    if filters.zone:
        query = query.where(Enterprise.zone == filters.zone)
    if filters.tech_field:
        query = query.where(Enterprise.tech_field == filters.tech_field)
    if filters.rung == "none":
        query = query.where(Enterprise.current_rung.is_(None))
    elif filters.rung:
        query = query.where(Enterprise.current_rung == filters.rung)
    if filters.officer_id:
        query = query.where(Enterprise.officer_id == filters.officer_id)
    if filters.status in ("active", "archived"):
        query = query.where(Enterprise.status == filters.status)
    for _name, clause in _extra_clauses(filters.extra):
        if clause is not None:
            query = query.where(clause)
    return query


def name_filter(q: str):
    """Names containing the query, folded once by tracker.names (the list and the navbar alike)."""
    return or_(*(Enterprise.name.ilike(f"%{_escape_like(term)}%", escape="\\")
                 for term in name_search_terms(q)))


def prefix_range(column: Any, prefix: str, top: str, length: int):
    """`column` starts with `prefix`, as a range both databases answer from a plain b-tree
    (LIKE 'x%' needs a C collation or text_pattern_ops on PostgreSQL).

    Exact when stored values use characters no greater than `top` and are at most `length`
    long: then every value with the prefix lies between prefix and prefix + top…top.
    """
    return and_(column >= prefix, column <= prefix + top * length)


def count(user: Any, filters: EnterpriseFilters) -> int:
    inner = filtered_query(user, filters).with_only_columns(Enterprise.id).subquery()
    return db.session.scalar(select(func.count()).select_from(inner))


#: totals above this are shown as "10,000+": counting every matching row of a national
#: registry costs as much as reading it, and nobody pages that far
COUNT_CAP = 10_000


@dataclass(frozen=True)
class Total:
    """How many firms match; `capped` means at least `n` (more were not counted)."""

    n: int
    capped: bool = False


def capped_count(user: Any, filters: EnterpriseFilters, cap: int | None = None) -> Total:
    """count(), but stops after cap + 1 rows: exact up to the cap, "cap+" beyond it."""
    cap = COUNT_CAP if cap is None else cap
    inner = (filtered_query(user, filters).with_only_columns(Enterprise.id)
             .limit(cap + 1).subquery())
    n = db.session.scalar(select(func.count()).select_from(inner))
    return Total(cap, True) if n > cap else Total(n)


#: a name search matching at most this many firms is read from the trigram index and sorted;
#: a denser one is read in list order (it meets a page's worth of matches quickly)
SPARSE_MATCHES = 2000


def _few_name_matches(q: str) -> bool:
    """On PostgreSQL, whether at most SPARSE_MATCHES firms' names contain `q` (False on SQLite,
    which has no trigram index): one index-served count that stops at SPARSE_MATCHES + 1.

    The planner assumes matches are spread evenly over the list's order and walks its ordered
    index filtering names; a stem shared by a few hundred firms that sort together made it
    read 40,000 rows for 51 (650 ms at 50,000 firms). Few matches are better read off the
    trigram index and sorted: bounded by SPARSE_MATCHES.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return False
    matching = select(Enterprise.id).where(name_filter(q)).limit(SPARSE_MATCHES + 1)
    return db.session.scalar(select(func.count()).select_from(matching.subquery())) \
        <= SPARSE_MATCHES


def _unindexed(keys: list[SortKey]) -> list[SortKey]:
    """The same order through an expression no index serves (COALESCE(c, c) is c, NULLs
    included), so the planner cannot walk an ordered index: it reads the matches once each
    (off the trigram index, or another filter's) and sorts them. (The matches' ids in a
    MATERIALIZED CTE did the same but read each match twice, the second time through the
    primary key: 3.3 ms against 1.2 ms for 576 matches among 500,000 firms.)"""
    first = keys[0]
    return [replace(first, column=func.coalesce(first.column, first.column)), *keys[1:]]


def page(user: Any, filters: EnterpriseFilters, *, size: int, after: str | None = None,
         before: str | None = None) -> Page:
    query = filtered_query(user, filters).options(joinedload(Enterprise.officer))
    keys = ordered_by = SORTS[filters.sort]
    if filters.q and _few_name_matches(filters.q):
        ordered_by = _unindexed(keys)
    # the cursors carry the columns' values, whichever expression the page is ordered by
    return keyset_page(db.session, query, ordered_by, size=size, after=after, before=before,
                       row_values=lambda row: [getattr(row, k.column.key) for k in keys])
