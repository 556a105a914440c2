"""Issue 12's fast queries give exactly what the straightforward ones give, on fixtures."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select
from sqlalchemy import text as text_

from tests.factories import make_enterprise, make_user
from tracker.enterprises import queries as enterprise_queries
from tracker.enterprises.models import Enterprise
from tracker.extensions import db
from tracker.ladder import queries as board
from tracker.ladder.rules import KINDS

RUNGS = [None, "tech_sme", "hnte", "chuying"]


@pytest.fixture
def spread():
    """31 firms over four rungs and two zones, some archived, names out of id order."""
    firms = []
    for i in range(31):
        firm = make_enterprise(name=f"天津{(i * 7) % 31:02d}号科技有限公司",
                               zone="hitech" if i % 3 else "teda")
        firm.current_rung = RUNGS[i % 4]
        firm.status = "archived" if i % 5 == 4 else "active"
        firms.append(firm)
    make_enterprise(name="天津ＡＢＣ（滨海）科技有限公司")
    make_enterprise(name="天津ABC(滨海)科技有限公司")
    db.session.flush()
    return firms


def _straight_columns(filters: board.BoardFilters, per_column: int):
    """The board's columns the obvious way: sort the active firms, take the first of each."""
    firms = sorted((f for f in db.session.scalars(select(Enterprise))
                    if f.status == "active" and (not filters.zone or f.zone == filters.zone)),
                   key=lambda f: (f.name_pinyin, f.id))
    columns = {None: [], **{k: [] for k in KINDS}}
    for firm in firms:
        if len(columns[firm.current_rung]) < per_column:
            columns[firm.current_rung].append(firm)
    return columns


@pytest.mark.parametrize("zone", ["", "hitech"])
@pytest.mark.parametrize("per_column", [1, 3, 30])
def test_board_columns_equal_the_straightforward_ones(spread, zone, per_column):
    user = make_user("bureau")
    filters = board.BoardFilters(zone=zone)
    fast = board.rung_cards(user, filters, per_column=per_column)
    assert {k: [f.id for f in v] for k, v in fast.items()} == \
        {k: [f.id for f in v] for k, v in _straight_columns(filters, per_column).items()}


def test_board_columns_cost_one_query(spread):
    from tests.conftest import count_queries

    user = make_user("bureau")
    db.session.flush()
    with count_queries() as statements:
        board.rung_cards(user, board.BoardFilters())
    assert len(statements) == 1


@pytest.mark.parametrize("cap", [5, 26, 27, 10_000])
def test_capped_count_is_exact_up_to_the_cap(spread, cap):
    user = make_user("bureau")
    filters = enterprise_queries.EnterpriseFilters()
    exact = enterprise_queries.count(user, filters)
    assert exact == 27  # 25 active generated + the two ABC firms
    total = enterprise_queries.capped_count(user, filters, cap=cap)
    if exact > cap:
        assert (total.n, total.capped) == (cap, True)
    else:
        assert (total.n, total.capped) == (exact, False)


def test_list_says_plus_beyond_the_cap(spread, client, monkeypatch):
    from tests.conftest import login

    monkeypatch.setattr(enterprise_queries, "COUNT_CAP", 10)
    user = make_user("bureau")
    login(client, user)
    response = client.get("/enterprises/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert "共 10+ 家" in page, page[page.find("result-count"):][:100]
    body = client.get("/api/v1/enterprises").get_json()
    assert (body["count"], body["count_is_lower_bound"]) == (10, True)


@pytest.mark.parametrize(
    "q", ["科技", "号科", "03号", "ABC", "ＡＢＣ", "（滨海）", "(滨海)", "%", "无此"])
def test_name_search_finds_what_ilike_finds_and_the_folded_form(spread, q):
    import unicodedata

    user = make_user("bureau")
    filters = enterprise_queries.EnterpriseFilters(q=q)
    found = {e.id for e in enterprise_queries.page(user, filters, size=100).items}
    folded = unicodedata.normalize("NFKC", q)
    expected = {e.id for e in db.session.scalars(select(Enterprise).where(
        Enterprise.status == "active")) if q.lower() in e.name.lower()
        or folded.lower() in e.name.lower()}
    assert found == expected
    assert enterprise_queries.count(user, filters) == len(expected)


def test_full_width_query_finds_the_half_width_name(spread):
    user = make_user("bureau")
    names = {e.name for e in enterprise_queries.page(
        user, enterprise_queries.EnterpriseFilters(q="ＡＢＣ(滨海)"), size=10).items}
    assert names == {"天津ABC(滨海)科技有限公司"}


def test_counts_agree_with_plain_count(spread):
    user = make_user("bureau")
    plain = db.session.scalar(select(func.count(Enterprise.id)).where(
        Enterprise.status == "active"))
    assert enterprise_queries.capped_count(user, enterprise_queries.EnterpriseFilters()).n == plain


def _plan(statement) -> str:
    """PostgreSQL's plan for a statement, sequential scans priced out: an index that can serve
    the query shows up in the plan; one that cannot leaves a Seq Scan behind."""
    from sqlalchemy import text

    sql = str(statement.compile(dialect=db.session.get_bind().dialect,
                                compile_kwargs={"literal_binds": True}))
    db.session.execute(text("SET LOCAL enable_seqscan = off"))
    try:
        return "\n".join(db.session.scalars(text("EXPLAIN " + sql)))
    finally:
        db.session.execute(text("SET LOCAL enable_seqscan = on"))


@pytest.fixture
def registry():
    """5,000 generated firms written with Core (as the generator does), then ANALYZEd, so the
    planner weighs the search's indexes as it would on a full registry."""
    import random

    from tracker.enterprises.uscc import make_code
    from tracker.generate import _name

    rng = random.Random(5)
    rows = []
    for i in range(5000):
        name, (spelled, initials) = _name(rng)
        rows.append({"uscc": make_code(7_000_000 + i), "name": name, "name_pinyin": spelled,
                     "name_initials": initials, "zone": "hitech" if i % 3 else "teda",
                     "status": "active", "industry_tags": [], "honours": []})
    db.session.execute(Enterprise.__table__.insert(), rows)
    db.session.execute(text_("ANALYZE enterprises"))


@pytest.mark.parametrize(("q", "column"), [
    ("北洋能源", "name"),
    ("uscc-prefix", "uscc"),
    ("tjbyny", "name_initials"),
    ("tianjinbei", "name_pinyin"),
])
@pytest.mark.parametrize("role", ["bureau", "zone"])
def test_navbar_search_reads_indexes_on_postgres(spread, registry, q, column, role):
    """Each way the navbar search finds a firm is answered from that way's index (500k firms
    stay a lookup, not a scan); the certificate number from its own."""
    from tracker.search import queries as search

    if db.session.get_bind().dialect.name != "postgresql":
        pytest.skip("EXPLAIN plans are checked on PostgreSQL")
    from tracker.enterprises.uscc import make_code

    if q == "uscc-prefix":  # one firm's first 14 characters: selective, as a typed code is
        q = make_code(7_000_123)[:14]
    user = make_user(role)
    statements = search.firm_statements(user, q)
    plans = [_plan(s) for s in statements]
    assert not any("Seq Scan on enterprises" in plan for plan in plans), plans
    # Whether to read the matches off the predicate's index and sort them, or to walk the
    # ordered one and filter, is the planner's cost call (it varies with the table's bloat
    # between test runs); that the predicate itself is index-served is ours to keep.
    matches = [_plan(s.order_by(None).limit(None)) for s in statements]
    if not (role == "zone" and column == "name"):  # there the zone's index may start it
        assert any(re.search(rf"Index Cond: .*\({column}\)::text", plan)
                   for plan in matches), "\n\n".join(matches)
    if column == "uscc":
        plan = _plan(search.certificate_statement(user, "GR2023"))
        assert re.search(r"Index Cond: \(+number\)::text", plan), plan
        assert "Seq Scan on qualifications" not in plan, plan


@pytest.mark.parametrize("sort", ["name", "-name", "uscc"])
def test_a_sparse_name_search_reads_each_match_once_on_postgres(spread, registry, sort):
    """Few matches are read once and sorted: not an ordered index walked and filtered (the plan
    the planner prefers for a list order it has an index for), and not each match read twice
    (ids first, then every row again through the primary key)."""
    if db.session.get_bind().dialect.name != "postgresql":
        pytest.skip("EXPLAIN plans are checked on PostgreSQL")
    from sqlalchemy import event

    q = db.session.scalar(select(Enterprise.name).order_by(Enterprise.id.desc()).limit(1))[2:6]
    user = make_user("bureau")
    filters = enterprise_queries.EnterpriseFilters(q=q, sort=sort)
    assert enterprise_queries._few_name_matches(q)
    seen: list[tuple[str, object]] = []

    def grab(_conn, _cursor, statement, parameters, *_args):
        seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", grab)
    try:
        page = enterprise_queries.page(user, filters, size=10)
    finally:
        event.remove(db.engine, "before_cursor_execute", grab)
    assert page.items
    statement, parameters = next((s, p) for s, p in seen if "ORDER BY" in s)
    connection = db.session.connection()
    # sorts priced out: an index that can give the page's order shows up walked (as it was on
    # 500,000 firms); with none, a Sort stays. Which index finds the matches is the planner's
    # cost call on a table this small; that the table is read once is ours.
    connection.exec_driver_sql("SET LOCAL enable_sort = off")
    plan = "\n".join(row[0] for row in connection.exec_driver_sql("EXPLAIN " + statement,
                                                                  parameters))
    connection.exec_driver_sql("SET LOCAL enable_sort = on")
    assert re.search(r"Sort Key: ", plan), plan
    assert len(re.findall(r"Scan (?:using \w+ )?on enterprises\b", plan)) == 1, plan
