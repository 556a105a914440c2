"""Stored eligibility results: the engine run over stored records, kept fresh on every change.

A saved change to a firm is recomputed once, just before its commit, as the first stage of the
after-save pipeline (tracker.changes). The nightly task recomputes everything (dates move on,
so do verdicts).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import defer, undefer

from tracker import snapshots
from tracker.clock import now_utc, today
from tracker.enterprises.models import AnnualMetrics, Enterprise
from tracker.extensions import db
from tracker.ladder import gaps
from tracker.ladder.facts import build_facts
from tracker.ladder.models import EligibilityResult, Qualification
from tracker.ladder.rules import KINDS, FactsError, evaluate
from tracker.ladder.services import local_thresholds, qualifications_by_enterprise


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


def _inputs_stamper(thresholds: dict[str, Any]) -> Callable[[dict[str, Any]], str]:
    """facts -> the digest of everything evaluate() reads for them (facts carry their date)."""
    fixed = json.dumps([thresholds, _rules_code()], sort_keys=True, default=str)

    def stamp(facts: dict[str, Any]) -> str:
        text = json.dumps(facts, sort_keys=True, default=str) + fixed
        return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()

    return stamp


def recompute(enterprise_ids: Iterable[int], as_of: date | None = None, *,
              force: bool = False) -> int:
    """Recompute and upsert the stored results of these firms; a fixed number of queries.

    A firm whose inputs (facts on the day, thresholds, rules) hash to what its stored results
    were computed from is skipped (`force` evaluates it anyway); only changed values are
    written. Returns how many firms were looked at.
    """
    ids = sorted(set(enterprise_ids))
    if not ids:
        return 0
    day = as_of or today()
    started = now_utc()
    thresholds = local_thresholds()
    firms = {e.id: e for e in db.session.scalars(select(Enterprise).where(Enterprise.id.in_(ids)))}
    metrics: dict[int, list[AnnualMetrics]] = {i: [] for i in ids}
    for m in db.session.scalars(select(AnnualMetrics).where(AnnualMetrics.enterprise_id.in_(ids))):
        metrics[m.enterprise_id].append(m)
    quals = qualifications_by_enterprise(ids)
    existing = {(r.enterprise_id, r.kind): r for r in db.session.scalars(
        select(EligibilityResult).where(EligibilityResult.enterprise_id.in_(ids))
        .options(defer(EligibilityResult.result), defer(EligibilityResult.near_miss)))}
    stamp_of = _inputs_stamper(thresholds)
    todo, confirmed = [], []
    for enterprise_id, enterprise in firms.items():
        facts = build_facts(enterprise, day, metrics=metrics[enterprise_id],
                            qualifications=quals[enterprise_id])
        stamp = stamp_of(facts)
        rows = [existing.get((enterprise_id, kind)) for kind in KINDS]
        if not force and all(r is not None and r.inputs_hash == stamp for r in rows):
            # the same facts on the same day under the same rules: same verdicts, which are
            # now known to be current (the freshness invariant compares computed_at)
            confirmed.append(enterprise_id)
            continue
        todo.append((enterprise_id, facts, stamp))
    for start in range(0, len(confirmed), _STALE_BATCH):
        db.session.execute(
            update(EligibilityResult)
            .where(EligibilityResult.enterprise_id.in_(confirmed[start:start + _STALE_BATCH]))
            .values(as_of=day, computed_at=started))
    if todo:  # the stored criteria only of the firms evaluated again (compared below)
        db.session.execute(select(EligibilityResult).where(
            EligibilityResult.enterprise_id.in_([t[0] for t in todo]))
            .options(undefer(EligibilityResult.result), undefer(EligibilityResult.near_miss))
            .execution_options(populate_existing=True)).all()
    now = now_utc()
    changed = False
    for enterprise_id, facts, stamp in todo:
        try:
            results = evaluate(facts, local_thresholds=thresholds)["results"]
        except FactsError as exc:  # stored figures contradict each other: say so, keep going
            results = [_error_result(kind, exc) for kind in KINDS]
        for result in results:
            row = existing.get((enterprise_id, result["kind"]))
            if row is None:
                row = EligibilityResult(enterprise_id=enterprise_id, kind=result["kind"])
                db.session.add(row)
            miss = gaps.near_miss(result) if result["verdict"] == "ineligible" else None
            candidate = is_candidate(result)
            values = {"verdict": result["verdict"], "score": result["score"],
                      "result": result, "near_miss": miss,
                      "near_miss_code": miss["code"] if miss else None,
                      "candidate": candidate,
                      "failed_count": sum(1 for c in result["criteria"]
                                          if c["status"] == "fail")}
            if candidate and not row.candidate:
                values["candidate_since"] = now
            elif not candidate:
                values["candidate_since"] = None
            # an unchanged verdict keeps its stored JSON: the nightly run rewrites only the
            # date stamps of the rows whose verdicts stand, not 1.6 KB of criteria each
            for name, value in values.items():
                if getattr(row, name) != value:
                    setattr(row, name, value)
                    changed = True
            row.as_of, row.computed_at, row.inputs_hash = day, now, stamp
    if changed:
        snapshots.bump()  # candidate counts read these rows
    stale = [i for i, e in firms.items() if e.eligibility_stale_since is not None]
    if stale:
        _clear_stale(stale, started)
    db.session.flush()
    return len(firms)


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
            .where(Enterprise.id.in_(ids[start:start + _STALE_BATCH]),
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
            .where(Enterprise.id.in_(ids[start:start + _STALE_BATCH]),
                   Enterprise.eligibility_stale_since <= computed_from)
            .values(eligibility_stale_since=None, updated_at=Enterprise.updated_at)
            .execution_options(synchronize_session="fetch"))


def results_for(enterprise_id: int) -> dict[str, EligibilityResult]:
    """Stored results of one firm keyed by kind, in ladder order."""
    rows = db.session.scalars(select(EligibilityResult).where(
        EligibilityResult.enterprise_id == enterprise_id))
    by_kind = {r.kind: r for r in rows}
    return {k: by_kind[k] for k in KINDS if k in by_kind}
