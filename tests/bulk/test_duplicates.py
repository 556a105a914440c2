"""Likely duplicates: one name key for spellings of one firm; legacy records with bad codes."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from tests.factories import make_enterprise, make_user
from tracker.bulk import duplicates
from tracker.enterprises.models import Enterprise
from tracker.extensions import db
from tracker.names import name_key


@pytest.mark.parametrize(("a", "b"), [
    ("ＡＢＣ科技有限公司", "ABC科技有限公司"),  # full-width and half-width letters
    ("abc科技有限公司", "ABC 科技有限公司"),  # case and spaces
    ("北洋能源（天津）有限公司", "北洋能源(天津)有限公司"),  # full-width and ASCII brackets
    ("北洋能源【天津】有限公司", "北洋能源天津有限公司"),  # brackets dropped, content kept
    ("北洋能源科技有限公司", "北洋能源科技有限责任公司"),
    ("北洋能源科技股份有限公司", "北洋能源科技"),
    ("北洋能源科技有限公司", "北洋能源科技公司"),
    ("Beiyang Energy Co., Ltd.", "BEIYANG ENERGY"),
])
def test_spellings_of_one_firm_share_a_key(a, b):
    assert name_key(a) == name_key(b)


@pytest.mark.parametrize(("a", "b"), [
    ("北洋能源科技有限公司", "北洋化工科技有限公司"),
    ("北洋能源（天津）有限公司", "北洋能源（北京）有限公司"),
])
def test_different_firms_keep_different_keys(a, b):
    assert name_key(a) != name_key(b)


def test_a_suffix_alone_is_not_stripped_to_nothing():
    assert name_key("有限公司") == "有限公司"


def test_groups_by_stored_key_paged_and_without_merged_records():
    bureau = make_user("bureau")
    first = make_enterprise(name="北洋能源科技有限公司")
    second = make_enterprise(name="北洋能源科技（股份）有限责任公司".replace("（股份）", ""))
    make_enterprise(name="独一无二科技有限公司")
    third = make_enterprise(name="ＡＢＣ科技有限公司")
    fourth = make_enterprise(name="abc 科技")
    groups, after = duplicates.name_groups(bureau, size=1)
    assert [{f.id for f in g.firms} for g in groups] == [{third.id, fourth.id}]
    groups, after = duplicates.name_groups(bureau, after=after, size=1)
    assert [{f.id for f in g.firms} for g in groups] == [{first.id, second.id}]
    assert after is None
    second.merged_into_id = first.id
    db.session.flush()
    groups, _after = duplicates.name_groups(bureau)
    assert [{f.id for f in g.firms} for g in groups] == [{third.id, fourth.id}]


def test_the_key_follows_a_renamed_firm():
    firm = make_enterprise(name="旧名科技有限公司")
    firm.name = "新名科技（天津）有限公司"
    db.session.flush()
    assert firm.name_key == "新名科技天津"


def test_legacy_records_are_the_firms_whose_code_fails_the_check():
    bureau = make_user("bureau")
    good = make_enterprise(name="合规科技有限公司")
    legacy = make_enterprise(name="合规科技（天津）有限公司")
    # a record from before the check existed: stored as typed, the key set by the save
    db.session.execute(update(Enterprise).where(Enterprise.id == legacy.id)
                       .values(uscc="12120116A00000000X"))
    legacy.uscc = "12120116A00000001X"
    db.session.flush()
    assert legacy.uscc_valid is False and good.uscc_valid is True
    rows, after = duplicates.legacy_records(bureau)
    assert [(f.id, n, other) for f, n, other in rows] == [(legacy.id, 0, None)]
    good.name = "合规科技天津有限公司"
    db.session.flush()
    rows, _after = duplicates.legacy_records(bureau)
    assert [(f.id, n, other) for f, n, other in rows] == [(legacy.id, 1, good.id)]


def test_the_duplicate_query_reads_the_index_not_every_name():
    """The GROUP BY runs on the stored key: the plan names the key's index (SQLite)."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("plan text checked on SQLite only")
    bureau = make_user("bureau")
    make_enterprise(name="计划科技有限公司")
    from sqlalchemy import func, select, text

    query = (select(Enterprise.name_key).where(*duplicates._candidates(bureau))
             .group_by(Enterprise.name_key).having(func.count() > 1))
    compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
    plan = " ".join(str(r) for r in db.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
    assert "ix_enterprises_name_key" in plan
