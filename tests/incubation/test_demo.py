"""The incubation demo builds on the base demo and shows every part of the feature."""

from sqlalchemy import func, select

from tracker.demo import load_demo
from tracker.extensions import db
from tracker.incubation.demo import load_incubation_demo
from tracker.incubation.models import ReportingCycle, StatusProposal, Tenancy
from tracker.ladder.models import StageTransition


def test_incubation_demo_adds_a_move_a_graduate_a_pending_proposal_and_a_cycle():
    assert load_incubation_demo() == {}  # nothing to build on yet
    added = load_demo(14)["incubation"]
    assert added == {"users": 1, "moves": 1, "graduates": 1, "proposals": 1, "reports": 3}
    statuses = dict(db.session.execute(
        select(Tenancy.status, func.count(Tenancy.id)).group_by(Tenancy.status)).all())
    assert statuses["moved_on"] == 1 and statuses["graduated"] == 1
    assert db.session.scalar(select(func.count(StatusProposal.id))
                             .where(StatusProposal.status == "pending")) == 1
    assert db.session.scalar(select(func.count(ReportingCycle.id))) == 1
    moves = db.session.scalars(select(StageTransition).where(
        StageTransition.chain == "incubation", StageTransition.from_stage == "maker_space")).all()
    assert [m.to_stage for m in moves] == ["incubator"]
