"""Stored eligibility results: the engine run over stored records, kept fresh on every change.

A saved change to a firm is recomputed once, just before its commit, as the first stage of the
after-save pipeline (tracker.changes). The nightly task looks at everything, but a verdict holds
until the first day the rules read its facts differently (its valid_through: the fiscal-year
switch, an age threshold, a title's dates), so a firm nothing happened to is left alone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ARRAY,
    Date,
    Integer,
    String,
    Text,
    bindparam,
    cast,
    func,
    select,
    update,
)

from tracker import snapshots
from tracker.clock import now_utc, today
from tracker.enterprises.models import Enterprise
from tracker.extensions import db
from tracker.ladder import gaps, validity
from tracker.ladder.facts import build_facts, facts_valid_through
from tracker.ladder.inputs import among, fact_rows, facts_changed_at, settled_on
from tracker.ladder.models import EligibilityResult, Qualification
from tracker.ladder.rules import KINDS, FactsError, evaluate
from tracker.ladder.services import local_thresholds


def evaluate_facts(facts: dict[str, Any]) -> dict[str, Any]:
    """evaluate() with the admin-set local thresholds: what the page, API and CLI all call."""
    return evaluate(facts, local_thresholds=local_thresholds())


def evaluate_enterprise(enterprise: Enterprise, as_of: date | None = None, *,
                        qualifications: Iterable[Qualification] | None = None
                        ) -> dict[str, Any]:
    """Evaluate one firm's stored records now (not stored); raises FactsError on bad records."""
    return evaluate_facts(build_facts(enterprise, as_of or today(),
                                      qualifications=qualifications))


def _error_result(kind: str, exc: FactsError) -> dict[str, Any]:
    return {"kind": kind, "label": KINDS[kind], "rule_version": None,
            "verdict": "insufficient_data", "score": None, "track": None, "criteria": [],
            "errors": exc.errors}


def is_candidate(result: dict[str, Any]) -> bool:
    """Eligible, or every measurable criterion passes and only experts are left.

    A rung whose local thresholds are not configured yet also reads needs_review, but nothing
    was measured: that firm is not a candidate until an admin sets the thresholds.
    """
    if result["verdict"] == "eligible":
        return True
    return result["verdict"] == "needs_review" and not any(
        c["code"] == "local_thresholds" for c in result["criteria"])


def _rules_code() -> str:
    """A digest of the rules' source: a deploy that changes a rule changes every stamp."""
    global _RULES_CODE
    if _RULES_CODE is None:
        here = Path(__file__).resolve().parent
        digest = hashlib.sha1(usedforsecurity=False)
        for path in sorted([*here.joinpath("rules").glob("*.py"), here / "gaps.py",
                            here / "facts.py", here / "results.py"]):
            digest.update(path.read_bytes())
        _RULES_CODE = digest.hexdigest()
    return _RULES_CODE


_RULES_CODE: str | None = None


def _inputs_stamper(thresholds: dict[str, Any]) -> tuple[Callable[[dict[str, Any]], str], str]:
    """(facts -> the digest of everything evaluate() reads for them, the rules' tag).

    The digest is 32 hex digits over the facts but their date, the local thresholds and the
    rules' code, then the 8-digit tag of the thresholds and code alone: a stored digest ending
    in another tag was computed under other rules, whatever its facts. The date is left out
    because a stored digest is compared only on a day within the stored results' window
    (as_of … valid_through), where the rules read the same facts the same way.
    """
    fixed = json.dumps([thresholds, _rules_code()], sort_keys=True, default=str)
    tag = hashlib.sha1(fixed.encode(), usedforsecurity=False).hexdigest()[:_TAG]

    def stamp(facts: dict[str, Any]) -> str:
        undated = {k: v for k, v in facts.items() if k != "as_of"}
        text = json.dumps(undated, sort_keys=True, default=str) + fixed
        return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:40 - _TAG] + tag

    return stamp, tag


#: hex digits of the rules' tag at the end of every inputs_hash
_TAG = 8


def compact(result: dict[str, Any]) -> dict[str, Any]:
    """The stored form of one rung's result: what the lists, board and panel read.

    The full criteria (a kilobyte or two) are recomputed from the facts on display (the
    enterprise page and the API evaluate afresh); stored are the rule version, the track and
    the codes of the failed criteria, and the parse errors of contradictory records.
    """
    out: dict[str, Any] = {"rule_version": result["rule_version"], "track": result["track"],
                           "failed": [c["code"] for c in result["criteria"]
                                      if c["status"] == "fail"]}
    if result.get("errors"):
        out["errors"] = result["errors"]
    return out


def stored_values(result: dict[str, Any]) -> dict[str, Any]:
    """The columns stored for one rung's result (all but the stamps and candidate_since)."""
    verdict = result["verdict"]
    stored = compact(result)
    miss = gaps.near_miss(result) if verdict == "ineligible" else None
    return {"verdict": verdict, "score": result["score"], "result": stored,
            "near_miss": miss, "near_miss_code": miss["code"] if miss else None,
            # is_candidate: only needs_review reads the criteria again
            "candidate": verdict == "eligible" or (
                verdict == "needs_review" and is_candidate(result)),
            # the failed criteria's codes, counted once (compact lists them)
            "failed_count": len(stored["failed"])}


#: what follows a recompute that changed stored results, in its transaction: firm ids in.
#: Registered by the features reading the results (the dashboard's maintained figures), so
#: the ladder imports none of them.
RESULTS_CHANGED: list[Callable[[list[int]], Any]] = []
#: what follows a recompute whose stored results newly hold for some firms (values changed, or
#: a stale mark cleared), unless the caller handles those firms itself (recount=False: the
#: after-save pipeline's later stages). Registered by the reminders' scheduled sweep.
RESULTS_FRESH: list[Callable[[list[int]], Any]] = []


def settled_firms(enterprise_ids: list[int], day: date) -> set[int]:
    """The firms whose stored results hold on `day` with nothing to look at (settled_on,
    under the current rules): their facts, titles and rung as they were computed from."""
    return settled_on(enterprise_ids, day, _inputs_stamper(local_thresholds())[1], len(KINDS))


def recompute(enterprise_ids: Iterable[int], as_of: date | None = None, *,
              force: bool = False, trust_stamps: bool = False, recount: bool = True,
              qualifications: dict[int, list[Any]] | None = None,
              rungs_current: bool = False) -> int:
    """Recompute the stored results of these firms, writing only what changed; flushes.

    A firm whose inputs (facts, thresholds, rules) hash to what its stored results were
    computed from, on a day within their window (as_of … valid_through), is not evaluated again
    (`force` evaluates it anyway). With `trust_stamps` (the nightly run) a firm whose results
    hold on the day, were computed after its facts last changed (their updated_at), under the
    same rules and not marked stale, is not even read: the run that wrote them saw the same
    facts, and nothing is written for it. A save goes through the after-save
    pipeline, which recomputes at once, so only changes made around the services are left to
    the digest. Reads are column-wise (tracker.ladder.inputs); writes are one statement per
    kind of write, each row written only if one of its values changed. Returns how many firms
    were looked at.

    The dashboard's maintained figures count the stored candidates: the firms whose results
    changed are handed to RESULTS_CHANGED in this transaction, so a worker's recompute (the
    nightly fan-out, an import's hand-off) leaves them current, and the firms whose results
    newly hold (changed, or a stale mark cleared) to RESULTS_FRESH (the reminders' scheduled
    sweep marks them). `recount=False`: the caller handles the same firms itself (the after-save
    pipeline's aggregates and reminder stages).
    `qualifications`: the firms' title rows (inputs.qualification_rows) when the caller read
    them in this transaction already (the nightly run reads them for the rungs first).

    Stored digests also vouch for the firm's rung: the nightly run derives no rung for a
    settled firm. A firm whose rung lags its titles (one ran out or began since the rung was
    last derived: only the nightly run derives rungs) gets its results without a digest, so the
    next nightly run looks at it, rung first. `rungs_current`: the caller derived the rungs of
    these firms today (the nightly run), nothing to compare.
    """
    ids = sorted(set(enterprise_ids))
    if not ids:
        return 0
    day = as_of or today()
    started = now_utc()
    thresholds = local_thresholds()
    stamp_of, tag = _inputs_stamper(thresholds)
    skip = settled_on(ids, day, tag, len(KINDS)) if trust_stamps and not force else set()
    look = [i for i in ids if i not in skip]
    if not look:
        return len(skip)
    # the firms' facts and stale marks, read after `started` (what _clear_stale compares)
    firms, metrics, quals = fact_rows(look, qualifications)
    stale = {i: firm.eligibility_stale_since for i, firm in firms.items()}
    look = [i for i in look if i in stale]
    stored = _stored_rows(look)

    def settled(i: int) -> str | None:
        """The one digest every rung of the firm was computed from, if they all hold today."""
        rows = stored[i].values()
        hashes = {r.inputs_hash for r in rows}
        if len(rows) != len(KINDS) or len(hashes) != 1 or not all(
                r.as_of <= day <= (r.valid_through or r.as_of) for r in rows):
            return None
        return next(iter(hashes))

    lagging = set() if rungs_current else {
        i for i in look if validity.rung_on(quals[i], day) != firms[i].current_rung}
    todo, matched = [], []
    for i in look:
        facts = build_facts(firms[i], day, metrics=metrics[i], qualifications=quals[i])
        stamp = None if i in lagging else stamp_of(facts)
        if not force and stamp is not None and settled(i) == stamp:
            matched.append(i)
            continue
        todo.append((i, facts, stamp, facts_valid_through(firms[i], day, quals[i], facts)))
    # the same facts within the window under the same rules: the same verdicts; their
    # computed_at moves only if a fact was touched since (the freshness invariant). When the
    # facts last changed is read for these firms alone: a first run matches none of them
    changed_at = facts_changed_at(matched) if matched else {}
    computed_at = _computed_at(matched) if matched else {}
    confirmed = [i for i in matched
                 # computed after the facts last changed (strictly: a frozen clock ties)
                 if not computed_at[i] > changed_at[i]]
    for start in range(0, len(confirmed), _STALE_BATCH):
        db.session.execute(
            update(_R).where(among(_R.enterprise_id, confirmed[start:start + _STALE_BATCH]))
            .values(computed_at=started).execution_options(synchronize_session=False))
    changed = _write(todo, stored, thresholds, day)
    if changed:
        snapshots.bump()  # candidate counts read these rows
        if recount:
            for follow in RESULTS_CHANGED:
                follow(sorted(changed))
    marked = [i for i, since in stale.items() if since is not None]
    if marked:
        _clear_stale(marked, started)
    if recount and (changed or marked):
        for follow in RESULTS_FRESH:
            follow(sorted(changed | set(marked)))
    _expire_loaded({t[0] for t in todo} | set(confirmed))
    db.session.flush()
    return len(skip) + len(stale)


#: the columns compared before a stored row is written again
_VALUES = ("verdict", "score", "result", "near_miss", "near_miss_code", "candidate",
           "failed_count")
#: of those, the JSON ones: read as their stored text, decoded only when the text differs
_JSON_VALUES = ("result", "near_miss")


def _stored_rows(enterprise_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Each firm's stored rows by kind: their window, digest and values, in one read.

    The JSON values come as the text they were stored as: decoding them (two per row, most
    of a first run's reading) is left to the few rows whose text is not what the run would
    write (_same_json). The timestamps, parsed row by row on SQLite, are read where needed:
    computed_at for the firms whose digest matched, candidate_since for rows rewritten.
    """
    stored: dict[int, dict[str, Any]] = {i: {} for i in enterprise_ids}
    if not enterprise_ids:
        return stored
    columns = [cast(getattr(_R, c), Text).label(c) if c in _JSON_VALUES else getattr(_R, c)
               for c in _VALUES]
    for row in db.session.execute(
            select(_R.id, _R.enterprise_id, _R.kind, _R.as_of, _R.valid_through,
                   _R.inputs_hash, *columns)
            .where(among(_R.enterprise_id, enterprise_ids))):
        stored[row.enterprise_id][row.kind] = row
    return stored


def _computed_at(enterprise_ids: list[int]) -> dict[int, datetime]:
    """When each firm's stored results were last computed or confirmed (its oldest row's)."""
    return dict(db.session.execute(
        select(_R.enterprise_id, func.min(_R.computed_at))
        .where(among(_R.enterprise_id, enterprise_ids)).group_by(_R.enterprise_id)).all())


def _same_json(stored: str | None, value: Any) -> bool:
    """Whether a JSON column's stored text holds `value` (what reading it would compare).

    The text the run would store is the same text when nothing changed (the values are plain
    JSON: dicts, lists, strings, numbers); any other spelling is decoded and compared. SQL NULL
    and JSON null both read as None, as the JSON column does.
    """
    if value is None:
        return stored is None or stored == "null" or json.loads(stored) is None
    return stored is not None and (stored == _encode(value) or json.loads(stored) == value)


#: a rewritten row's candidate_since that stays as stored
_KEPT = object()

#: json.dumps with its defaults (the JSON columns' serializer), without its keyword checks
_encode = json.JSONEncoder().encode


def _unchanged(row: Any, values: dict[str, Any]) -> bool:
    return (row.verdict == values["verdict"] and row.score == values["score"]
            and row.near_miss_code == values["near_miss_code"]
            and row.candidate == values["candidate"]
            and row.failed_count == values["failed_count"]
            and _same_json(row.result, values["result"])
            and _same_json(row.near_miss, values["near_miss"]))


def _write(todo: list[tuple[int, dict[str, Any], str, date]],
           stored: dict[int, dict[str, Any]], thresholds: dict[str, Any],
           day: date) -> set[int]:
    """Evaluate these firms and write their rows: new ones inserted, changed values updated,
    rows whose values stand get their new stamps only. `stored`: the firms' rows as
    _stored_rows read them. Returns the firms whose values changed."""
    if not todo:
        return set()
    table = EligibilityResult.__table__
    now = now_utc()
    inserts: list[dict[str, Any]] = []
    rewrites: list[dict[str, Any]] = []
    restamps: list[dict[str, Any]] = []
    firm_restamps: list[dict[str, Any]] = []
    changed: set[int] = set()
    for enterprise_id, facts, stamp, valid_through in todo:
        old = stored[enterprise_id]
        kept = 0
        try:
            found = evaluate(facts, local_thresholds=thresholds)["results"]
        except FactsError as exc:  # stored figures contradict each other: say so, keep going
            found = [_error_result(kind, exc) for kind in KINDS]
        for result in found:
            values = stored_values(result)
            stamps = {"as_of": day, "valid_through": valid_through, "computed_at": now,
                      "inputs_hash": stamp}
            row = old.get(result["kind"])
            if row is None:
                inserts.append({"enterprise_id": enterprise_id, "kind": result["kind"],
                                "candidate_since": now if values["candidate"] else None,
                                **values, **stamps})
            elif not _unchanged(row, values):
                # a rung still a candidate keeps the day it became one (read below)
                since = (_KEPT if row.candidate else now) if values["candidate"] else None
                rewrites.append({"row_id": row.id, "candidate_since": since, **values, **stamps})
                changed.add(enterprise_id)
            else:
                # an unchanged verdict keeps its stored values: only its date stamps move
                restamps.append({"row_id": row.id, **stamps})
                kept += 1
        if kept == len(KINDS) == len(old):
            # every row of the firm restamped: one row of parameters for the firm
            del restamps[-kept:]
            firm_restamps.append({"firm_id": enterprise_id, "valid_through": valid_through,
                                  "inputs_hash": stamp})
    kept_since = [p["row_id"] for p in rewrites if p["candidate_since"] is _KEPT]
    if kept_since:
        since_of = dict(db.session.execute(select(_R.id, _R.candidate_since)
                                           .where(among(_R.id, kept_since))).all())
        for p in rewrites:
            if p["candidate_since"] is _KEPT:
                p["candidate_since"] = since_of[p["row_id"]]
    if inserts:
        db.session.execute(table.insert(), inserts)
    for params in (rewrites, restamps):
        if params:
            db.session.execute(table.update().where(table.c.id == bindparam("row_id")), params)
    if firm_restamps:
        _restamp_firms(firm_restamps, day, now)
    return changed | {row["enterprise_id"] for row in inserts}


def _restamp_firms(params: list[dict[str, Any]], day: date, now: datetime) -> None:
    """The stamps a firm's rows share, sent once per firm instead of once per rung (the rows
    a first run writes are mostly these).

    On PostgreSQL in one statement joining the firms' stamps as arrays: a statement per firm
    is a thousand round trips and index probes a chunk. Elsewhere one parameter set per firm.
    """
    table = EligibilityResult.__table__
    if db.session.get_bind().dialect.name != "postgresql":
        db.session.execute(table.update().where(table.c.enterprise_id == bindparam("firm_id"))
                           .values(as_of=day, computed_at=now), params)
        return
    stamps = func.unnest(
        bindparam("firm_ids", [p["firm_id"] for p in params], type_=ARRAY(Integer)),
        bindparam("valid_through", [p["valid_through"] for p in params], type_=ARRAY(Date)),
        bindparam("inputs_hash", [p["inputs_hash"] for p in params], type_=ARRAY(String)),
    ).table_valued("firm_id", "valid_through", "inputs_hash").render_derived()
    db.session.execute(table.update().where(table.c.enterprise_id == stamps.c.firm_id)
                       .values(as_of=day, computed_at=now, valid_through=stamps.c.valid_through,
                               inputs_hash=stamps.c.inputs_hash))


def _expire_loaded(enterprise_ids: set[int]) -> None:
    """Loaded result objects of these firms read their rows again (written with Core)."""
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, EligibilityResult) and obj.enterprise_id in enterprise_ids:
            db.session.expire(obj)


_R = EligibilityResult


#: enterprises per UPDATE when marking or clearing stale results
_STALE_BATCH = 500


def mark_stale(enterprise_ids: Iterable[int]) -> None:
    """Say these firms' stored results lag their facts until a recompute clears it; flushes.

    Set in the same transaction as the change (a bulk commit handing the recompute to a
    worker) or after a failed recompute, so a lost task leaves a visible, repairable mark.
    """
    ids = sorted(set(enterprise_ids))
    now = now_utc()
    for start in range(0, len(ids), _STALE_BATCH):
        db.session.execute(
            update(Enterprise)
            .where(among(Enterprise.id, ids[start:start + _STALE_BATCH]),
                   Enterprise.eligibility_stale_since.is_(None))
            # not an edit of the firm: its updated_at and version stay as they are
            .values(eligibility_stale_since=now, updated_at=Enterprise.updated_at)
            .execution_options(synchronize_session="fetch"))


def mark_all_stale() -> None:
    """Every active firm's results lag (a threshold changed): one UPDATE; flushes."""
    db.session.execute(
        update(Enterprise)
        .where(Enterprise.status == "active", Enterprise.eligibility_stale_since.is_(None))
        .values(eligibility_stale_since=now_utc(), updated_at=Enterprise.updated_at)
        .execution_options(synchronize_session="fetch"))


def _clear_stale(ids: list[int], computed_from: datetime) -> None:
    """Clear marks set before this recompute read the facts; a later mark stays."""
    for start in range(0, len(ids), _STALE_BATCH):
        db.session.execute(
            update(Enterprise)
            .where(among(Enterprise.id, ids[start:start + _STALE_BATCH]),
                   Enterprise.eligibility_stale_since <= computed_from)
            .values(eligibility_stale_since=None, updated_at=Enterprise.updated_at)
            .execution_options(synchronize_session="fetch"))


#: built once, run with the firm's id (the enterprise page runs it on every view)
_RESULTS_FOR = select(EligibilityResult).where(
    EligibilityResult.enterprise_id == bindparam("enterprise_id"))


def results_for(enterprise_id: int) -> dict[str, EligibilityResult]:
    """Stored results of one firm keyed by kind, in ladder order."""
    rows = db.session.scalars(_RESULTS_FOR, {"enterprise_id": enterprise_id})
    by_kind = {r.kind: r for r in rows}
    return {k: by_kind[k] for k in KINDS if k in by_kind}
