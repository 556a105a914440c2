"""Nightly recompute: safe to run twice, moves expired rungs, refreshes stored results."""

from __future__ import annotations

import re
from datetime import date, datetime

from celery.schedules import crontab
from sqlalchemy import func, select

from tests.conftest import count_queries
from tests.ladder.conftest import make_firm
from tracker.clock import LOCAL_TZ, frozen
from tracker.extensions import db
from tracker.ladder import services, tasks
from tracker.ladder.models import EligibilityResult, StageTransition
from tracker.ladder.results import results_for


def test_beat_entry_is_explicit_and_expires(app):
    entry = tasks.BEAT_SCHEDULE["ladder-recompute-nightly"]
    assert entry["task"] == "tracker.ladder.recompute_all"
    assert isinstance(entry["schedule"], crontab)
    assert entry["options"]["expires"] > 0
    celery = app.extensions["celery"]
    assert "ladder-recompute-nightly" in celery.conf.beat_schedule
    assert {"tracker.ladder.recompute_all", "tracker.ladder.recompute_enterprise"} <= set(
        celery.tasks)


def test_recompute_all_twice_moves_expired_rungs_once(day):
    firm = make_firm()
    services.grant_qualification(firm, "tech_sme", "2026120116000123", date(2026, 3, 1))
    db.session.commit()
    with frozen(date(2027, 1, 5)):
        assert tasks.recompute_all() >= 1
        assert tasks.recompute_all() >= 1
    db.session.refresh(firm)
    assert firm.current_rung is None
    moves = db.session.scalars(select(StageTransition).where(
        StageTransition.enterprise_id == firm.id).order_by(StageTransition.id)).all()
    assert [(t.to_stage, t.source) for t in moves] == [("tech_sme", "import"), (None, "expiry")]
    assert db.session.scalar(select(func.count(EligibilityResult.id)).where(
        EligibilityResult.enterprise_id == firm.id)) == 6
    assert results_for(firm.id)["tech_sme"].as_of == date(2027, 1, 5)


def test_recompute_one_enterprise_by_id(day):
    firm = make_firm()
    db.session.commit()
    db.session.execute(EligibilityResult.__table__.delete().where(
        EligibilityResult.enterprise_id == firm.id))
    assert tasks.recompute_enterprise(firm.id) == 1
    assert results_for(firm.id)["hnte"].verdict == "needs_review"


def test_nightly_chunk_reads_qualifications_once_however_many_firms(day):
    firms = [make_firm(name=f"天津分块{i}科技有限公司") for i in range(3)]
    for firm in firms:
        services.grant_qualification(firm, "tech_sme", None, date(2026, 3, 1))
    db.session.commit()
    with frozen(date(2027, 1, 5)), count_queries() as statements:
        assert tasks.refresh_rungs_and_results([f.id for f in firms]) == 3
    assert all(f.current_rung is None for f in firms)  # every rung expired and moved
    reads = [s for s in statements
             if s.lstrip().upper().startswith("SELECT") and re.search(r"FROM qualifications\b", s)]
    # a fixed number, whatever the number of firms: the titles' dates for the rungs (read
    # once: the facts are built from the same rows), the moved firms' titles for their
    # history and the settled check (one query for the chunk); the titles' stamps are read
    # only for firms whose digest matched: none here
    assert len(reads) == 3, reads


def test_the_nightly_run_reads_no_titles_of_firms_whose_results_hold(day, monkeypatch):
    """A settled firm's rung needs no look either (issue 12: the titles of every firm were
    read each night to re-derive rungs, a quarter of a second run's time at 500,000 firms)."""
    from tracker.ladder import inputs

    firms = [make_firm(name=f"天津稳定{i}科技有限公司") for i in range(3)]
    for firm in firms:
        services.grant_qualification(firm, "tech_sme", None, date(2026, 3, 1))
    db.session.commit()
    with frozen(datetime(2026, 6, 30, 22, 0, tzinfo=LOCAL_TZ)):  # after the grants: they hold
        tasks.recompute_all()
    read: list[int] = []
    titles = inputs.qualification_rows

    def recording(ids):
        read.extend(ids)
        return titles(ids)

    monkeypatch.setattr(inputs, "qualification_rows", recording)
    with frozen(date(2026, 7, 1)):  # the next night: nothing changed, no title ran out
        assert tasks.recompute_all() >= 3
    assert not set(read) & {f.id for f in firms}
    assert [f.current_rung for f in firms] == ["tech_sme"] * 3


def test_a_rung_a_recompute_found_lagging_is_moved_by_the_next_nightly_run(day):
    """The title ran out at midnight; a save recomputed the firm's results before the nightly
    run (the after-save pipeline derives no rung). The nightly run must still move the rung,
    though the results it finds were computed today from the facts as they are."""
    from tracker.ladder import results

    firm = make_firm()
    services.grant_qualification(firm, "tech_sme", "2026120116000123", date(2026, 3, 1))
    db.session.commit()
    with frozen(date(2027, 1, 5)):
        results.recompute([firm.id])  # what a save's pipeline does
        db.session.commit()
        assert firm.current_rung == "tech_sme"  # not the pipeline's to move
        tasks.recompute_all()
    db.session.refresh(firm)
    assert firm.current_rung is None


def test_the_nightly_task_on_a_worker_fans_the_firms_out_in_chunk_tasks(app, day, monkeypatch):
    from tests.ladder.test_results_bulk import _published

    ids = sorted(make_firm(name=f"天津扇出{i}科技有限公司").id for i in range(5))
    db.session.commit()
    _published(app)  # whatever earlier commits queued
    monkeypatch.setattr(tasks, "FAN_OUT", 2)
    assert tasks.recompute_all.apply().get() == 5  # as a worker runs it: nothing done here
    sent = _published(app)
    assert {name for name, _chunk in sent} == {"tracker.ladder.recompute_chunk"}
    assert [len(chunk) for _name, chunk in sent] == [2, 2, 1]
    assert sorted(i for _name, chunk in sent for i in chunk) == ids
    assert tasks.recompute_chunk(sent[0][1]) == 2  # a worker's share, done inline here


def test_the_nightly_run_matches_evaluating_each_firm_straight(day):
    """The skipping, column-wise path stores what evaluating each firm on its own gives."""
    from tracker.ladder.facts import build_facts
    from tracker.ladder.results import evaluate_facts, stored_values

    firms = [make_firm(name="天津对照一科技有限公司"),
             make_firm(name="天津对照二科技有限公司",
                       year_changes={2025: {"high_tech_income": 24_000_000}}),
             make_firm(name="天津对照三科技有限公司", years=(2025,), founded_on=date(2025, 9, 1)),
             make_firm(name="天津对照四科技有限公司",
                       year_changes={2025: {"high_tech_income": 50_000_000}})]
    services.grant_qualification(firms[0], "tech_sme", None, date(2026, 3, 1))
    services.grant_qualification(firms[1], "hnte", "GR202312000001", date(2023, 11, 1))
    db.session.commit()
    for _ in range(2):  # the first run writes, the second skips: the same rows either way
        tasks.recompute_all()
        db.session.expire_all()
        for firm in firms:
            expected = {r["kind"]: stored_values(r)
                        for r in evaluate_facts(build_facts(firm, day))["results"]} \
                if firm is not firms[3] else None
            stored = results_for(firm.id)
            if expected is None:  # contradictory figures: every rung says so
                assert {r.verdict for r in stored.values()} == {"insufficient_data"}
                continue
            for kind, values in expected.items():
                row = stored[kind]
                assert {k: getattr(row, k) for k in values} == values, kind
