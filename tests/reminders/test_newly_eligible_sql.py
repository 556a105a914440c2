"""'Newly eligible' is one set-based SELECT over the stored verdicts: the same rows as a plain
reading of the rule, at the edges of every date it compares, and no firm or title loaded."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event, select

from tests.factories import make_enterprise, make_user
from tests.reminders.conftest import make_qualification
from tests.reminders.test_eligibility import give_tech_sme_figures
from tracker.clock import frozen
from tracker.enterprises import services as enterprises
from tracker.enterprises.models import Enterprise
from tracker.extensions import db
from tracker.ladder import validity
from tracker.ladder.models import EligibilityResult, Qualification
from tracker.reminders.eligibility import next_rung
from tracker.reminders.models import Reminder, ReminderRule
from tracker.reminders.sweep import plan, run_sweep

#: the stored verdicts' day and the last day they hold
AS_OF, THROUGH = date(2026, 6, 10), date(2026, 6, 20)
#: a title of the next rung granted, expiring or revoked on these days
GRANTED, EXPIRES, REVOKED = date(2026, 6, 12), date(2026, 6, 14), date(2026, 6, 16)


def _store(firm: Enterprise, kind: str, verdict: str = "eligible", as_of: date = AS_OF,
           valid_through: date | None = THROUGH) -> None:
    db.session.add(EligibilityResult(enterprise_id=firm.id, kind=kind, verdict=verdict,
                                     as_of=as_of, valid_through=valid_through, result={}))


@pytest.fixture
def register(rules):
    """Firms around every edge the rule reads; each firm's next rung has a stored verdict
    unless said otherwise."""
    officer = make_user("bureau", name="王专员")
    firms: dict[str, Enterprise] = {}

    def add(name: str, rung: str | None = None, *, stored: bool = True,
            verdict: str = "eligible", valid_through: date | None = THROUGH) -> Enterprise:
        firms[name] = firm = make_enterprise(officer_id=officer.id)
        firm.current_rung = rung
        if next_rung(rung) and stored:
            _store(firm, next_rung(rung), verdict, valid_through=valid_through)
        return firm

    add("plain")  # no rung: tech_sme next
    add("chuying next", "tech_sme")
    add("leader cultivation next", "hnte")
    add("unknown rung", "something_else")  # not a rung: tech_sme next, as next_rung() says
    add("top rung", "leader")  # nothing above
    add("ineligible", verdict="ineligible")
    add("needs review", verdict="needs_review")
    add("kept before windows", valid_through=None)  # holds on its as_of only
    give_tech_sme_figures(add("no verdict", stored=False))  # would pass if evaluated
    inactive = add("inactive")
    inactive.status = "archived"
    stale = add("stale")
    stale.eligibility_stale_since = datetime(2026, 6, 1, tzinfo=UTC)
    # a stored verdict for another rung than the next one says nothing
    other = add("verdict for another rung", "tech_sme", stored=False)
    _store(other, "hnte")
    # titles of the next rung on the edge days
    make_qualification(add("granted mid-window"), kind="tech_sme", number=None,
                       granted_on=GRANTED, valid_until=date(2026, 12, 31))
    make_qualification(add("expires mid-window"), kind="tech_sme", number=None,
                       granted_on=date(2026, 1, 5), valid_until=EXPIRES)
    make_qualification(add("revoked mid-window"), kind="tech_sme", number=None,
                       granted_on=date(2026, 1, 5), valid_until=date(2026, 12, 31),
                       revoked_on=REVOKED)
    make_qualification(add("open-ended title", "chuying"), kind="dengling", number=None,
                       granted_on=date(2025, 3, 1), valid_until=None)
    # a title of another rung does not stop the reminder
    make_qualification(add("holds a lower title"), kind="hnte", number=None,
                       granted_on=date(2025, 3, 1), valid_until=date(2027, 12, 31))
    enterprises.save_contact(firms["plain"], {"name": "张伟", "email": "zhang@firm.example",
                                              "receives_reminders": True})
    db.session.flush()
    return {"firms": firms, "officer": officer}


def _oracle(day: date) -> set[tuple[int, str]]:
    """The rule read plainly, firm by firm, from ORM objects."""
    due = set()
    for firm in db.session.scalars(select(Enterprise)):
        nxt = next_rung(firm.current_rung)
        if firm.status != "active" or nxt is None or firm.eligibility_stale_since is not None:
            continue
        stored = db.session.scalar(select(EligibilityResult).where(
            EligibilityResult.enterprise_id == firm.id, EligibilityResult.kind == nxt))
        if stored is None or stored.verdict != "eligible":
            continue
        if not stored.as_of <= day <= (stored.valid_through or stored.as_of):
            continue
        titles = db.session.scalars(select(Qualification).where(
            Qualification.enterprise_id == firm.id, Qualification.kind == nxt))
        if any(validity.status_on(q, day) == "valid" for q in titles):
            continue
        due.add((firm.id, f"rung:{nxt}"))
    return due


EDGE_DAYS = sorted({AS_OF - timedelta(days=1), AS_OF, AS_OF + timedelta(days=1),
                    GRANTED - timedelta(days=1), GRANTED, EXPIRES, EXPIRES + timedelta(days=1),
                    REVOKED - timedelta(days=1), REVOKED, THROUGH, THROUGH + timedelta(days=1)})


@pytest.mark.parametrize("day", EDGE_DAYS)
def test_the_finder_gives_the_plain_reading_of_the_rule(register, day):
    with frozen(day):
        due = [r for r in plan(day) if r["kind"] == "newly_eligible"]
        expected = _oracle(day)
    assert {(r["subject_id"], r["step"]) for r in due} == expected
    assert {r["due_on"] for r in due} <= {f"{day.year}-01-01"}
    officer = register["officer"]
    assert {(r["recipient_type"], r["recipient_id"], r["to"]) for r in due} <= {
        ("user", officer.id, officer.email)}


def test_the_edges_are_really_exercised(register):
    """The fixture is only worth its name if the expected set changes across the edges."""
    seen = {day: frozenset(_oracle(day)) for day in EDGE_DAYS}
    assert len(set(seen.values())) >= 5
    firms = register["firms"]
    on_as_of = {firm for firm, _ in seen[AS_OF]}
    assert firms["plain"].id in on_as_of and firms["kept before windows"].id in on_as_of
    assert firms["granted mid-window"].id in on_as_of
    assert not on_as_of & {firms[n].id for n in ("no verdict", "stale", "inactive", "top rung",
                                                 "ineligible", "open-ended title")}


def test_the_sweep_writes_those_rows_once_to_the_officer(register):
    day = AS_OF
    with frozen(day):
        expected = _oracle(day)
        run_sweep(day)
        again = run_sweep(day)
    rows = db.session.execute(select(
        Reminder.subject_id, Reminder.occurrence_tag, Reminder.occurrence_on,
        Reminder.recipient_type, Reminder.subject_type).join(ReminderRule).where(
        ReminderRule.kind == "newly_eligible")).all()
    assert {(r.subject_id, r.occurrence_tag) for r in rows} == expected
    assert len(rows) == len(expected)  # one officer each, once
    assert {(r.occurrence_on, r.recipient_type, r.subject_type) for r in rows} == {
        (date(2026, 1, 1), "user", "enterprise")}
    assert again.get("newly_eligible", 0) == 0
    # the targeted sweep after a save sees the same rows for its firms only
    db.session.execute(Reminder.__table__.delete())
    plain = register["firms"]["plain"].id
    with frozen(day):
        assert run_sweep(day, [plain]).get("newly_eligible") == 1


def test_the_sweep_loads_no_firm_or_title_and_runs_no_rule(register, monkeypatch):
    """At 500,000 firms 228,000 were eligible at once: each read back as Python rows, their
    titles loaded as ORM objects (and unstored verdicts evaluated) cost 110 s and 4.5 GB.
    The finder is one INSERT … SELECT over the stored verdicts; a firm without a stored
    verdict holding that day waits for the ladder to store one (the after-save pipeline or the
    stale catch-up), and the next five-minutely sweep reminds it."""
    import tracker.ladder.rules as ladder_rules

    def no_rules(*_a, **_k):
        raise AssertionError("the sweep ran the eligibility rules")

    monkeypatch.setattr(ladder_rules, "evaluate", no_rules)
    for module in ("tracker.reminders.eligibility", "tracker.ladder.results"):
        mod = __import__(module, fromlist=["evaluate"])
        if hasattr(mod, "evaluate"):
            monkeypatch.setattr(mod, "evaluate", no_rules)
    db.session.expire_all()
    loaded: list[str] = []

    def on_load(target, _context):
        loaded.append(type(target).__name__)

    event.listen(Qualification, "load", on_load)
    event.listen(Enterprise, "load", on_load)
    try:
        with frozen(AS_OF):
            run_sweep(AS_OF)
    finally:
        event.remove(Qualification, "load", on_load)
        event.remove(Enterprise, "load", on_load)
    assert loaded == []
    made = set(db.session.scalars(select(Reminder.subject_id).join(ReminderRule).where(
        ReminderRule.kind == "newly_eligible")))
    assert register["firms"]["no verdict"].id not in made
