"""The navbar search: what it finds, for whom, and that it stays a few bounded queries."""

from __future__ import annotations

from datetime import date

import pytest

from tests.conftest import count_queries
from tests.factories import make_carrier, make_enterprise, make_tenancy, make_user, valid_uscc
from tracker.enterprises import services
from tracker.extensions import db
from tracker.ladder.models import Qualification
from tracker.names import name_search_terms, pinyin_keys, pinyin_query
from tracker.search import queries


@pytest.fixture
def firms():
    """天津北洋能源 in 高新区, a full-width brand name in 泰达, and a carrier and a certificate."""
    beiyang = make_enterprise(name="天津北洋能源科技有限公司", zone="hitech",
                              uscc=valid_uscc(424242))
    brand = make_enterprise(name="天津ＡＢＣ智造科技有限公司", zone="teda")
    db.session.add(Qualification(enterprise_id=beiyang.id, kind="hnte", number="GR202312000777",
                                 granted_on=date(2023, 12, 1), valid_until=date(2026, 11, 30)))
    carrier = make_carrier(name="北洋创新孵化器", zone="hitech")
    db.session.flush()
    return {"beiyang": beiyang, "brand": brand, "carrier": carrier}


def _names(found) -> set[str]:
    return {f.name for f in found.firms}


def test_pinyin_keys_spell_the_name_and_keep_latin_pieces():
    assert pinyin_keys("天津北洋能源科技有限公司") == (
        "tianjinbeiyangnengyuankejiyouxiangongsi", "tjbynykjyxgs")
    assert pinyin_keys("天津ＡＢＣ（滨海）科技") == ("tianjinabcbinhaikeji", "tjabcbhkj")
    assert pinyin_keys("") == ("", "")


def test_keys_follow_every_rename(firms):
    firm = firms["beiyang"]
    assert firm.name_initials == "tjbynykjyxgs"
    services.update_enterprise(firm, {"name": "天津渤海能源有限公司"}, expected_version=None)
    db.session.flush()
    assert (firm.name_pinyin, firm.name_initials) == ("tianjinbohainengyuanyouxiangongsi",
                                                      "tjbhnyyxgs")


@pytest.mark.parametrize("q", ["tjbyny", "TJBYNY", "ｔｊｂｙｎｙ", "tianjinbeiyang", "tj by ny"])
def test_pinyin_and_initials_find_the_firm(firms, q):
    found = queries.search(make_user("bureau"), q)
    assert "天津北洋能源科技有限公司" in _names(found)


@pytest.mark.parametrize("q", ["北洋能源", "ＡＢＣ智造", "abc智造", "ABC"])
def test_part_of_the_name_full_or_half_width(firms, q):
    found = queries.search(make_user("bureau"), q)
    expected = "天津北洋能源科技有限公司" if "北洋" in q else "天津ABC智造科技有限公司"
    assert expected in _names(found), q


@pytest.mark.parametrize("q", ["beiyang", "BeiYang", "nengyuankeji", "byny", "bynykj"])
def test_a_part_of_the_pinyin_inside_the_name_finds_the_firm(firms, q):
    """Most names start 天津…: the distinctive part is typed in pinyin or initials, anywhere."""
    found = queries.search(make_user("bureau"), q)
    assert "天津北洋能源科技有限公司" in _names(found), q


def test_firms_whose_keys_start_with_the_query_come_before_those_containing_it(firms):
    user = make_user("bureau")
    for i in range(queries.LIMIT + 5):
        make_enterprise(name=f"阿北洋{i:02d}科技有限公司")  # abeiyang…: before beiyang…
    db.session.flush()
    found = queries.search(user, "beiyang")
    assert len(found.firms) == queries.LIMIT and found.more_firms
    # nothing starts with "beiyang", so pinyin order decides among the infix matches
    assert found.firms[0].name == "阿北洋00科技有限公司"
    make_enterprise(name="北洋集团")
    db.session.flush()
    assert queries.search(user, "beiyang").firms[0].name == "北洋集团"


@pytest.mark.parametrize("q", ["by", "tj"])
def test_two_letters_match_the_start_only(firms, q):
    """A short fragment sits inside nearly every name; it is read as the start of one."""
    found = queries.search(make_user("bureau"), q)
    assert all(f.name_pinyin.startswith(q) or f.name_initials.startswith(q) for f in found.firms)


def test_uscc_prefix_and_certificate_number(firms):
    user = make_user("bureau")
    code = firms["beiyang"].uscc
    assert _names(queries.search(user, code[:10])) >= {"天津北洋能源科技有限公司"}
    assert _names(queries.search(user, code.lower())) == {"天津北洋能源科技有限公司"}
    found = queries.search(user, "GR2023120007")
    assert [c.number for c in found.certificates] == ["GR202312000777"]
    assert found.certificates[0].enterprise.name == "天津北洋能源科技有限公司"


def test_carriers_are_found_by_name(firms):
    found = queries.search(make_user("bureau"), "北洋创新")
    assert [c.name for c in found.carriers] == ["北洋创新孵化器"]


def test_results_are_scoped_by_role(firms):
    teda = make_user("zone", zone="teda")
    found = queries.search(teda, "tjbyny")
    assert "天津北洋能源科技有限公司" not in _names(found)
    assert not queries.search(teda, "GR2023120007").certificates
    assert not queries.search(teda, "北洋创新").carriers
    manager = make_user("carrier_manager", carrier_id=firms["carrier"].id)
    assert not queries.search(manager, "tjbyny").firms
    make_tenancy(firms["beiyang"], firms["carrier"], date(2024, 1, 1))
    assert _names(queries.search(manager, "tjbyny")) == {"天津北洋能源科技有限公司"}
    assert not queries.search(None, "tjbyny").firms


def test_query_forms():
    assert pinyin_query("Tj BY") == "tjby"
    assert pinyin_query("天津") == "" and pinyin_query("2023") == ""
    assert queries.code_query("9112 0116") == "91120116"
    assert queries.code_query("tjbyny") == ""
    # folded once: the full-width query and its bracket-folded form, nothing else
    assert name_search_terms("ＡＢＣ（滨海）") == ["ABC（滨海）", "ABC(滨海)"]
    assert name_search_terms("  ") == []


def test_search_costs_a_bounded_number_of_queries(firms):
    user = make_user("bureau")
    for i in range(30):
        make_enterprise(name=f"天津北洋{i:02d}号科技有限公司")
    db.session.flush()
    with count_queries() as few:
        queries.search(user, "tjby")
    found = queries.search(user, "tjby")
    assert len(found.firms) == queries.LIMIT and found.more_firms
    with count_queries() as many:
        queries.search(user, "tjby")
    assert len(many) == len(few) <= 6


def test_results_page_groups_by_kind_and_works_as_a_plain_get(firms, login_as):
    client = login_as(make_user("bureau"))
    page = client.get("/search/?q=tjbyny").get_data(as_text=True)
    assert 'id="search-firms"' in page and "天津北洋能源科技有限公司" in page
    page = client.get("/search/?q=GR2023").get_data(as_text=True)
    assert 'id="search-certificates"' in page and "GR202312000777" in page
    page = client.get("/search/?q=北洋").get_data(as_text=True)
    assert 'id="search-carriers"' in page and 'id="search-firms"' in page
    page = client.get("/search/?q=无此企业zzz").get_data(as_text=True)
    assert 'id="search-empty"' in page
    assert client.get("/search/").status_code == 200
    # the box is in the navbar of every page
    assert 'action="/search/"' in client.get("/enterprises/").get_data(as_text=True)
