"""Merging two records of one firm moves every child row, and undoing it restores both exactly."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.factories import make_carrier, make_enterprise, make_user, valid_uscc
from tracker.audit.models import AuditEvent
from tracker.bulk import merge
from tracker.bulk.models import MergeRecord
from tracker.clock import frozen
from tracker.enterprises import services as enterprises
from tracker.enterprises.models import Enterprise
from tracker.extensions import db
from tracker.incubation import services as incubation
from tracker.integrity.checks import INVARIANTS, run_checks
from tracker.ladder import services as ladder
from tracker.reminders.models import Filing, OutboxMessage, Reminder, ReminderRule

DAY = date(2026, 6, 30)
#: columns that change on every write by design (the lock counter, the write time)
VOLATILE = {"version", "updated_at", "eligibility_stale_since"}


@pytest.fixture
def day():
    """Freeze the clock on a working day in 2026."""
    with frozen(DAY):
        yield DAY


def _children(firm, n: int, rule: ReminderRule, carrier, moved_in: date) -> None:
    """One row of every child kind on `firm`."""
    enterprises.save_contact(firm, {"name": f"联系人{n}", "email": f"c{n}@firm.example",
                                    "receives_reminders": True})
    enterprises.save_metrics(firm, 2024, {"employees": 10 * n, "revenue": Decimal(1000 * n)})
    enterprises.save_metrics(firm, 2020 + n, {"employees": n})
    enterprises.add_activity(firm, {"kind": "note", "subject": f"走访{n}"}, created_by_id=None)
    ladder.grant_qualification(firm, "tech_sme" if n == 1 else "hnte", f"NO{n}",
                               date(2023 + n, 3, 1))
    ladder.create_application(firm, {"kind": "dengling", "year": 2026})
    incubation.open_tenancy(firm, carrier, moved_in)
    db.session.add(Filing(enterprise_id=firm.id, kind="hnte_annual_report", year=2025,
                          filed_on=date(2026, 5, n)))
    db.session.add(Filing(enterprise_id=firm.id, kind="tenant_report", year=2020 + n,
                          filed_on=date(2026, 5, n)))
    db.session.flush()
    reminder = Reminder(rule_id=rule.id, subject_type="enterprise", subject_id=firm.id,
                        occurrence_on=date(2026, 7, n), occurrence_tag=f"d{n}",
                        recipient_type="user", recipient_id=n, to_address=f"u{n}@x.example",
                        enterprise_id=firm.id)
    db.session.add(reminder)
    db.session.flush()
    db.session.add(OutboxMessage(reminder_id=reminder.id, message_id=f"<m{n}@x>",
                                 to_address="u@x.example", subject="提醒", body_text="正文",
                                 transport="test", enterprise_id=firm.id))
    db.session.flush()


@pytest.fixture
def pair(day):
    """Two records of one firm, each with one row of every child kind, committed."""
    rule = ReminderRule(code="merge-test", name="测试", kind="digest", offsets=[],
                        recipients=[], template="digest", enabled=False)
    db.session.add(rule)
    carrier = make_carrier()
    officer = make_user("bureau", name="王专员")
    keep = make_enterprise(name="天津北洋能源科技有限公司", uscc=valid_uscc(81001),
                           officer_id=officer.id)
    gone = make_enterprise(name="天津北洋能源科技（天津）有限责任公司", zone="teda",
                           uscc=valid_uscc(81002), website="https://by.example")
    db.session.flush()
    _children(keep, 1, rule, carrier, date(2022, 1, 1))
    for tenancy in keep.tenancies:  # stays must not overlap: the survivor's ended first
        incubation.close_tenancy(tenancy, "exit", date(2022, 12, 31), reason="迁出")
    _children(gone, 2, rule, carrier, date(2023, 1, 1))
    db.session.commit()
    return keep, gone


def dump(*firms: Enterprise, audit_before: int | None = None) -> dict:
    """Both firms and every child row, by table, minus the columns every write changes."""
    ids = [f.id for f in firms]
    out: dict = {}
    table = Enterprise.__table__
    out["enterprises"] = sorted(
        ({k: v for k, v in merge.row_dict(table, r).items() if k not in VOLATILE}
         for r in db.session.execute(select(table).where(table.c.id.in_(ids)))),
        key=lambda d: d["id"])
    for model, column in merge.CHILD_TABLES:
        t = model.__table__
        query = select(t).where(t.c[column].in_(ids))
        if model is AuditEvent and audit_before is not None:
            query = query.where(t.c.id <= audit_before)
        out[t.name] = sorted(
            ({k: v for k, v in merge.row_dict(t, r).items()
              if k not in VOLATILE and not (t.name == "stage_transitions" and k == "recorded_at")}
             for r in db.session.execute(query)), key=lambda d: d["id"])
    return out


def _clean() -> None:
    report = run_checks(list(INVARIANTS))
    assert report.ok, report.as_dict()


def test_merge_moves_every_child_kind_and_the_check_stays_clean(pair):
    keep, gone = pair
    before = dump(keep, gone)
    assert all(before[t] for t in before), [t for t in before if not before[t]]
    _clean()
    record = merge.merge_enterprises(keep, gone, {"website": "loser", "year:2024": "loser"})
    db.session.commit()
    after = dump(keep, gone)
    for model, column in merge.CHILD_TABLES:
        name = model.__table__.name
        assert not [r for r in after[name] if r[column] == gone.id
                    and not (name == "audit_events" and r["id"] > max(
                        e["id"] for e in before["audit_events"]))], name
        assert record.moved[name], f"nothing of {name} moved"
    assert keep.website == "https://by.example"  # per-field choice: the other side's value
    assert keep.name == "天津北洋能源科技有限公司"  # not chosen: the survivor's own
    year_2024 = [r for r in after["annual_metrics"] if r["fiscal_year"] == 2024]
    assert [r["employees"] for r in year_2024] == [20]  # the chosen side's figures won
    assert [r["employees"] for r in record.removed["annual_metrics"]] == [10]
    assert [r["year"] for r in record.removed["reminder_filings"]] == [2025]  # survivor's won
    assert {r["fiscal_year"] for r in after["annual_metrics"]} == {2021, 2022, 2024}
    assert gone.status == "archived" and gone.merged_into_id == keep.id
    assert keep.current_rung == "hnte"  # the titles moved and the ladder was rebuilt
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.batch_id == record.batch_id, AuditEvent.action == "merge")).all()
    assert {e.enterprise_id for e in events} == {keep.id, gone.id}
    _clean()


def test_undo_restores_both_records_and_every_child_exactly(pair):
    keep, gone = pair
    audit_max = db.session.scalar(select(db.func.max(AuditEvent.id)))
    before = dump(keep, gone, audit_before=audit_max)
    record = merge.merge_enterprises(keep, gone, {"uscc": "loser", "name": "loser",
                                                  "zone": "loser", "year:2024": "loser"})
    db.session.commit()
    assert keep.uscc == valid_uscc(81002) and gone.uscc != valid_uscc(81002)
    merge.undo_merge(record)
    db.session.commit()
    assert dump(keep, gone, audit_before=audit_max) == before
    assert record.undone_at is not None
    assert db.session.scalar(select(db.func.count()).select_from(AuditEvent).where(
        AuditEvent.batch_id == record.batch_id, AuditEvent.action == "unmerge")) == 2
    _clean()
    with pytest.raises(merge.MergeError):
        merge.undo_merge(record)


def test_overlapping_stays_refuse_the_merge(day):
    carrier = make_carrier()
    a, b = make_enterprise(), make_enterprise()
    incubation.open_tenancy(a, carrier, date(2024, 1, 1))
    incubation.open_tenancy(b, carrier, date(2025, 1, 1))
    with pytest.raises(merge.MergeError) as refused:
        merge.merge_enterprises(a, b, {})
    assert "tenancies" in refused.value.errors
    assert db.session.scalar(select(db.func.count()).select_from(MergeRecord)) == 0


def test_a_merged_record_cannot_be_merged_again_and_undo_goes_newest_first(day):
    a, b, c = make_enterprise(), make_enterprise(), make_enterprise()
    first = merge.merge_enterprises(a, b, {})
    with pytest.raises(merge.MergeError):
        merge.merge_enterprises(c, b, {})
    second = merge.merge_enterprises(a, c, {})
    with pytest.raises(merge.MergeError) as refused:
        merge.undo_merge(first)
    assert f"#{second.id}" in refused.value.errors["merge"]
    merge.undo_merge(second)
    merge.undo_merge(first)
    assert {b.status, c.status} == {"active"}


def test_rows_added_after_the_merge_stay_with_the_survivor_on_undo(day):
    keep, gone = make_enterprise(), make_enterprise()
    old = enterprises.save_contact(gone, {"name": "旧联系人", "receives_reminders": False})
    record = merge.merge_enterprises(keep, gone, {})
    new = enterprises.save_contact(keep, {"name": "新联系人", "receives_reminders": False})
    merge.undo_merge(record)
    db.session.expire_all()
    assert (old.enterprise_id, new.enterprise_id) == (gone.id, keep.id)


def test_the_invariant_finds_a_row_left_on_a_merged_record_and_a_live_one(day):
    keep, gone = make_enterprise(), make_enterprise()
    merge.merge_enterprises(keep, gone, {})
    assert run_checks(["merged_records_emptied"]).ok
    enterprises.save_contact(gone, {"name": "遗留联系人", "receives_reminders": False})
    gone.status = "active"
    db.session.flush()
    found = [(v.subject, v.detail) for v in run_checks(["merged_records_emptied"]).violations]
    assert found == [(f"enterprise:{gone.id}", f"merged into #{keep.id} but active"),
                     (f"enterprise:{gone.id}", "merged away but still holds 1 contacts row(s)")]
