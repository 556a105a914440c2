"""The route x role access matrix, generated from the URL map (issue 11, "Done means").

Every rule is requested as every role (and anonymously), GET and POST, with ids of records in
the user's scope and out of it, on a committed database built through the services: two zones,
a carrier in each, a current tenant of each, and a firm that left the first carrier. It asserts
  * no leak: an out-of-scope id answers 403/404, and no page shown to a user names a firm,
    contact or carrier outside their scope;
  * no change by a forbidden role: POSTs carry a valid CSRF token (so the role check, not
    CSRF, refuses them) and the whole database is fingerprinted before and after;
  * no server error anywhere.
Path parameters are mapped to models by name (PARAM_MODELS) and POST rights by endpoint
(MAY_POST); both are checked against the URL map, so a new route without an entry fails here.
Each request runs inside a transaction rolled back afterwards, so allowed POSTs change nothing
for the next one.
"""

from __future__ import annotations

import hashlib
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlsplit

import pytest
from flask import g
from sqlalchemy import select, text

from config import TestConfig
from tests.conftest import _TestSession
from tests.factories import PASSWORD, make_carrier, make_enterprise, make_user, valid_uscc
from tests.route_support import Forms, fill_path, int_params
from tracker import create_app
from tracker.accounts import api_tokens
from tracker.accounts.models import User, UserToken
from tracker.bulk import merge
from tracker.bulk.models import MergeRecord
from tracker.clock import frozen
from tracker.enterprises import services as enterprises
from tracker.enterprises.models import Activity, AnnualMetrics, Contact, Enterprise
from tracker.extensions import db
from tracker.imports import services as imports
from tracker.imports.models import ImportJob
from tracker.incubation import services as incubation
from tracker.incubation.models import Carrier, ReportingCycle, StatusProposal, Tenancy
from tracker.indicators import services as indicators
from tracker.indicators.models import IndicatorValue, PlanIndicator, PlanPeriod, PlanTarget
from tracker.indicators.seed import seed_plan
from tracker.ladder import services as ladder
from tracker.ladder.models import Application, Qualification
from tracker.reminders import services as reminders
from tracker.reminders.defaults import seed_rules
from tracker.reminders.models import OfficialCycle, OutboxMessage, Reminder, ReminderRule
from tracker.reminders.sweep import run_sweep
from tracker.webhooks import events as webhook_events
from tracker.webhooks import services as webhooks
from tracker.webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.live

ROLES = ("admin", "bureau", "zone", "carrier_manager", "viewer", None)  # None: anonymous
DAY = date(2026, 12, 1)

#: path parameter -> the model whose id it carries; (blueprint, name) where a name means two
PARAM_MODELS: dict[str | tuple[str, str], type] = {
    "user_id": User, "enterprise_id": Enterprise, "activity_id": Activity,
    "contact_id": Contact, "year": AnnualMetrics, "job_id": ImportJob, "carrier_id": Carrier,
    "tenancy_id": Tenancy, "proposal_id": StatusProposal, "application_id": Application,
    "qualification_id": Qualification, "reminder_id": Reminder, "message_id": OutboxMessage,
    "rule_id": ReminderRule, "token_id": UserToken, "merge_id": MergeRecord,
    ("incubation", "cycle_id"): ReportingCycle, ("reminders", "cycle_id"): OfficialCycle,
    "indicator_id": PlanIndicator, "period_id": PlanPeriod, "value_id": IndicatorValue,
    "target_id": PlanTarget,
    "endpoint_id": WebhookEndpoint, "delivery_id": WebhookDelivery,
}
#: a manager keeps read-only history of their own past tenancy (see tracker/accounts/scope.py)
HISTORY_MODELS = {Tenancy, StatusProposal, Carrier, ReportingCycle}

_ADMIN = frozenset({"admin"})
_BUREAU = _ADMIN | {"bureau"}
_EDITORS = _BUREAU | {"zone"}
_TENANT = _EDITORS | {"carrier_manager"}
_SIGNED_IN = _TENANT | {"viewer"}
_ANYONE = _SIGNED_IN | {None}
#: endpoint -> roles that may POST to it (in their scope); everyone else changes nothing
MAY_POST: dict[str, frozenset] = {
    "accounts.login": _ANYONE, "accounts.logout": _ANYONE, "accounts.set_language": _ANYONE,
    "accounts.user_edit": _ADMIN, "accounts.user_new": _ADMIN,
    "ladder.thresholds": _ADMIN,
    "reminders.edit_rule": _ADMIN, "reminders.edit_cycle": _ADMIN,
    "reminders.delete_cycle": _ADMIN,
    "webhooks.new": _ADMIN, "webhooks.edit": _ADMIN, "webhooks.rotate": _ADMIN,
    "webhooks.delete": _ADMIN, "webhooks.send_test": _ADMIN, "webhooks.resend": _ADMIN,
    "incubation.carrier_new": _BUREAU, "incubation.carrier_edit": _BUREAU,
    "incubation.cycle_new": _BUREAU,
    "bulk.merge_page": _BUREAU, "bulk.undo": _BUREAU, "bulk.enterprises": _EDITORS,
    "enterprises.new": _EDITORS, "enterprises.edit": _EDITORS, "enterprises.archive": _EDITORS,
    "incubation.tenancy_new": _EDITORS, "incubation.proposal": _EDITORS,
    "ladder.application_new": _EDITORS, "ladder.application_edit": _EDITORS,
    "ladder.application_move": _EDITORS, "ladder.application_approve": _EDITORS,
    "ladder.qualification_new": _EDITORS, "ladder.qualification_edit": _EDITORS,
    "ladder.qualification_revoke": _EDITORS,
    "reminders.handle": _EDITORS, "reminders.resend": _EDITORS, "reminders.retry_all": _EDITORS,
    "imports.upload": _EDITORS, "imports.mapping": _EDITORS, "imports.run": _EDITORS,
    "imports.cancel": _EDITORS, "imports.retry": _EDITORS, "imports.undo": _EDITORS,
    "imports.reconcile_upload": _EDITORS, "imports.reconcile_apply": _EDITORS,
    "enterprises.contact_add": _TENANT, "enterprises.contact_edit": _TENANT,
    "enterprises.contact_delete": _TENANT, "enterprises.metrics": _TENANT,
    "enterprises.activity_add": _TENANT, "enterprises.activity_done": _TENANT,
    "incubation.tenancy_edit": _TENANT, "incubation.propose": _TENANT,
    "incubation.proposal_withdraw": _TENANT, "incubation.report": _TENANT,
    # pure evaluations and the viewer's own settings: nothing regulated is written
    "api.eligibility_evaluate": _SIGNED_IN, "ladder.self_assessment": _SIGNED_IN,
    "reminders.preferences": _SIGNED_IN,
    # one's own account: password, sessions, calendar-feed token
    "accounts.change_password": _SIGNED_IN, "accounts.end_session": _SIGNED_IN,
    "accounts.end_other_sessions": _SIGNED_IN, "accounts.regenerate_calendar_token": _SIGNED_IN,
    "accounts.forgot_password": _ANYONE,
    # a signed token is the credential; the matrix's made-up token is refused
    "reminders.unsubscribe": _ANYONE, "accounts.reset_password": _ANYONE,
    # one's own API tokens
    "accounts.api_tokens_page": _SIGNED_IN, "accounts.revoke_api_token": _SIGNED_IN,
    # API writes need a Bearer token: the matrix's session cookie is refused for every role
    "api.enterprise_create": frozenset(), "api.contact_create": frozenset(),
    "api.qualification_create": frozenset(), "api.application_create": frozenset(),
    "api.application_move": frozenset(),
    "incubation_api.propose": frozenset(), "incubation_api.report_submit": frozenset(),
    # plan indicators: bureau staff and admins enter figures, targets and sources
    "indicators.values": _BUREAU, "indicators.value_edit": _BUREAU,
    "indicators.target_edit": _BUREAU, "indicators.period_source": _BUREAU,
}
#: tables written while merely being signed in (sessions, throttling), not regulated data
BOOKKEEPING = re.compile(r"session|login|throttl|remember", re.I)


@dataclass
class Side:
    """One firm and the records hanging off it: what a role's in- or out-of-scope id points at."""

    name: str
    uscc: str
    ids: dict[type, int] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)


@dataclass
class World:
    sides: dict[str, Side]
    shared: dict[type, int]
    #: role -> email to sign in with
    users: dict[str, str]
    #: role -> (side names in scope, side names out of scope)
    scope: dict[str | None, tuple[list[str], list[str]]]


def _firm_side(firm: Enterprise, carrier: Carrier, tenancy: Tenancy, proposal: StatusProposal,
               job: ImportJob, n: int) -> Side:
    contact = enterprises.save_contact(firm, {
        "name": f"联系人{n}", "email": f"contact{n}@firm{n}.example", "receives_reminders": True})
    enterprises.save_metrics(firm, 2025, {"employees": 10 + n})
    activity = enterprises.add_activity(firm, {"kind": "task", "subject": f"走访事项{n}",
                                               "due_on": date(2026, 12, 20)}, created_by_id=None)
    qualification = ladder.grant_qualification(firm, "hnte", f"GR20231200{n:04d}",
                                               date(2023, 12, 20))
    application = ladder.create_application(firm, {"kind": "dengling", "year": 2026})
    side = Side(firm.name, firm.uscc, {
        Enterprise: firm.id, Contact: contact.id, AnnualMetrics: 2025,
                       Activity: activity.id, Qualification: qualification.id,
                       Application: application.id, Carrier: carrier.id, Tenancy: tenancy.id,
                       StatusProposal: proposal.id, ImportJob: job.id})
    side.secrets = [firm.name, firm.uscc, contact.email]
    return side


def _build(upload_dir: str) -> World:
    seed_rules()
    admin, bureau = make_user("admin"), make_user("bureau")
    zone = make_user("zone", zone="hitech")
    viewer = make_user("viewer")
    home = make_carrier(name="矩阵甲孵化器", kind="incubator", zone="hitech", area_m2=5000)
    away = make_carrier(name="矩阵乙孵化器", kind="incubator", zone="teda", area_m2=5000)
    manager = make_user("carrier_manager", carrier_id=home.id)
    away_manager = make_user("carrier_manager", carrier_id=away.id)
    firms = {
        "A": make_enterprise(name="矩阵甲在孵科技有限公司", zone="hitech", uscc=valid_uscc(95001),
                             founded_on=date(2023, 3, 1)),
        "B": make_enterprise(name="矩阵乙外区科技有限公司", zone="teda", uscc=valid_uscc(95002),
                             founded_on=date(2023, 3, 1)),
        "F": make_enterprise(name="矩阵丙迁出科技有限公司", zone="hitech", uscc=valid_uscc(95003),
                             founded_on=date(2022, 3, 1)),
    }
    stays = {"A": incubation.open_tenancy(firms["A"], home, date(2024, 1, 31)),
             "B": incubation.open_tenancy(firms["B"], away, date(2024, 2, 1)),
             "F": incubation.open_tenancy(firms["F"], home, date(2023, 1, 31))}
    proposals = {
        "A": incubation.propose(stays["A"], "exit", {"effective_on": date(2026, 12, 31),
                                                     "reason": "拟迁出"}, user=manager),
        "B": incubation.propose(stays["B"], "exit", {"effective_on": date(2026, 12, 31),
                                                     "reason": "拟迁出"}, user=away_manager),
        "F": incubation.propose(stays["F"], "exit", {"effective_on": date(2025, 6, 30),
                                                     "reason": "迁出"}, user=manager),
    }
    incubation.approve(proposals["F"], user=bureau)  # F has left the home carrier
    stored = f"{upload_dir}/jobs.csv"
    with open(stored, "w", encoding="utf-8") as handle:
        handle.write("统一社会信用代码,企业名称\n")
    jobs = {"A": imports.create_job("enterprises", "jobs.csv", "a.csv", user_id=zone.id),
            "B": imports.create_job("enterprises", "jobs.csv", "b.csv", user_id=bureau.id),
            "F": imports.create_job("enterprises", "jobs.csv", "f.csv", user_id=zone.id)}
    carriers = {"A": home, "B": away, "F": home}
    sides = {key: _firm_side(firm, carriers[key], stays[key], proposals[key], jobs[key], n)
             for n, (key, firm) in enumerate(firms.items(), start=1)}
    sides["B"].secrets.append(away.name)
    cycle = incubation.create_cycle({
        "name": "矩阵2026年第四季度", "period_start": date(2026, 10, 1),
        "period_end": date(2026, 12, 31), "due_on": date(2027, 1, 20)}, user=bureau)
    official = reminders.save_cycle(None, {
        "programme": "hnte_application", "year": 2027, "batch": "第一批",
        "opens_on": date(2027, 3, 1), "closes_on": date(2027, 6, 30), "notes": None})
    with frozen(DAY):
        run_sweep(DAY)
    for key, side in sides.items():
        reminder = db.session.scalar(select(Reminder).where(
            Reminder.enterprise_id == side.ids[Enterprise]).order_by(Reminder.id))
        assert reminder is not None, f"the sweep made no reminder for firm {key}"
        _message, body = reminders.compose(reminder)
        message = OutboxMessage(reminder_id=reminder.id, message_id=f"<matrix-{key}@test>",
                                to_address=reminder.to_address or "x@test", subject="提醒",
                                body_text=body, transport="test",
                                enterprise_id=side.ids[Enterprise])
        db.session.add(message)
        db.session.flush()
        side.ids.update({Reminder: reminder.id, OutboxMessage: message.id})
    merged = merge.merge_enterprises(  # two records of one firm, merged (the undo page)
        make_enterprise(name="矩阵丁重复科技有限公司", zone="hitech", uscc=valid_uscc(95004)),
        make_enterprise(name="矩阵丁重复科技（天津）有限公司", zone="hitech",
                        uscc=valid_uscc(95005)), {})
    users = {"admin": admin.email, "bureau": bureau.email, "zone": zone.email,
             "carrier_manager": manager.email, "viewer": viewer.email}
    shared = {User: viewer.id, ReportingCycle: cycle.id, OfficialCycle: official.id,
              MergeRecord: merged.id,
              ReminderRule: db.session.scalar(select(ReminderRule.id).order_by(ReminderRule.id))}
    _token, viewer_token = api_tokens.issue(viewer, name="matrix")  # only its owner revokes it
    shared[UserToken] = viewer_token.id
    seed_plan(db.session.connection())
    closed = db.session.scalar(select(PlanPeriod).where(PlanPeriod.code == "14th"))
    current = db.session.scalar(select(PlanPeriod).where(PlanPeriod.code == "15th"))
    entered = db.session.scalar(select(PlanIndicator).where(PlanIndicator.code == "rd_centres"))
    with frozen(DAY):
        value = indicators.save_value(entered, closed, 2025, "540", "矩阵年报")
    target = db.session.scalar(select(PlanTarget).where(
        PlanTarget.period_id == current.id, PlanTarget.indicator_id == entered.id))
    shared.update({PlanIndicator: entered.id, PlanPeriod: current.id, IndicatorValue: value.id,
                   PlanTarget: target.id})
    hook = webhooks.create_endpoint({"url": "http://127.0.0.1:9/matrix",
                                     "events": ["rung.changed"]})
    [hook_delivery] = webhook_events.record_test(hook)
    shared.update({WebhookEndpoint: hook.id, WebhookDelivery: hook_delivery})
    scope = {"admin": (["A", "B", "F"], []), "bureau": (["A", "B", "F"], []),
             "viewer": (["A", "B", "F"], []), "zone": (["A", "F"], ["B"]),
             "carrier_manager": (["A"], ["B", "F"]), None: ([], ["A", "B", "F"])}
    return World(sides, shared, users, scope)


def _model_of(rule, name: str) -> type:
    blueprint = rule.endpoint.split(".", 1)[0]
    model = PARAM_MODELS.get((blueprint, name)) or PARAM_MODELS.get(name)
    assert model is not None, f"{rule.rule}: no model for <{name}> in PARAM_MODELS"
    return model


@pytest.fixture(scope="module")
def matrix_app(tmp_path_factory):
    """A committed matrix database (SQLite) served with CSRF on, as in production."""
    folder = tmp_path_factory.mktemp("matrix")
    (folder / "uploads").mkdir()

    class MatrixConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{folder / 'matrix.db'}"
        WTF_CSRF_ENABLED = True
        PROPAGATE_EXCEPTIONS = False  # a crash must come back as the 500 a user would see
        UPLOAD_DIR = str(folder / "uploads")
        MAIL_DIR = str(folder / "mail")

    app = create_app(MatrixConfig)
    with app.app_context():
        db.create_all()
        world = _build(str(folder / "uploads"))
        db.session.commit()
        db.session.remove()  # no connection of ours may hold SQLite's lock during the requests
        yield app, world
        db.session.remove()
        db.engine.dispose()


@contextmanager
def _rolled_back(app):
    """Serve requests on one connection whose transaction is rolled back afterwards."""
    connection = db.engine.connect()
    transaction = connection.begin()
    original = db.session
    db.session = db._make_scoped_session({"bind": connection, "class_": _TestSession,
                                          "join_transaction_mode": "create_savepoint"})
    try:
        yield connection
    finally:
        db.session.remove()
        db.session = original
        transaction.rollback()
        connection.close()


def _fingerprint(connection) -> str:
    """A digest of every regulated row (and so of every count): equal means nothing changed."""
    digest = hashlib.sha256()
    for table in sorted(db.metadata.tables):
        if BOOKKEEPING.search(table):
            continue
        rows = connection.execute(text(f'SELECT * FROM "{table}"')).all()
        digest.update(f"{table}:{len(rows)}:{sorted(map(repr, rows))}".encode())
    return digest.hexdigest()


class Matrix:
    def __init__(self, app, world: World) -> None:
        self.app, self.world = app, world
        self.requests = 0
        self.problems: list[str] = []
        #: allowed POSTs that did change data: proof the fingerprint and the forms can see one
        self.allowed_changes = 0
        self.forms: dict[str, dict[str, str]] = {}
        # Everyone signs in first, for real (sessions and throttling rows are committed); every
        # later request runs inside a rolled-back transaction.
        self.clients = {role: self._sign_in(role) for role in ROLES}
        db.session.remove()

    def _sign_in(self, role: str | None):
        g.pop("_login_user", None)
        g.pop("csrf_token", None)
        client = self.app.test_client()
        if role is not None:
            page = client.get("/login").get_data(as_text=True)
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
            answer = client.post("/login", data={"email": self.world.users[role],
                                                 "password": PASSWORD,
                                                 "csrf_token": token})
            assert answer.status_code == 302, f"{role} could not log in"
        page = client.get("/login" if role is None else "/")
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True))
        assert match, f"no CSRF token for {role}: the POSTs would be refused for the wrong reason"
        client.csrf = match.group(1)
        return client

    def rules(self):
        for rule in sorted(self.app.url_map.iter_rules(), key=lambda r: r.rule):
            if rule.endpoint != "static":
                yield rule

    def path(self, rule, side: str) -> str:
        """The rule's URL with the ids of the side's records (or the shared ones)."""
        ids: dict[str, int] = {}
        for name in int_params(rule):
            model = _model_of(rule, name)
            ids[name] = self.world.shared.get(model) or self.world.sides[side].ids[model]
        return fill_path(rule, ids)

    def send(self, client, method: str, url: str, **kwargs):
        self.requests += 1
        # The requests share the test's app context: forget the last request's user and token.
        g.pop("_login_user", None)
        g.pop("csrf_token", None)
        with _rolled_back(self.app) as connection:
            before = _fingerprint(connection) if method == "POST" else None
            response = client.open(url, method=method, **kwargs)
            changed = before is not None and _fingerprint(connection) != before
        if response.status_code >= 500:
            self.problems.append(f"500 {method} {url}")
        return response, changed

    def harvest(self) -> None:
        """The POST forms the admin's pages render, to submit as the other roles."""
        client = self.clients["admin"]
        for rule in self.rules():
            if "GET" not in rule.methods or rule.endpoint == "accounts.login":
                continue
            for side in self.world.sides:
                url = self.path(rule, side)
                response, _ = self.send(client, "GET", url)
                if response.mimetype != "text/html":
                    continue
                parser = Forms()
                parser.feed(response.get_data(as_text=True))
                for action, fields in parser.forms:
                    self.forms.setdefault(urlsplit(action).path or urlsplit(url).path, fields)

    @staticmethod
    def refused(response) -> bool:
        if response.status_code in (401, 403, 404):
            return True
        return response.status_code == 302 and "/login" in response.headers.get("Location", "")

    def check_role(self, role: str | None) -> None:
        client = self.clients[role]
        in_sides, out_sides = self.world.scope[role]
        secrets = [s for key in out_sides for s in self.world.sides[key].secrets
                   if not (role == "carrier_manager" and key == "F" and s in (
                       self.world.sides["F"].name, self.world.sides["F"].uscc))]
        for rule in self.rules():
            ids = [_model_of(rule, n) for n in int_params(rule)]
            firm_bound = any(m not in self.world.shared for m in ids)
            cases = [(side, "in") for side in (in_sides if firm_bound else in_sides[:1] or ["A"])]
            if firm_bound:
                for side in out_sides:
                    # a manager reads (never edits) the history of a tenancy that has ended
                    history = role == "carrier_manager" and side == "F" and any(
                        m in HISTORY_MODELS for m in ids)
                    cases.append((side, "history" if history else "out"))
            for side, mode in cases:
                url = self.path(rule, side)
                for method in sorted(rule.methods & {"GET", "POST"}):
                    if rule.endpoint == "accounts.logout" or (
                            rule.endpoint == "accounts.login" and method == "POST"):
                        continue  # ends or starts the very session the matrix is using
                    self.check(client, role, rule, method, url, mode, secrets)

    def check(self, client, role, rule, method, url, mode: str, secrets) -> None:
        kwargs = {}
        if method == "POST":
            data = dict(self.forms.get(urlsplit(url).path, {}))
            data["csrf_token"] = client.csrf
            kwargs["data"] = data
        response, changed = self.send(client, method, url, **kwargs)
        where = f"{role or 'anonymous'} {method} {url}"
        if response.status_code == 400 and b"CSRF" in response.get_data():
            self.problems.append(f"refused by CSRF, not by the role check: {where}")
        if mode == "out" and not self.refused(response):
            self.problems.append(f"out of scope answered {response.status_code}: {where}")
        if method == "POST":
            allowed = role in MAY_POST.get(rule.endpoint, frozenset()) and mode == "in"
            self.allowed_changes += changed and allowed
            if changed and (not allowed or self.refused(response)):
                self.problems.append(f"forbidden POST changed data ({response.status_code}): "
                                     f"{where}")
        if response.status_code == 200 and secrets:
            # text pages, JSON and CSV; an xlsx is zipped and not searched here
            body = response.get_data().decode("utf-8", errors="replace")
            for secret in secrets:
                if secret in body:
                    self.problems.append(f"leak of {secret!r}: {where}")


def test_param_and_post_tables_cover_the_url_map(matrix_app):
    app, _world = matrix_app
    for rule in app.url_map.iter_rules():
        for name in int_params(rule):
            _model_of(rule, name)
        if "POST" in rule.methods:
            assert rule.endpoint in MAY_POST, f"{rule.rule}: add {rule.endpoint} to MAY_POST"


def test_no_leak_no_forbidden_change_no_server_error(matrix_app):
    app, world = matrix_app
    matrix = Matrix(app, world)
    matrix.harvest()
    for role in ROLES:
        matrix.check_role(role)
    print(f"access matrix: {matrix.requests} requests, {len(matrix.forms)} forms, "
          f"{matrix.allowed_changes} allowed POSTs changed data")
    assert matrix.allowed_changes >= 20, "the POSTs no longer change anything: a blind matrix"
    assert not matrix.problems, f"{len(matrix.problems)} problems:\n" + "\n".join(
        matrix.problems[:80])
