"""Sortable headers on the other lists (carriers, a carrier's tenants, the reminders ledger):
walking every page by keyset gives the whole list in the promised order, for each sort key,
and the number of queries does not follow the page size."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

import pytest

from tests.conftest import count_queries
from tests.factories import make_carrier, make_enterprise, make_tenancy, make_user
from tracker.extensions import db
from tracker.incubation.views import CARRIER_SORTS, TENANT_SORTS
from tracker.reminders.views import LEDGER_SORTS

NEXT = re.compile(r'href="([^"]*[?&](?:amp;)?after=[^"]*)"')
NAMES = ["天津渤海科技", "天津阿尔法科技", "天津中科智能", "天津北洋能源", "天津长城科技",
         "天津海河科技", "天津重庆路科技"]


def _walk(client, url: str, pattern: re.Pattern) -> list[str]:
    """Every page of a list from `url` by its 下一页 link; the matches of `pattern` in order."""
    found = []
    for _ in range(50):
        page = client.get(url).get_data(as_text=True)
        found += pattern.findall(page)
        link = NEXT.search(page)
        if not link:
            return found
        url = html.unescape(link.group(1))
    raise AssertionError("the pager never ended")


@pytest.fixture
def carrier_with_tenants():
    """A carrier with seven tenants moved in on different days, names out of pinyin order."""
    carrier = make_carrier(name="排序测试孵化器")
    tenancies = []
    for i, name in enumerate(NAMES):
        firm = make_enterprise(name=name + "有限公司")
        tenancy = make_tenancy(firm, carrier, date(2024, 1, 1) + timedelta(days=(i * 5) % 7))
        tenancy.term_ends_on = date(2028, 1, 1) + timedelta(days=(i * 3) % 4)  # ties on purpose
        tenancies.append(tenancy)
    db.session.flush()
    return carrier, tenancies


@pytest.mark.parametrize("sort", sorted(TENANT_SORTS))
def test_tenants_page_in_every_sort(carrier_with_tenants, login_as, sort):
    carrier, tenancies = carrier_with_tenants
    client = login_as(make_user("bureau"))
    ids = [int(i) for i in _walk(client, f"/incubation/carriers/{carrier.id}?sort={sort}&size=2",
                                 re.compile(r'href="/incubation/tenancies/(\d+)"'))]
    key = {"name": lambda t: (t.enterprise.name_pinyin, t.id),
           "moved_in": lambda t: (t.moved_in_on, t.id),
           "term_ends": lambda t: (t.term_ends_on, t.id)}[sort.lstrip("-")]
    expected = [t.id for t in sorted(tenancies, key=key, reverse=sort.startswith("-"))]
    assert ids == expected


def test_tenants_by_name_are_in_pinyin_order(carrier_with_tenants, login_as):
    carrier, _ = carrier_with_tenants
    client = login_as(make_user("bureau"))
    names = _walk(client, f"/incubation/carriers/{carrier.id}?sort=name&size=3",
                  re.compile(r">(天津[^<]*有限公司)</a>"))
    assert names == [n + "有限公司" for n in [
        "天津阿尔法科技", "天津北洋能源", "天津渤海科技", "天津长城科技", "天津重庆路科技",
        "天津海河科技", "天津中科智能"]]


@pytest.mark.parametrize("sort", sorted(CARRIER_SORTS))
def test_carriers_page_in_every_sort(login_as, sort):
    carriers = [make_carrier(name=name) for name in ("泰达载体", "北洋载体", "渤海载体", "中科载体",
                                                     "阿尔法载体")]
    client = login_as(make_user("bureau"))
    ids = [int(i) for i in _walk(client, f"/incubation/carriers?sort={sort}&size=2",
                                 re.compile(r'href="/incubation/carriers/(\d+)"'))]
    key = {"name": lambda c: (c.name_pinyin, c.id),
           "created": lambda c: (c.created_at, c.id)}[sort.lstrip("-")]
    mine = {c.id for c in carriers}
    assert [i for i in ids if i in mine] == [
        c.id for c in sorted(carriers, key=key, reverse=sort.startswith("-"))]
    if sort == "name":  # pinyin order, not code points
        by_id = {c.id: c.name for c in carriers}
        assert [by_id[i] for i in ids if i in mine] == [
            "阿尔法载体", "北洋载体", "渤海载体", "泰达载体", "中科载体"]


@pytest.mark.parametrize("url", ["/incubation/carriers/{carrier}?sort=name",
                                 "/incubation/carriers?sort=-name",
                                 "/reminders/?sort=due"])
def test_other_lists_cost_the_same_queries_for_any_page_size(carrier_with_tenants, login_as,
                                                             url):
    carrier, _ = carrier_with_tenants
    client = login_as(make_user("bureau"))
    url = url.format(carrier=carrier.id)
    client.get(url)  # the session's first request also records when it was last seen
    with count_queries() as small:
        assert client.get(f"{url}&size=1").status_code == 200
    with count_queries() as large:
        assert client.get(f"{url}&size=50").status_code == 200
    assert len(large) == len(small)


def test_ledger_offers_its_whitelisted_sorts(login_as):
    client = login_as(make_user("bureau"))
    assert set(LEDGER_SORTS) == {"id", "-id", "due", "-due"}
    assert client.get("/reminders/?sort=due").status_code == 200
    assert client.get("/reminders/?sort=password").status_code == 200
