"""Synthetic firms at scale for benchmarks: `flask demo generate --firms N [--seed S]`.

Fills an empty migrated database with a realistic spread (weighted zones, the 8 technology
fields, four fiscal years of figures, the ladder's usual proportions of titles, contacts,
carriers, tenancies and applications) in chunks of bounded size: COPY on PostgreSQL, multi-row
inserts on SQLite. The rung and ladder history are derived from the titles by the same pure
rules the services use, and the stored eligibility results come from `results.recompute`, so
every page reads what the product itself would have stored (on PostgreSQL worker processes
recompute each committed chunk while the next is written); the reminders sweep then inserts
what is due and the dashboard's figures are recounted, as beat would.
"""

from __future__ import annotations

import functools
import json
import math
import multiprocessing
import random
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import JSON, Table, func, select, text

from tracker.accounts import services as accounts
from tracker.accounts.models import User
from tracker.clock import now_utc, today
from tracker.enterprises.models import AnnualMetrics, Contact, Enterprise, derived_columns
from tracker.enterprises.uscc import make_code
from tracker.extensions import db
from tracker.incubation.models import DEFAULT_TERM_MONTHS, Carrier, Tenancy
from tracker.ladder import results, validity
from tracker.ladder.models import Application, Qualification, StageTransition
from tracker.names import pinyin_keys
from tracker.reminders.incremental import full_pass

#: generated firms are numbered here, away from the demo's, the tests' and the bench's serials
GENERATED_SERIALS = 2 * 31**8

#: share of firms per zone (the bureau's rough picture: TEDA and the hi-tech zone dominate)
ZONE_WEIGHTS = {"teda": 30, "hitech": 25, "towns": 20, "bonded": 10, "ecocity": 10,
                "dongjiang": 5}
FIELD_WEIGHTS = {"electronic_information": 30, "advanced_manufacturing": 20,
                 "high_tech_services": 15, "biomedicine": 10, "new_materials": 10,
                 "new_energy": 7, "resources_environment": 5, "aerospace": 3}

#: share of firms holding a valid title of each kind today (issue 12's spread)
VALID_SHARE = {"tech_sme": 0.40, "hnte": 0.10, "chuying": 0.06, "dengling": 0.02,
               "leader_cultivation": 0.005, "leader": 0.002}
#: share of firms with figures at all, and of those with all four fiscal years
METRICS_SHARE, FULL_YEARS_SHARE = 0.92, 0.90

PLACES = ["海河", "渤海", "泰达", "津滨", "华创", "中科", "云帆", "北洋", "鲲鹏", "蓝海", "星辰",
          "瀚海", "东疆", "滨城", "融创", "恒瑞", "博远", "天元", "汇智", "长风", "启明", "九州",
          "金桥", "新港", "盛世", "万通", "联合", "宏达", "银河", "弘毅"]
WORDS = ["智能", "生物", "新材料", "信息", "医药", "能源", "装备", "数据", "海洋", "芯片", "环境",
         "软件", "光电", "精密", "机器人", "储能", "基因", "检测", "网络", "航天", "节能", "声学",
         "云计算", "物联", "合成", "仪器", "电池", "激光", "视觉", "安全"]
SUFFIXES = ["科技有限公司", "技术有限公司", "科技股份有限公司", "研究院有限公司",
            "科技发展有限公司"]
SURNAMES = "张王李赵陈刘杨黄周吴徐孙马朱胡郭何高林罗"
GIVEN = "伟芳磊静敏强丽军洋勇艳杰娟涛明超秀霞平刚"
HONOUR_CODES = ["provincial_rd_institution", "sci_project", "drafted_standard",
                "software_certified", "sci_award", "vc_investment_1m"]
CARRIER_WORD = {"maker_space": "创客空间", "incubator": "孵化器", "science_park": "科技园",
                "university_park": "大学科技园"}
APPLICATION_STATUSES = ["planned", "preparing", "submitted", "approved", "rejected"]
#: firms written per round: a few MB of rows in memory whatever N is
CHUNK = 2000


@dataclass
class Generated:
    """What one run wrote, for the command's summary and the tests."""

    firms: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, table: str, n: int) -> None:
        self.rows[table] = self.rows.get(table, 0) + n

    @contextmanager
    def clock(self, phase: str) -> Iterator[None]:
        """Add the time spent inside to `phase` (the command prints where a run went)."""
        began = time.perf_counter()
        try:
            yield
        finally:
            spent = time.perf_counter() - began
            self.seconds[phase] = round(self.seconds.get(phase, 0.0) + spent, 2)


class GenerateError(RuntimeError):
    """The database is not in a state the generator can fill (it holds firms already)."""


# --------------------------------------------------------------------------------------------
# Writing rows: COPY on PostgreSQL, executemany elsewhere
# --------------------------------------------------------------------------------------------


def _column_defaults(table: Table) -> dict[str, Callable[[], Any]]:
    """Python-side defaults of a table's columns (a bulk write bypasses the ORM's)."""
    found: dict[str, Callable[[], Any]] = {}
    for column in table.columns:
        default = column.default
        if default is None:
            continue
        if default.is_scalar:
            found[column.name] = lambda v=default.arg: v
        elif default.is_callable:
            found[column.name] = lambda f=default.arg: f(None)
    return found


class _Writer:
    """Writes plain dict rows into tables within the session's transaction."""

    def __init__(self, summary: Generated) -> None:
        self.summary = summary
        self.postgres = db.session.get_bind().dialect.name == "postgresql"
        self._defaults: dict[str, dict[str, Callable[[], Any]]] = {}

    def write(self, table: Table, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        defaults = self._defaults.setdefault(table.name, _column_defaults(table))
        names = [c.name for c in table.columns]
        for row in rows:
            for name, make in defaults.items():
                if name not in row:
                    row[name] = make()
        if self.postgres:
            self._copy(table, names, rows)
        else:
            db.session.execute(table.insert(), [{n: r.get(n) for n in names} for r in rows])
        self.summary.add(table.name, len(rows))

    def _copy(self, table: Table, names: list[str], rows: list[dict[str, Any]]) -> None:
        json_columns = {c.name for c in table.columns if isinstance(c.type, JSON)}
        raw = db.session.connection().connection.driver_connection
        columns = ", ".join(f'"{n}"' for n in names)
        with raw.cursor() as cursor, cursor.copy(
                f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row([
                    json.dumps(row.get(n), ensure_ascii=False)
                    if n in json_columns and row.get(n) is not None else row.get(n)
                    for n in names])

    def reset_sequences(self, tables: Iterable[Table]) -> None:
        """After explicit ids, let the next ordinary INSERT continue above them."""
        if not self.postgres:
            return  # SQLite's INTEGER PRIMARY KEY already continues from max(id)
        for table in tables:
            # table names come from our own models, never from input
            sql = (f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "  # noqa: S608
                   f'COALESCE((SELECT max(id) FROM "{table.name}"), 0) + 1, false)')
            db.session.execute(text(sql))


class _Ids:
    """Explicit primary keys, so child rows can reference parents written in the same COPY."""

    def __init__(self, tables: Iterable[Table]) -> None:
        self._next = {t.name: (db.session.scalar(select(func.max(t.c.id))) or 0) + 1
                      for t in tables}

    def take(self, table: Table) -> int:
        value = self._next[table.name]
        self._next[table.name] = value + 1
        return value


# --------------------------------------------------------------------------------------------
# One firm's records
# --------------------------------------------------------------------------------------------


@dataclass
class _Title:
    """A qualification's dates, enough for validity.rung_timeline (which wants status_on)."""

    id: int
    kind: str
    granted_on: date
    valid_until: date | None
    revoked_on: date | None = None

    def status_on(self, day: date) -> str:
        return validity.status_on(self, day)


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _name(rng: random.Random) -> tuple[str, tuple[str, str]]:
    """A firm name and its pinyin keys (what names.pinyin_keys gives for the whole name).

    Core inserts bypass the model's name listener, so the keys are computed here. Spelling a
    name costs ~0.25 ms and the parts make 135,000 distinct names, so each part is spelled
    once and the keys are joined: no part forms a word with its neighbour, which the tests
    check for every adjacent pair (and which held for all 135,000 names when checked whole).
    """
    parts = ("天津", rng.choice(PLACES), rng.choice(WORDS), rng.choice(WORDS),
             rng.choice(SUFFIXES))
    spelled = [_part_keys(p) for p in parts]
    return "".join(parts), ("".join(k[0] for k in spelled), "".join(k[1] for k in spelled))


#: each name part's keys, spelled once
_part_keys = functools.cache(pinyin_keys)


def _money(value: float) -> Decimal:
    return Decimal(max(int(value), 0))


def _titles(rng: random.Random, day: date, founded: date) -> list[tuple[str, date, date | None]]:
    """(kind, granted_on, valid_until) for one firm: the spread of VALID_SHARE, plus history."""
    held: list[tuple[str, date, date | None]] = []
    earliest = founded + timedelta(days=180)  # nobody is recognised in its first months

    def grant(kind: str, days_ago: int) -> None:
        granted = max(day - timedelta(days=days_ago), earliest)
        if granted <= day:
            held.append((kind, granted, validity.default_valid_until(kind, granted)))

    this_year = (day - date(day.year, 1, 1)).days  # days since 1 January
    roll = rng.random()
    if roll < VALID_SHARE["tech_sme"]:  # registered this year, often in earlier years too
        grant("tech_sme", rng.randint(0, this_year))
        for back in (1, 2):
            if rng.random() < 0.6:
                grant("tech_sme", this_year + 1 + (back - 1) * 365 + rng.randint(0, 364))
    elif roll < 0.55:  # registered once, lapsed
        grant("tech_sme", this_year + 1 + rng.randint(0, 3 * 365))
    hnte = rng.random()
    if hnte < VALID_SHARE["hnte"]:
        grant("hnte", rng.randint(0, 3 * 365 - 5))
    elif hnte < 0.14:  # certificates that ran out
        grant("hnte", rng.randint(3 * 365 + 5, 6 * 365))
    tianjin = rng.random()
    cumulative = 0.0
    for kind in ("leader", "leader_cultivation", "dengling", "chuying"):
        cumulative += VALID_SHARE[kind]
        if tianjin < cumulative:  # Tianjin titles have no end date until a batch gets one
            grant(kind, rng.randint(0, 4 * 365))
            break
    return held


def _firm(rng: random.Random, ids: _Ids, serial: int, day: date, now: datetime,
          officers: dict[str, int], carriers: list[dict[str, Any]],
          out: dict[str, list[dict[str, Any]]]) -> None:
    """Append one firm and its child rows to `out` (table name -> rows)."""
    firm_id = ids.take(Enterprise.__table__)
    zone = _weighted(rng, ZONE_WEIGHTS)
    founded = date(day.year - 1, 1, 1) - timedelta(days=int(rng.expovariate(1 / 4000)))
    founded = max(founded, date(1990, 1, 1))
    titles: list[_Title] = []
    for kind, granted, valid_until in _titles(rng, day, founded):
        titles.append(_Title(ids.take(Qualification.__table__), kind, granted, valid_until))
    timeline = validity.rung_timeline(titles, day)
    honours = rng.sample(HONOUR_CODES, rng.choices([0, 1, 2], weights=[70, 22, 8])[0])
    name, keys = _name(rng)
    code = make_code(GENERATED_SERIALS + serial)
    out["enterprises"].append({
        "id": firm_id, "uscc": code, "name": name,
        **derived_columns(name, code, spell=lambda _name: keys),
        "zone": zone, "street": None, "founded_on": founded,
        "tech_field": _weighted(rng, FIELD_WEIGHTS) if rng.random() < 0.95 else None,
        "industry_tags": [], "officer_id": officers.get(zone),
        "status": "active" if rng.random() < 0.97 else "archived",
        "honours": honours, "innovation_score": rng.randint(40, 95) if rng.random() < 0.3
        else None,
        "current_rung": timeline[-1].to_stage if timeline else None,
        "created_at": now, "updated_at": now,
    })
    for title in titles:
        number = (f"GR{title.granted_on.year}12{rng.randint(0, 999999):06d}"
                  if title.kind == "hnte" else
                  f"{title.granted_on.year}120116{rng.choice('0A')}{rng.randint(0, 9999999):07d}"
                  if title.kind == "tech_sme" else None)
        out["qualifications"].append({
            "id": title.id, "enterprise_id": firm_id, "kind": title.kind, "number": number,
            "granted_on": title.granted_on, "valid_until": title.valid_until,
            "batch": f"{title.granted_on.year}年第{rng.randint(1, 2)}批", "source": "import",
            "created_at": now})
    for step in timeline:
        out["stage_transitions"].append({
            "id": ids.take(StageTransition.__table__), "enterprise_id": firm_id,
            "chain": "ladder", "from_stage": step.from_stage, "to_stage": step.to_stage,
            "effective_on": step.effective_on, "recorded_at": now, "source": "import",
            "reason": "按资质日期生成", "qualification_id": step.cause.id if step.cause else None})
    for i in range(rng.choices([0, 1, 2], weights=[8, 70, 22])[0]):
        out["contacts"].append({
            "id": ids.take(Contact.__table__), "enterprise_id": firm_id,
            "name": rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if i else ""),
            "title": "总经理" if i == 0 else "财务负责人",
            "phone": f"022-6{rng.randint(1000000, 9999999)}",
            "email": f"c{serial}-{i}@generated.example", "receives_reminders": i == 0,
            "created_at": now})
    if rng.random() < METRICS_SHARE:
        _metrics(rng, ids, firm_id, founded, day, titles, out)
    if carriers and rng.random() < 0.08:
        _tenancy(rng, ids, firm_id, carriers, day, now, out)
    if rng.random() < 0.05:
        kind = rng.choice(["hnte", "tech_sme", "chuying", "dengling"])
        out["applications"].append({
            "id": ids.take(Application.__table__), "enterprise_id": firm_id, "kind": kind,
            "year": day.year, "batch": f"{day.year}年第1批",
            "status": rng.choices(APPLICATION_STATUSES, weights=[30, 30, 25, 10, 5])[0],
            "deadline": date(day.year, 9, 30), "created_at": now, "updated_at": now})


def _metrics(rng: random.Random, ids: _Ids, firm_id: int, founded: date, day: date,
             titles: list[_Title], out: dict[str, list[dict[str, Any]]]) -> None:
    """Up to four fiscal years before this one, growing the way the firm's titles suggest."""
    strong = any(t.kind in ("dengling", "leader", "leader_cultivation", "hnte") for t in titles)
    years = [y for y in range(day.year - 4, day.year) if y >= founded.year]
    if rng.random() > FULL_YEARS_SHARE:
        years = years[-rng.randint(1, 3):] if years else years
    revenue = math.exp(rng.gauss(16.0 if strong else 15.0, 1.3))  # 元: median ~3-9 M
    employees = max(3, int(math.exp(rng.gauss(3.6 if strong else 3.0, 0.9))))
    for year in years:
        growth = rng.uniform(0.15, 0.6) if strong else rng.uniform(-0.15, 0.35)
        revenue *= 1 + growth
        employees = max(3, int(employees * (1 + growth / 2)))
        rd = revenue * rng.uniform(0.02, 0.12)
        out["annual_metrics"].append({
            "id": ids.take(AnnualMetrics.__table__), "enterprise_id": firm_id,
            "fiscal_year": year, "employees": employees,
            "tech_staff": max(1, employees * rng.randint(8, 45) // 100),
            "revenue": _money(revenue), "total_income": _money(revenue * 1.02),
            "total_assets": _money(revenue * 1.4), "net_assets": _money(revenue * 0.6),
            "total_cost": _money(revenue * 0.85), "rd_expense": _money(rd),
            "rd_expense_domestic": _money(rd * 0.95),
            "high_tech_income": _money(revenue * rng.uniform(0.3, 0.9)),
            "class1_ip": rng.choices([0, 1, 2, 3], weights=[60, 20, 12, 8])[0],
            "class2_ip": rng.randint(0, 8), "source": "import"})


def _tenancy(rng: random.Random, ids: _Ids, firm_id: int, carriers: list[dict[str, Any]],
             day: date, now: datetime, out: dict[str, list[dict[str, Any]]], *,
             moved_in: date | None = None, previous: dict[str, Any] | None = None) -> None:
    """A stay in a carrier and its moves on the incubation chain, as the services record them.

    A stay that moved on is continued by the next one, opened the day it ended in another
    carrier (its move-in records the move: no closing transition, as close_tenancy writes).
    """
    carrier = rng.choice([c for c in carriers
                          if previous is None or c["id"] != previous["carrier_id"]])
    moved_in = moved_in or day - timedelta(days=rng.randint(30, 2500))
    term = validity.anniversary(moved_in, DEFAULT_TERM_MONTHS // 12)
    status = rng.choices(["incubating", "graduated", "exited", "moved_on"],
                         weights=[55, 25, 15, 0 if previous else 5])[0]
    if status == "incubating" and term < day:
        status = "graduated"
    ended = None if status == "incubating" else max(min(term, day - timedelta(days=1)),
                                                      moved_in)
    tenancy_id = ids.take(Tenancy.__table__)
    tenancy = {
        "id": tenancy_id, "enterprise_id": firm_id, "carrier_id": carrier["id"],
        "moved_in_on": moved_in, "term_ends_on": term, "status": status, "ended_on": ended,
        "graduation_basis": rng.choice(["hnte", "revenue", "investment"])
        if status == "graduated" else None,
        "area_m2": Decimal(rng.randint(20, 800)), "source": "import", "created_at": now,
        "previous_tenancy_id": previous["id"] if previous else None}
    out["tenancies"].append(tenancy)
    out["stage_transitions"].append({
        "id": ids.take(StageTransition.__table__), "enterprise_id": firm_id,
        "chain": "incubation", "from_stage": previous["kind"] if previous else None,
        "to_stage": carrier["kind"], "effective_on": moved_in, "recorded_at": now,
        "source": "import", "reason": f"入驻{carrier['name']}", "tenancy_id": tenancy_id})
    if status == "moved_on":
        _tenancy(rng, ids, firm_id, carriers, day, now, out, moved_in=ended,
                 previous={**tenancy, "kind": carrier["kind"]})
    elif ended is not None:
        out["stage_transitions"].append({
            "id": ids.take(StageTransition.__table__), "enterprise_id": firm_id,
            "chain": "incubation", "from_stage": carrier["kind"], "to_stage": status,
            "effective_on": ended, "recorded_at": now, "source": "import",
            "tenancy_id": tenancy_id})


# --------------------------------------------------------------------------------------------
# The results: results.recompute on each committed chunk, in worker processes on PostgreSQL
# --------------------------------------------------------------------------------------------

#: the app a worker process runs in (set once per process, inherited by fork)
_WORKER_APP: Any = None


def _worker_start(app: Any) -> None:
    """A forked worker drops the parent's pooled connections unclosed (they are the parent's
    sockets) and opens its own."""
    global _WORKER_APP
    _WORKER_APP = app
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)


def _recompute_range(first: int, stop: int, day: date) -> int:
    """What the sequential path does for one chunk, in a worker: the product's recompute."""
    with _WORKER_APP.app_context():
        results.recompute(range(first, stop), day)
        db.session.commit()
    return stop - first


class _Results:
    """Stores the eligibility results of each chunk once its rows are committed.

    Evaluating is most of a run's CPU; on PostgreSQL `workers` processes each recompute a
    chunk while this one builds and copies the next (the nightly run fans out the same way).
    SQLite allows one writer at a time, so there it runs in this process.
    """

    def __init__(self, workers: int, day: date, clock: Callable[[str], Any],
                 done: Callable[[int], None]) -> None:
        self.day, self.clock, self.done = day, clock, done
        self.pool: ProcessPoolExecutor | None = None
        self.pending: deque[Future[int]] = deque()
        self.workers = workers
        if workers > 1:
            # no connection may be open across the fork: the children would share its socket
            db.session.close()
            self.pool = ProcessPoolExecutor(
                workers, mp_context=multiprocessing.get_context("fork"),
                initializer=_worker_start, initargs=(current_app._get_current_object(),))

    def submit(self, first: int, stop: int) -> None:
        """Recompute firms [first, stop), whose rows this process has committed."""
        if self.pool is None:
            with self.clock("results"):
                results.recompute(range(first, stop), self.day)
                db.session.commit()
                db.session.expunge_all()
            self.done(stop - first)
            return
        while len(self.pending) >= 2 * self.workers:  # bounded: memory and connections
            self._collect()
        self.pending.append(self.pool.submit(_recompute_range, first, stop, self.day))

    def _collect(self) -> None:
        with self.clock("waiting for results"):
            self.done(self.pending.popleft().result())

    def finish(self) -> None:
        """Wait for every chunk (a worker's error is raised here)."""
        try:
            while self.pending:
                self._collect()
        finally:
            if self.pool is not None:
                self.pool.shutdown(cancel_futures=True)


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------

#: parents before children, so each COPY meets the foreign keys it needs
_TABLES = (Enterprise.__table__, Qualification.__table__, Contact.__table__,
           AnnualMetrics.__table__, Carrier.__table__, Tenancy.__table__, Application.__table__,
           StageTransition.__table__)


def _officers() -> dict[str, int]:
    """One zone officer per zone (no usable password: they exist to own firms)."""
    found: dict[str, int] = {}
    for zone in ZONE_WEIGHTS:
        email = f"officer-{zone}@generated.example"
        user = db.session.scalar(select(User).where(User.email == email)) \
            or accounts.create_user(email, secrets.token_urlsafe(24), "zone", zone=zone,
                                    name=f"{zone}联络员")
        found[zone] = user.id
    return found


def _carriers(rng: random.Random, ids: _Ids, n_firms: int, now: datetime,
              writer: _Writer) -> list[dict[str, Any]]:
    kinds = ["maker_space", "incubator", "incubator", "science_park", "university_park"]
    schemes = {"maker_space": ["national_maker_space", "tianjin_municipal", "none"],
               "incubator": ["most_2018_national", "miit_2025_standard", "tianjin_municipal",
                             "district"],
               "science_park": ["tianjin_municipal", "district"],
               "university_park": ["most_2018_national", "tianjin_municipal"]}
    rows = []
    for i in range(max(3, n_firms // 250)):
        kind = kinds[i % len(kinds)]
        rows.append({
            "id": ids.take(Carrier.__table__),
            "name": (name := f"{rng.choice(PLACES)}{rng.choice(WORDS)}{CARRIER_WORD[kind]}"
                             f"{i + 1:04d}"),
            "name_pinyin": pinyin_keys(name)[0],
            "kind": kind, "scheme": rng.choice(schemes[kind]), "zone": _weighted(rng, ZONE_WEIGHTS),
            "area_m2": rng.randint(800, 90000), "recognised_on": date(2015 + i % 10, 6, 1),
            "created_at": now})
    writer.write(Carrier.__table__, rows)
    return rows


def generate(n_firms: int, seed: int = 1, *, chunk: int = CHUNK, workers: int = 1,
             progress: Callable[[int, int], None] | None = None) -> Generated:
    """Fill an empty database with `n_firms` firms; commits per chunk (bounded memory).

    `workers` > 1 recomputes the results in that many processes (PostgreSQL only; the data
    is the same whatever the number).

    Raises GenerateError when the database already holds firms: the generator owns its ids.
    """
    if db.session.scalar(select(func.count()).select_from(Enterprise)):
        raise GenerateError("the database already holds enterprises; generate needs an empty one")
    rng = random.Random(seed)
    summary = Generated()
    clock = summary.clock
    writer = _Writer(summary)
    day, now = today(), now_utc()
    with clock("setup"):
        officers = _officers()
        ids = _Ids(_TABLES)
        carriers = _carriers(rng, ids, n_firms, now, writer)
        db.session.commit()
    def done(firms: int) -> None:
        summary.firms += firms
        if progress:
            progress(summary.firms, n_firms)

    stored = _Results(workers if writer.postgres else 1, day, clock, done)
    analyze_at = chunk
    try:
        for start in range(0, n_firms, chunk):
            with clock("build"):
                out: dict[str, list[dict[str, Any]]] = {t.name: [] for t in _TABLES}
                first_id = ids._next[Enterprise.__table__.name]
                for serial in range(start, min(start + chunk, n_firms)):
                    _firm(rng, ids, serial, day, now, officers, carriers, out)
            with clock("write"):
                for table in _TABLES:
                    writer.write(table, out[table.name])
                del out
                db.session.commit()
            if writer.postgres and min(start + chunk, n_firms) >= analyze_at:
                # statistics after the first chunk and whenever the register has doubled:
                # autovacuum may not come round during a load, and planned blind each chunk's
                # `= ANY` reads scanned the growing tables whole (500,000 firms at 50 a second)
                analyze_at *= 2
                with clock("analyze"):
                    for table in (*_TABLES, results.EligibilityResult.__table__):
                        db.session.execute(text(f"ANALYZE {table.name}"))
                    db.session.commit()
            # the product's own path: evaluate and store, exactly as after a save
            stored.submit(first_id, ids._next[Enterprise.__table__.name])
    finally:
        stored.finish()
    writer.reset_sequences(_TABLES)
    db.session.commit()
    with clock("analyze"):
        # planner statistics for the new rows before the sweep and the recount read them
        # (autovacuum may not have come round: planned blind, the recount's candidate query
        # took minutes at 100,000 firms instead of a second). SQLite has no autovacuum at all:
        # without them it sorts every active firm for the list's first page instead of walking
        # the name index.
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    with clock("sweep"):
        # the reminders that are due, inserted by the sweep itself (the ledger has its rows);
        # the day's full pass, recorded: the recomputes' marks are covered by it
        summary.add("reminders", sum(full_pass(day)["inserted"].values()))
        db.session.commit()
    with clock("aggregates"):
        # the dashboard's maintained figures, counted once over the whole register (the chunks'
        # recomputes moved the counts version on: until now they read as stale)
        from tracker.dashboard import aggregates

        aggregates.refresh()
        db.session.commit()
    with clock("analyze"):
        # the tables written after the first ANALYZE (the sweep analyzes its ledger itself)
        for table in ("dashboard_firm_marks", "dashboard_aggregates"):
            db.session.execute(text(f"ANALYZE {table}"))
        db.session.commit()
    summary.add("eligibility_results", db.session.scalar(
        select(func.count()).select_from(results.EligibilityResult)))
    return summary
