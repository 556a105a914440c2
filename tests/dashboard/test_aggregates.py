"""The maintained dashboard figures (issues 14 and 12): every aggregate equals the
straightforward query over the same firms, bureau-wide and in a zone officer's scope, right
after a full refresh and after each kind of change the after-save pipeline recounts (a grant,
a revoke, an import, a zone move), and they stop being used when a date makes them wrong.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from tests.factories import make_enterprise, make_user, valid_uscc
from tests.imports.helpers import run_file
from tracker.accounts.scope import enterprise_scope
from tracker.clock import frozen
from tracker.dashboard import aggregates, charts, history, ledger_counts, queries, stays
from tracker.dashboard.models import AggregateState
from tracker.extensions import db
from tracker.ladder import cards as ladder_cards
from tracker.ladder import services as ladder
from tracker.ladder.models import Application, EligibilityResult, Qualification
from tracker.reminders.defaults import seed_rules
from tracker.reminders.models import STATUSES, Reminder, ReminderRule

DAY = date(2026, 12, 1)
SCOPES = ("bureau", "hitech", "teda")


@pytest.fixture
def users():
    with frozen(DAY):
        return {"bureau": make_user("bureau"), "hitech": make_user("zone", zone="hitech"),
                "teda": make_user("zone", zone="teda")}


@pytest.fixture
def world(users):
    """Seven firms, hand-written titles (clock frozen on DAY), committed through the pipeline.

    A hitech: tech-SME 2024-03-10 (to 2024-12-31), HNTE 2025-02-01 (to 2028-01-31)
    B teda:   tech-SME 2024-05-01 (to 2024-12-31), HNTE 2026-06-01 (to 2029-05-31)
    C hitech: tech-SME 2026-04-01 (to 2026-12-31)
    D teda:   HNTE 2023-12-01 (to 2026-12-01: its last valid day is DAY)
    E teda:   HNTE 2024-03-01 (to 2027-02-28), 科技领军培育 2025-05-01 (to 2027-04-30)
    F hitech: 雏鹰 2025-07-01 (to 2027-06-30); candidate for HNTE
    G hitech: archived, HNTE 2024-01-01 (never counted)

    Applications: A HNTE planned; B HNTE and 瞪羚 planned (one firm); E 雏鹰 preparing;
    G planned (archived: not counted). The ledger: A 2 sent, 1 failed; D 1 pending; G 1 sent
    (an archived firm's reminders stay in the ledger's scope); the bureau user's digest (no
    firm) sent; the hitech officer's own copy about E (teda) failed.
    """
    with frozen(DAY):
        firms = {name: make_enterprise(zone=zone, name=f"聚合测试{name}有限公司")
                 for name, zone in (("A", "hitech"), ("B", "teda"), ("C", "hitech"),
                                    ("D", "teda"), ("E", "teda"), ("F", "hitech"),
                                    ("G", "hitech"))}
        for name, kind, granted, until in (
                ("A", "tech_sme", date(2024, 3, 10), date(2024, 12, 31)),
                ("A", "hnte", date(2025, 2, 1), date(2028, 1, 31)),
                ("B", "tech_sme", date(2024, 5, 1), date(2024, 12, 31)),
                ("B", "hnte", date(2026, 6, 1), date(2029, 5, 31)),
                ("C", "tech_sme", date(2026, 4, 1), date(2026, 12, 31)),
                ("D", "hnte", date(2023, 12, 1), date(2026, 12, 1)),
                ("E", "hnte", date(2024, 3, 1), date(2027, 2, 28)),
                ("E", "leader_cultivation", date(2025, 5, 1), date(2027, 4, 30)),
                ("F", "chuying", date(2025, 7, 1), date(2027, 6, 30)),
                ("G", "hnte", date(2024, 1, 1), date(2026, 12, 31))):
            ladder.grant_qualification(firms[name], kind, None, granted, until)
        for name, kind, status in (("A", "hnte", "planned"), ("B", "hnte", "planned"),
                                   ("B", "dengling", "planned"), ("E", "chuying", "preparing"),
                                   ("G", "hnte", "planned")):
            db.session.add(Application(enterprise_id=firms[name].id, kind=kind, year=2026,
                                       status=status))
        seed_rules()
        for firm, status, tag in ((firms["A"], "sent", "a1"), (firms["A"], "sent", "a2"),
                                  (firms["A"], "failed", "a3"), (firms["D"], "pending", "d1"),
                                  (firms["G"], "sent", "g1")):
            add_reminder(firm, status, tag)
        add_reminder(None, "sent", "digest", user=users["bureau"])
        add_reminder(firms["E"], "failed", "copy", user=users["hitech"])
        firms["G"].status = "archived"
        db.session.commit()
        make_candidate(firms["F"], "hnte")
        aggregates.refresh()
        db.session.commit()
        yield firms


def add_reminder(firm, status: str, tag: str, user=None) -> Reminder:
    """One ledger row about `firm` (or about no firm) to a contact, or to `user` (their own)."""
    rule_id = db.session.scalar(select(ReminderRule.id).order_by(ReminderRule.id).limit(1))
    reminder = Reminder(
        rule_id=rule_id, subject_type="enterprise" if firm else "user",
        subject_id=firm.id if firm else user.id, occurrence_on=DAY, occurrence_tag=tag,
        recipient_type="user" if user else "contact", recipient_id=user.id if user else firm.id,
        to_address=user.email if user else f"{tag}@firm.example",
        enterprise_id=firm.id if firm else None, status=status)
    db.session.add(reminder)
    db.session.flush()
    return reminder


def straightforward(user) -> dict:
    """Every figure the dashboard shows, from the plain queries over the firms in scope."""
    scope = enterprise_scope(user)
    return {"firms": queries.active_counts_live(user),
            "holders": queries.holders_live(user, DAY),
            "candidates": ladder_cards.candidates_live(user),
            "funnel": history.funnel_counts(scope),
            "stays": history.median_stays(scope),
            "expiring": {m: n for m, n in charts.expiring_live(user).items() if n},
            "applications": {s: n for s, n in charts.applications_live(user).items() if n},
            "reminders": ledger_counts.reminder_counts_live(user)}


def maintained(user) -> dict:
    return {"firms": {cell: n for cell, n in (aggregates.read(user, "firms") or {}).items()
                      if n},
            "holders": aggregates.holders(user),
            "candidates": aggregates.candidates(user),
            "funnel": aggregates.funnel_counts(user),
            "stays": stays.median_stays(user),
            "expiring": aggregates.expiring(user),
            "applications": aggregates.applications(user),
            "reminders": {s: n for s, n in ledger_counts.reminder_counts(user).items() if n}}


def assert_current_and_equal(users) -> None:
    from sqlalchemy import inspect

    from tracker.accounts.models import User

    assert aggregates.current_state() is not None, "the figures should be current"
    for scope in SCOPES:
        # by identity: an import job's own session handling may have detached the object
        user = db.session.get(User, inspect(users[scope]).identity[0])
        assert maintained(user) == straightforward(user), scope


def test_every_figure_equals_the_straightforward_query_in_each_scope(world, users):
    with frozen(DAY):
        assert_current_and_equal(users)
        bureau, hitech, teda = (users[s] for s in SCOPES)
        # hand-counted: D's title is valid through its last day; G is archived
        assert aggregates.holders(bureau) == {"hnte": 4, "tech_sme": 1, "chuying": 1,
                                              "leader_any": 1}
        assert aggregates.holders(hitech) == {"hnte": 1, "tech_sme": 1, "chuying": 1}
        assert aggregates.holders(teda) == {"hnte": 3, "leader_any": 1}
        assert aggregates.candidates(bureau) == {"hnte": 1}
        assert aggregates.candidates(teda) == {}
        funnel = aggregates.funnel_counts(bureau)
        # A: 2024-03-10 → HNTE 2025-02-01 (within a year); B: 2024-05-01 → 2026-06-01 (3)
        assert funnel[2024] == {"registered": 2, "1": 1, "2": 1, "3": 2}
        assert funnel[2026] == {"registered": 1, "1": 0, "2": 0, "3": 0}
        assert aggregates.funnel_counts(teda)[2024] == {"registered": 1, "1": 0, "2": 0,
                                                        "3": 1}
        # titles ending in the 12 months shown from today: C's tech-SME and D's HNTE end in
        # December (D's on DAY itself, its last valid day), E's HNTE in February, E's
        # 科技领军培育 in April, F's 雏鹰 in June 2027 (G archived; A, B end later)
        assert aggregates.expiring(bureau) == {"2026-12": 2, "2027-02": 1, "2027-04": 1,
                                               "2027-06": 1}
        assert aggregates.expiring(hitech) == {"2026-12": 1, "2027-06": 1}
        # firms per application status (B's two bids are one firm; G archived)
        assert aggregates.applications(bureau) == {"planned": 2, "preparing": 1}
        assert aggregates.applications(teda) == {"planned": 1, "preparing": 1}
        # reminders about the zone's firms (archived G's too) from the zone figures, the
        # officer's own copy about a teda firm and the bureau's digest counted beside them
        assert aggregates.sums(hitech, "reminders") == {("sent", None): 3, ("failed", None): 1}
        assert ledger_counts.reminder_counts(hitech) == {
            **dict.fromkeys(STATUSES, 0), "sent": 3, "failed": 2}
        assert ledger_counts.reminder_counts(bureau)["sent"] == 4
        # the dashboard's own readers answer from the maintained rows
        assert queries.holders_by_kind(teda, DAY) == {"hnte": 3, "leader_any": 1}


def test_a_grant_is_recounted_at_commit(world, users):
    with frozen(DAY):
        ladder.grant_qualification(world["C"], "hnte", None, date(2026, 11, 20),
                                   date(2029, 11, 19))
        db.session.commit()
        assert_current_and_equal(users)
        assert aggregates.holders(users["hitech"])["hnte"] == 2
        assert aggregates.holders(users["teda"])["hnte"] == 3


def test_a_revoke_is_recounted_at_commit(world, users):
    with frozen(DAY):
        title = db.session.scalar(select(Qualification).where(
            Qualification.enterprise_id == world["E"].id, Qualification.kind == "hnte"))
        ladder.revoke_qualification(title, DAY - timedelta(days=1), reason="复核不通过")
        db.session.commit()
        assert_current_and_equal(users)
        assert aggregates.holders(users["teda"]) == {"hnte": 2, "leader_any": 1}


def test_an_import_is_recounted_at_commit(world, users, tmp_path):
    from openpyxl import Workbook

    with frozen(DAY):
        workbook = Workbook()
        for row in (["统一社会信用代码", "证书编号", "发证日期"],
                    [world["F"].uscc, "GR202612000077", "2026-11-25"]):
            workbook.active.append(row)
        sheet = tmp_path / "titles.xlsx"
        workbook.save(sheet)
        job = run_file(sheet, "qualifications", user=users["bureau"],
                       qualification_kind="hnte")
        assert job.created == 1, job.errors
        db.session.commit()
        assert_current_and_equal(users)


def test_a_zone_move_recounts_both_zones(world, users):
    with frozen(DAY):
        world["E"].zone = "hitech"
        db.session.commit()
        assert_current_and_equal(users)
        assert aggregates.holders(users["teda"]) == {"hnte": 2}
        assert aggregates.holders(users["hitech"])["leader_any"] == 1


def test_a_new_firm_in_a_new_zone_is_counted(world, users):
    with frozen(DAY):
        firm = make_enterprise(zone="dongjiang", uscc=valid_uscc(88001))
        ladder.grant_qualification(firm, "tech_sme", None, date(2026, 3, 1), date(2026, 12, 31))
        db.session.commit()
        assert_current_and_equal(users)
        assert aggregates.holders(users["bureau"])["tech_sme"] == 2


def test_an_expiry_by_date_makes_the_figures_stale_until_the_nightly_refresh(world, users):
    after = DAY + timedelta(days=1)
    with frozen(after):
        # D's HNTE lapsed overnight without any write: yesterday's rows are not used
        assert aggregates.current_state() is None
        assert aggregates.holders(users["teda"]) is None
        assert queries.holders_by_kind(users["teda"], after) == {"hnte": 2, "leader_any": 1}
        aggregates.refresh()  # the nightly beat task / flask dashboard refresh-aggregates
        db.session.commit()
        assert aggregates.current_state() is not None
        assert aggregates.holders(users["teda"]) == {"hnte": 2, "leader_any": 1}
        for scope in SCOPES:
            user = users[scope]
            assert maintained(user)["holders"] == queries.holders_live(user, after), scope


def make_candidate(firm, kind: str) -> None:
    """The firm's stored result for `kind` says candidate, as the recompute stores it (the
    column the counts read), without a recount."""
    db.session.execute(
        EligibilityResult.__table__.update()
        .where(EligibilityResult.enterprise_id == firm.id, EligibilityResult.kind == kind)
        .values(candidate=True))


def counted_change_outside_the_pipeline(world) -> None:
    """A worker's recompute: firm A becomes a 雏鹰 candidate and the counts version moves on,
    with no recount; committed, and the figures then read as stale."""
    from tracker import snapshots

    make_candidate(world["A"], "chuying")
    snapshots.bump()
    db.session.commit()
    assert aggregates.current_state() is None


def test_a_counted_change_outside_the_pipeline_makes_them_stale(world, users):
    """A worker's recompute (counts version moved on, no recount): not shown until refreshed;
    the next commit does not paper over it either."""
    with frozen(DAY):
        counted_change_outside_the_pipeline(world)
        world["C"].name = "聚合测试C改名有限公司"
        db.session.commit()
        assert aggregates.current_state() is None
        assert ladder_cards.card_context(users["bureau"])["ladder_candidates"] == \
            ladder_cards.candidates_live(users["bureau"])
        aggregates.refresh()
        db.session.commit()
        assert_current_and_equal(users)


def test_scopes_that_are_not_zones_count_live(world):
    from tests.factories import make_carrier

    with frozen(DAY):
        manager = make_user("carrier_manager", carrier_id=make_carrier(zone="hitech").id)
        assert aggregates.read(manager, "holders") is None
        assert queries.holders_by_kind(manager, DAY) == {}


def test_the_dashboard_shows_the_zone_officers_figures_and_their_age(world, users, client):
    from tests.conftest import login

    with frozen(DAY):
        login(client, users["teda"])
        page = client.get("/")
        assert page.status_code == 200
        state = db.session.get(AggregateState, 1)
        assert state is not None and aggregates.current_state() is not None
        chart = client.get("/dashboard/charts/funnel.json").get_json()
        cohorts = chart["panels"][0]
        assert cohorts["categories"][-3:] == ["2024", "2025", "2026"] or "2024" in \
            cohorts["categories"]
        registered = dict(zip(cohorts["categories"], cohorts["series"][0]["values"],
                              strict=True))
        assert registered["2024"] == 1  # only teda's cohort (B), not hitech's A


def test_the_trend_charts_today_point_is_the_same_from_the_maintained_rows(world, users):
    from tracker import snapshots
    from tracker.dashboard import charts

    with frozen(DAY):
        kept = {scope: charts.trend_table(users[scope]) for scope in SCOPES}
        assert aggregates.current_state() is not None
        snapshots.bump()  # stale once committed: the same figures from the plain queries
        db.session.commit()
        assert aggregates.current_state() is None
        for scope in SCOPES:
            assert charts.trend_table(users[scope]) == kept[scope], scope
        # current rung HNTE: A, B, D (E has climbed to 科技领军培育)
        assert kept["bureau"][1][("rung", "hnte")][DAY] == 3


def test_a_save_touching_one_firm_counts_only_that_firm(world, users):
    """The stage's counting statements are restricted to the touched firm's id, not to its
    zone: its cost follows the firms a commit touched, not the size of their zone."""
    from tests.conftest import count_queries

    with frozen(DAY):
        firm = world["C"]
        ladder.grant_qualification(firm, "hnte", None, date(2026, 11, 20), date(2029, 11, 19))
        db.session.flush()
        with count_queries() as statements:
            assert aggregates.recount_for([firm.id])
        reads = [s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))
                 and "enterprises" in s]
        assert reads
        for statement in reads:
            assert "enterprises.id IN" in statement, statement
        db.session.commit()
        assert_current_and_equal(users)


def test_an_archived_firm_leaves_the_figures(world, users):
    with frozen(DAY):
        world["A"].status = "archived"
        db.session.commit()
        assert_current_and_equal(users)
        assert aggregates.funnel_counts(users["hitech"]).get(2024) is None
        assert aggregates.holders(users["hitech"]) == {"tech_sme": 1, "chuying": 1}


def test_a_zone_move_with_titles_and_stays_moves_every_figure(world, users):
    """A (tech-SME then HNTE: a funnel cohort and a finished stay) moves to teda."""
    with frozen(DAY):
        world["A"].zone = "teda"
        db.session.commit()
        assert_current_and_equal(users)
        assert aggregates.funnel_counts(users["hitech"]).get(2024) is None
        assert aggregates.funnel_counts(users["teda"])[2024]["registered"] == 2
        # and back again, in an expired state (the old zone is read from the stored marks)
        db.session.expire(world["A"])
        world["A"].zone = "hitech"
        db.session.commit()
        assert_current_and_equal(users)


def test_a_firm_deleted_by_an_import_undo_leaves_the_figures(world, users, tmp_path):
    """An undo deletes the firms its import created: their marks and their share go."""
    from openpyxl import Workbook

    from tests.imports.conftest import ENTERPRISE_HEADERS
    from tracker.dashboard.models import DashboardFirmMark
    from tracker.imports import services

    with frozen(DAY):
        workbook = Workbook()
        for row in (ENTERPRISE_HEADERS, ["天津聚合撤销测试公司", valid_uscc(88002), "2020-01-02",
                                         "高新区", "新材料", None, None, 3, "1.5"]):
            workbook.active.append(row)
        sheet = tmp_path / "firms.xlsx"
        workbook.save(sheet)
        job = run_file(sheet, "enterprises", user=users["bureau"])
        assert job.created == 1, job.errors
        db.session.commit()
        assert_current_and_equal(users)
        firm_id = db.session.scalar(select(DashboardFirmMark.enterprise_id).where(
            DashboardFirmMark.measure == "firms").order_by(
            DashboardFirmMark.enterprise_id.desc()).limit(1))
        services.undo_job(job, user_id=users["bureau"].id)
        db.session.commit()
        assert_current_and_equal(users)
        assert db.session.scalar(select(DashboardFirmMark).where(
            DashboardFirmMark.enterprise_id == firm_id)) is None


def _values(params) -> list:
    return list(params.values() if isinstance(params, dict) else params or ())


def test_the_funnel_and_expiry_charts_read_no_register_rows_when_current(world, users, app):
    """Flat with the register's size: with the figures current, the funnel chart and the
    expiry chart read maintained rows only (no titles, no transitions), and the median stay
    reads the histogram's coarse buckets and then only the days of the median's bucket —
    not every distinct length (which grows with the register up to the history's span)."""
    from tests.dashboard.test_cold_queries import _statements

    with frozen(DAY), app.test_request_context("/"):
        for scope in SCOPES:
            user = users[scope]
            seen = _statements(lambda u=user: (charts.funnel(u), charts.workload(u)))
            text = " ".join(s for s, _p in seen)
            assert "FROM qualifications" not in text, scope
            assert "stage_transitions" not in text, scope
            fine = [s for s, p in seen if "stays" in _values(p)]
            assert len(fine) == 1, scope  # one read of the days, after the coarse buckets
            assert "dashboard_aggregates.sub IN" in fine[0], fine[0]
            # each rung's days by the primary key: measure, zone, rung and day all named
            assert "dashboard_aggregates.zone IN" in fine[0], fine[0]
