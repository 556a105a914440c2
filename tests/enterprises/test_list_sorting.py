"""The enterprise list's sortable headers: every whitelisted sort pages by keyset exactly as a
plain sort would, Chinese names in pinyin order, page size bounded, queries flat."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.conftest import count_queries
from tests.factories import make_enterprise, make_user
from tracker.clock import now_utc
from tracker.enterprises import queries
from tracker.enterprises.models import Enterprise
from tracker.extensions import db
from tracker.pagination import MAX_PAGE_SIZE

NAMES = ["天津渤海科技有限公司", "天津阿尔法科技有限公司", "天津中科智能有限公司",
         "天津北洋能源有限公司", "天津ABC科技有限公司", "天津重庆路科技有限公司",
         "天津长城科技有限公司", "天津海河科技有限公司"]


@pytest.fixture
def firms():
    """Sixteen firms with Chinese names out of pinyin order, some sharing names, spread times."""
    made = []
    base = now_utc()
    for i in range(16):
        firm = make_enterprise(name=NAMES[i % len(NAMES)])
        firm.updated_at = base - timedelta(minutes=(i * 7) % 5)  # ties on purpose
        firm.created_at = base - timedelta(minutes=i)
        made.append(firm)
    db.session.flush()
    return made


def _expected(sort: str) -> list[int]:
    """The order the list promises, computed in Python from the rows."""
    rows = db.session.scalars(select(Enterprise).where(Enterprise.status == "active")).all()
    key, reverse = sort.lstrip("-"), sort.startswith("-")
    column = {"name": "name_pinyin", "updated": "updated_at", "uscc": "uscc",
              "created": "created_at"}[key]
    return [f.id for f in sorted(rows, key=lambda f: (getattr(f, column), f.id), reverse=reverse)]


@pytest.mark.parametrize("sort", sorted(queries.SORTS))
@pytest.mark.parametrize("size", [1, 3, 5])
def test_keyset_pages_follow_every_sort(firms, sort, size):
    user = make_user("bureau")
    filters = queries.EnterpriseFilters(sort=sort)
    seen, after = [], None
    while True:
        page = queries.page(user, filters, size=size, after=after)
        seen += [f.id for f in page.items]
        if not page.next_cursor:
            break
        after = page.next_cursor
    assert seen == _expected(sort)
    # and back again from the last page
    back, before = [], page.prev_cursor
    while before:
        page = queries.page(user, filters, size=size, before=before)
        back = [f.id for f in page.items] + back
        before = page.prev_cursor
    assert back + seen[len(back):] == seen


def test_chinese_names_come_in_pinyin_order(firms):
    page = queries.page(make_user("bureau"), queries.EnterpriseFilters(sort="name"), size=100)
    names = list(dict.fromkeys(f.name for f in page.items))
    assert names == ["天津ABC科技有限公司", "天津阿尔法科技有限公司", "天津北洋能源有限公司",
                     "天津渤海科技有限公司", "天津长城科技有限公司", "天津重庆路科技有限公司",
                     "天津海河科技有限公司", "天津中科智能有限公司"]


def test_unknown_sort_falls_back_to_name():
    filters = queries.EnterpriseFilters.from_args({"sort": "password"})
    assert filters.sort == "name"


def test_page_size_is_bounded_and_offered(firms, login_as):
    client = login_as(make_user("bureau"))
    page = client.get("/enterprises/?size=100000").get_data(as_text=True)
    assert page.count("<tr>") <= MAX_PAGE_SIZE + 1
    page = client.get("/enterprises/?size=3").get_data(as_text=True)
    assert page.count('class="cell-name"') == 3
    assert "size=50" in page and "size=100" in page
    assert client.get("/enterprises/?size=-5").status_code == 200


def test_headers_sort_and_reverse(firms, login_as):
    client = login_as(make_user("bureau"))
    page = client.get("/enterprises/?sort=name").get_data(as_text=True)
    assert 'aria-sort="ascending"' in page and "sort=-name" in page
    page = client.get("/enterprises/?sort=-name").get_data(as_text=True)
    assert 'aria-sort="descending"' in page
    assert page.index("天津中科智能有限公司") < page.index("天津ABC科技有限公司")


@pytest.mark.parametrize("sort", ["name", "-updated", "uscc"])
def test_list_queries_do_not_grow_with_page_size(firms, login_as, sort):
    client = login_as(make_user("bureau"))
    with count_queries() as small:
        assert client.get(f"/enterprises/?sort={sort}&size=2").status_code == 200
    with count_queries() as large:
        assert client.get(f"/enterprises/?sort={sort}&size=16").status_code == 200
    assert len(large) == len(small)


@pytest.mark.parametrize("sparse", [True, False])
@pytest.mark.parametrize("sort", ["name", "-name", "-updated"])
def test_a_name_search_pages_like_the_plain_list(firms, monkeypatch, sparse, sort):
    """A name search read off the trigram matches (few matches, PostgreSQL) or in list order
    (many) gives the same firms in the same order, forwards and back, as the plain filter."""
    monkeypatch.setattr(queries, "SPARSE_MATCHES", 1000 if sparse else 0)
    user = make_user("bureau")
    filters = queries.EnterpriseFilters(q="科技", sort=sort)
    seen, after = [], None
    while True:
        page = queries.page(user, filters, size=2, after=after)
        seen += [f.id for f in page.items]
        if not page.next_cursor:
            break
        after = page.next_cursor
    expected = [i for i in _expected(sort) if "科技" in db.session.get(Enterprise, i).name]
    assert seen == expected and len(expected) > 2
    back, before = [], page.prev_cursor
    while before:
        page = queries.page(user, filters, size=2, before=before)
        back = [f.id for f in page.items] + back
        before = page.prev_cursor
    assert back + seen[len(back):] == seen
