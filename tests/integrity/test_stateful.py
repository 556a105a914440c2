"""Random sequences of real operations, all through the services, leave `flask check` clean.

Grant, backdate (a grant dated before the firm's earliest), revoke, import (a small generated csv
through the import engine, with corrections), undo of that import, edits of the enterprise and
its figures, an incubation proposal approved, and the nightly recompute. After every step the
edge commits, as a view or task would, and every invariant must hold.

Kept small by default so the suite stays quick; .ci/run may ask for more with
STATEFUL_EXAMPLES and STATEFUL_STEPS.
"""

from __future__ import annotations

import csv
import itertools
import os
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from tests.conftest import _TestSession
from tests.factories import make_carrier, make_enterprise, make_user
from tests.imports.helpers import run_file
from tests.ladder.conftest import healthy_year
from tracker.accounts.models import User
from tracker.clock import today
from tracker.enterprises import services as enterprises
from tracker.enterprises.models import Enterprise
from tracker.errors import FieldError
from tracker.extensions import db
from tracker.imports import services as imports
from tracker.imports.models import ImportJob
from tracker.incubation import services as incubation
from tracker.incubation.models import Carrier, Tenancy
from tracker.integrity.checks import INVARIANTS, run_checks
from tracker.ladder import services as ladder
from tracker.ladder import tasks as ladder_tasks
from tracker.ladder.models import Qualification

MAX_EXAMPLES = int(os.environ.get("STATEFUL_EXAMPLES", "6"))
STEPS = int(os.environ.get("STATEFUL_STEPS", "10"))

#: invariants this test leaves out while another helper fixes the drift they find; the lead
#: re-enables each when the fix is merged. Found on this branch (see the report):
PENDING: dict[str, str] = {}

#: operations held back while another helper fixes the drift they cause; STATEFUL_ALL=1 runs
#: them anyway (to see the drift); the lead removes a flag when its fix is merged.
_ALL = os.environ.get("STATEFUL_ALL") == "1"
_ENABLED = set(filter(None, os.environ.get("STATEFUL_ENABLE", "").split(",")))


def _held_back(name: str) -> bool:
    """False (run it) under STATEFUL_ALL=1 or when named in STATEFUL_ENABLE=A,B."""
    return not (_ALL or name in _ENABLED)


CHECKED = [name for name in INVARIANTS
           if name not in PENDING or not _held_back(name)]
SHRINK = os.environ.get("STATEFUL_SHRINK", "1") == "1"

GRANTABLE = ("tech_sme", "hnte", "chuying")
_serial = itertools.count(1)


def _number(kind: str, granted_on: date) -> str | None:
    if kind == "hnte":
        return f"GR{granted_on.year}12{next(_serial):06d}"
    if kind == "tech_sme":
        return f"{granted_on.year}120116{0}{next(_serial):04d}"
    return None


class Pipeline(RuleBasedStateMachine):
    """Three firms, three carriers and a bureau officer, then whatever Hypothesis chooses."""

    tmp: Path

    def __init__(self) -> None:
        super().__init__()
        # Each example runs in its own SAVEPOINT of the test's connection, rolled back after.
        self.connection = db.session().get_bind()
        self.outer_session = db.session
        self.example = self.connection.begin_nested()
        db.session = db._make_scoped_session(
            {"bind": self.connection, "join_transaction_mode": "create_savepoint",
             "class_": _TestSession})
        self.firm_ids: list[int] = []
        self.carrier_ids: list[int] = []
        self.files = itertools.count(1)
        self.log: list[str] = []

    def teardown(self) -> None:
        db.session.remove()
        db.session = self.outer_session
        if self.example.is_active:
            self.example.rollback()

    # -- helpers -------------------------------------------------------------------------------

    def firm(self, index: int) -> Enterprise:
        return db.session.get(Enterprise, self.firm_ids[index % len(self.firm_ids)])

    def commit(self, what: str) -> None:
        """The edge: one commit per operation, as the view or task would."""
        db.session.commit()
        self.log.append(what)

    def refused(self, what: str) -> None:
        db.session.rollback()
        self.log.append(f"{what} (refused)")

    def quals(self, firm: Enterprise) -> list[Qualification]:
        return ladder.qualifications_of(firm.id)

    def write_csv(self, rows: list[list[str]]) -> Path:
        path = self.tmp / f"step-{next(self.files)}.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows(rows)
        return path

    # -- setup ---------------------------------------------------------------------------------

    @initialize()
    def setup(self) -> None:
        for i in range(3):
            firm = make_enterprise(name=f"天津状态机科技有限公司{i}",
                                   founded_on=date(2018, 5, 1))
            for year in (today().year - 3, today().year - 2, today().year - 1):
                enterprises.save_metrics(firm, year, healthy_year())
            self.firm_ids.append(firm.id)
        for kind in ("incubator", "incubator", "maker_space"):
            self.carrier_ids.append(make_carrier(kind=kind).id)
        self.bureau_id = make_user("bureau").id
        self.checker_id = make_user("bureau").id  # maker-checker: another officer decides
        self.commit("setup")

    # -- the ladder ----------------------------------------------------------------------------

    @rule(i=st.integers(0, 2), kind=st.sampled_from(GRANTABLE), days_ago=st.integers(0, 1500))
    def grant(self, i: int, kind: str, days_ago: int) -> None:
        firm = self.firm(i)
        granted = today() - timedelta(days=days_ago)
        what = f"grant firm{i} {kind} {granted}"
        try:
            ladder.grant_qualification(firm, kind, _number(kind, granted), granted,
                                       batch="状态机批次" if kind == "chuying" else None,
                                       source="manual")
        except FieldError:
            return self.refused(what)
        self.commit(what)

    @rule(i=st.integers(0, 2), kind=st.sampled_from(GRANTABLE), earlier=st.integers(1, 400))
    def backdate(self, i: int, kind: str, earlier: int) -> None:
        """A title entered after another but granted before it."""
        firm = self.firm(i)
        held = self.quals(firm)
        if not held:
            return
        granted = min(q.granted_on for q in held) - timedelta(days=earlier)
        what = f"backdate firm{i} {kind} {granted}"
        try:
            ladder.grant_qualification(firm, kind, _number(kind, granted), granted,
                                       source="manual")
        except FieldError:
            return self.refused(what)
        self.commit(what)

    @rule(i=st.integers(0, 2), pick=st.integers(0, 20), after=st.integers(0, 800))
    def revoke(self, i: int, pick: int, after: int) -> None:
        firm = self.firm(i)
        open_ = [q for q in self.quals(firm) if q.revoked_on is None]
        if not open_:
            return
        q = open_[pick % len(open_)]
        revoked_on = min(q.granted_on + timedelta(days=after), today())
        what = f"revoke firm{i} {q.kind} granted {q.granted_on} on {revoked_on}"
        try:
            ladder.revoke_qualification(q, revoked_on, reason="状态机撤销", actor_id=None)
        except FieldError:
            return self.refused(what)
        self.commit(what)

    @rule()
    def recompute(self) -> None:
        """The nightly upkeep: rungs refreshed, results recomputed."""
        ladder_tasks.recompute_all()
        self.log.append("recompute_all")

    # -- imports -------------------------------------------------------------------------------

    @rule(i=st.integers(0, 2), days_ago=st.integers(0, 1500), correct=st.booleans(),
          expire_days_ago=st.integers(1, 300))
    def import_titles(self, i: int, days_ago: int, correct: bool, expire_days_ago: int) -> None:
        """An official HNTE list: a new title, or a correction that ends a held one early."""
        firm = self.firm(i)
        held = [q for q in self.quals(firm) if q.kind == "hnte"]
        if correct and held:
            q = held[0]
            until = max(today() - timedelta(days=expire_days_ago), q.granted_on)
            row = [firm.uscc, firm.name, q.number or "", q.granted_on.isoformat(),
                   until.isoformat()]
            what = f"import correction firm{i} hnte {q.granted_on} valid until {until}"
        else:
            granted = today() - timedelta(days=days_ago)
            row = [firm.uscc, firm.name, _number("hnte", granted), granted.isoformat(), ""]
            what = f"import firm{i} hnte {granted}"
        path = self.write_csv([["统一社会信用代码", "企业名称", "证书编号", "发证日期", "有效期至"],
                               row])
        job = run_file(path, "qualifications", qualification_kind="hnte")
        self.commit(f"{what} -> job {job.status}")

    @rule(i=st.integers(0, 2), c=st.integers(0, 2), moved_days_ago=st.integers(30, 1200),
          status=st.sampled_from(["在孵", "已毕业", "已退出"]), stayed=st.integers(1, 25))
    def import_tenancy(self, i: int, c: int, moved_days_ago: int, status: str,
                       stayed: int) -> None:
        firm = self.firm(i)
        carrier = db.session.get(Carrier, self.carrier_ids[c])
        moved = today() - timedelta(days=moved_days_ago)
        ended = ""
        if status != "在孵":
            ended = min(moved + timedelta(days=stayed), today()).isoformat()
        path = self.write_csv([
            ["统一社会信用代码", "企业名称", "载体名称", "入驻日期", "入驻状态",
             "毕业/退出日期", "毕业依据"],
            [firm.uscc, firm.name, carrier.name, moved.isoformat(), status, ended,
             "经认定的国家高新技术企业" if status == "已毕业" else ""]])
        job = run_file(path, "tenancies")
        self.commit(f"import tenancy firm{i} carrier{c} {moved} {status} {ended} "
                    f"-> job {job.status}")

    @rule()
    def undo(self) -> None:
        job = db.session.scalar(select(ImportJob).where(ImportJob.status == "done")
                                .order_by(ImportJob.id.desc()).limit(1))
        if job is None:
            return
        try:
            imports.undo_job(job, user_id=None)
        except imports.UndoRefused:
            return self.refused(f"undo job {job.id}")
        self.commit(f"undo job {job.id} ({job.kind})")

    # -- edits ---------------------------------------------------------------------------------

    @rule(i=st.integers(0, 2), field=st.sampled_from(["new_energy", "biomedicine",
                                                     "electronic_information"]))
    def edit_enterprise(self, i: int, field: str) -> None:
        firm = self.firm(i)
        enterprises.update_enterprise(firm, {"tech_field": field},
                                      expected_version=firm.version)
        self.commit(f"edit firm{i} tech_field={field}")

    @rule(i=st.integers(0, 2), back=st.integers(1, 3), staff=st.integers(0, 100))
    def edit_metrics(self, i: int, back: int, staff: int) -> None:
        firm = self.firm(i)
        year = today().year - back
        try:
            enterprises.save_metrics(firm, year, {"tech_staff": staff})
        except FieldError:
            return self.refused(f"metrics firm{i} {year}")
        self.commit(f"metrics firm{i} {year} tech_staff={staff}")

    # -- incubation ----------------------------------------------------------------------------

    @rule(i=st.integers(0, 2), c=st.integers(0, 2), moved_days_ago=st.integers(1, 900),
          action=st.sampled_from(["exit", "graduate"]), stayed=st.integers(0, 1000))
    def approve_proposal(self, i: int, c: int, moved_days_ago: int, action: str,
                         stayed: int) -> None:
        """Move a firm in (or take its current stay), propose ending it, the bureau approves."""
        firm = self.firm(i)
        user = db.session.get(User, self.bureau_id)
        tenancy = db.session.scalar(select(Tenancy).where(
            Tenancy.enterprise_id == firm.id, Tenancy.status == "incubating")
            .order_by(Tenancy.id.desc()).limit(1))
        try:
            if tenancy is None:
                carrier = db.session.get(Carrier, self.carrier_ids[c])
                moved = today() - timedelta(days=moved_days_ago)
                tenancy = incubation.open_tenancy(firm, carrier, moved)
            # an approved end may be dated a little ahead (the service allows up to a year)
            effective = min(tenancy.moved_in_on + timedelta(days=stayed),
                            today() + timedelta(days=30))
            proposal = incubation.propose(
                tenancy, action, {"effective_on": effective, "reason": "状态机",
                                  "graduation_basis": "hnte" if action == "graduate" else None},
                user=user)
            incubation.approve(proposal, user=db.session.get(User, self.checker_id))
        except FieldError:
            return self.refused(f"{action} firm{i}")
        self.commit(f"{action} firm{i} tenancy {tenancy.id} on {effective}")

    # -- the property --------------------------------------------------------------------------

    @invariant()
    def check_is_clean(self) -> None:
        if not self.firm_ids:
            return
        report = run_checks(CHECKED)
        assert report.ok, "after: " + " ; ".join(self.log) + "\n" + "\n".join(
            f"{v.invariant} {v.subject}: {v.detail}" for v in report.violations)


@pytest.fixture
def upload_dir(app, tmp_path, monkeypatch):
    """Imports store their files in a throwaway folder."""
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))
    return tmp_path


def test_check_stays_clean_through_random_operations(upload_dir):
    Pipeline.tmp = upload_dir
    run_state_machine_as_test(Pipeline, settings=settings(
        max_examples=MAX_EXAMPLES, stateful_step_count=STEPS, deadline=None,
        suppress_health_check=list(HealthCheck), database=None, derandomize=True,
        phases=list(Phase) if SHRINK else [Phase.explicit, Phase.generate]))
