"""The chaos run's oracle (bench/chaos.py): the reminders ledger read back, and the verdict
from what the SMTP sink accepted (see chaos.py's docstring for the accounting), plus the
product's own integrity check at the end."""

from __future__ import annotations

import json
import re
import subprocess

from bench.chaos_procs import ROOT, bin_path

_MID = re.compile(r"<reminder-(\d+)\.")


def expected_rows(db, like: str | None = None) -> dict[int, tuple[str, str, str]]:
    """id -> (address, firm name, due date): what the matching of accepted mail checks."""
    from sqlalchemy import select

    from tracker.enterprises.models import Enterprise
    from tracker.reminders.models import Reminder

    query = select(Reminder.id, Reminder.to_address, Enterprise.name,
                   Reminder.occurrence_on).join(Enterprise, Enterprise.id == Reminder.enterprise_id)
    if like:
        query = query.where(Reminder.to_address.like(like))
    return {rid: (to, name, due.isoformat()) for rid, to, name, due in db.session.execute(query)}


def ledger_of(db, expected) -> dict[int, str]:
    from sqlalchemy import select

    from tracker.reminders.models import Reminder

    return dict(db.session.execute(select(Reminder.id, Reminder.status)).all())


def unfinished(db, expected) -> int:
    from sqlalchemy import func, select

    from tracker.reminders.models import Reminder

    return db.session.scalar(select(func.count(Reminder.id)).where(
        Reminder.status.in_(("pending", "sending")))) or 0


def in_conversation(db, handler, killed_at: float) -> set[int]:
    """Rows claimed at the kill whose DATA the sink had seen after the claim: in progress."""
    from sqlalchemy import select

    from tracker.reminders.models import Reminder

    claimed = {rid: at.timestamp() for rid, at in db.session.execute(
        select(Reminder.id, Reminder.claimed_at).where(Reminder.status == "sending"))}
    window: set[int] = set()
    for mid, at in handler.seen():
        match = _MID.match(mid)
        if match and int(match.group(1)) in claimed and \
                claimed[int(match.group(1))] - 1 <= at <= killed_at:
            window.add(int(match.group(1)))
    return window


def account(ledger: dict[int, str], expected: dict[int, tuple[str, str, str]], accepted,
            refuse, crash_window: set[int]) -> dict:
    """Compare what the sink accepted with what should have been delivered (see the module)."""
    copies: dict[int, int] = {}
    mismatched: list[str] = []
    unexpected: list[str] = []
    for msg in accepted:
        match = _MID.match(msg.message_id)
        rid = int(match.group(1)) if match else None
        if rid not in expected:
            unexpected.append(msg.message_id)
            continue
        address, firm, due = expected[rid]
        subject = str(msg.message()["Subject"])
        if msg.rcpt != [address] or firm not in subject or due not in subject:
            mismatched.append(f"{msg.message_id} to {msg.rcpt}: {subject}")
            continue
        copies[rid] = copies.get(rid, 0) + 1
    lost, unfinished, refused_not_failed, refused_rows = [], [], [], 0
    for rid, (address, _firm, _due) in expected.items():
        status = ledger.get(rid)
        if status in ("pending", "sending") and rid not in copies:
            unfinished.append(rid)  # a timed-out run: not lost yet, but not delivered either
        elif refuse(address):
            refused_rows += 1
            if status != "failed" or rid in copies:
                refused_not_failed.append(rid)
        elif rid not in copies or status != "sent":
            lost.append(rid)
    duplicates = {rid: n - 1 for rid, n in copies.items() if n > 1}
    excused = sum(extra for rid, extra in duplicates.items() if rid in crash_window)
    for rid, extra in duplicates.items():
        if rid not in crash_window:
            print(f"  duplicate outside the crash window: reminder {rid}, {extra + 1} copies",
                  flush=True)
    for rid in lost[:10]:
        print(f"  lost: reminder {rid} is {ledger.get(rid)!r}, sink copies {copies.get(rid, 0)}",
              flush=True)
    statuses: dict[str, int] = {}
    for rid in expected:
        statuses[ledger.get(rid, "missing")] = statuses.get(ledger.get(rid, "missing"), 0) + 1
    return {
        "expected": len(expected), "statuses": statuses,
        "delivered": len(copies), "lost": len(lost), "unfinished": len(unfinished),
        "duplicates": sum(duplicates.values()), "excused": excused,
        "duplicates_outside_crash_window": sum(duplicates.values()) - excused,
        "crash_window_rows": len(crash_window),
        "failed": statuses.get("failed", 0), "expired": statuses.get("expired", 0),
        "refused_recipients": refused_rows, "refused_not_failed": len(refused_not_failed),
        "mismatched": len(mismatched), "unexpected": len(unexpected),
    }


def verdict(report: dict, *, kills: int, concurrency: int) -> list[str]:
    """Every reason the run fails; empty means OK."""
    reasons = []
    if report.get("timed_out"):
        reasons.append("timed out")
    if report["lost"]:
        reasons.append(f"{report['lost']} lost")
    if report.get("unfinished"):
        reasons.append(f"{report['unfinished']} still pending or sending (undelivered)")
    if report["duplicates_outside_crash_window"]:
        reasons.append(f"{report['duplicates_outside_crash_window']} duplicates outside the "
                       "crash window")
    if report["excused"] > kills * concurrency:
        reasons.append("more excused duplicates than conversations a kill can interrupt")
    if report["refused_not_failed"]:
        reasons.append(f"{report['refused_not_failed']} refused recipients not `failed`")
    if report["mismatched"] or report["unexpected"]:
        reasons.append("accepted mail that matches no row by Message-ID, recipient and subject")
    if report["delivered"] == 0 or report["refused_recipients"] * 2 > report["expected"]:
        reasons.append("the run proves no delivery (nothing delivered or most refused)")
    return reasons


def integrity_check(env: dict[str, str]) -> dict:
    """`flask check --json` on the run's database: the product's own invariants, after it all."""
    done = subprocess.run([bin_path("flask"), "--app", "tracker", "check", "--json"], cwd=ROOT,
                          env=env, capture_output=True, text=True)
    try:
        found = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"exit": done.returncode or 1, "violations": None, "ran": False,
                "stderr": done.stderr[-2000:]}
    violations = found.get("violations") or []
    print(f"integrity check: exit {done.returncode}, {len(violations)} violation(s) over "
          f"{len(found.get('checked') or {})} invariants", flush=True)
    return {"exit": done.returncode, "ran": True, "violations": len(violations),
            "invariants": len(found.get("checked") or {}), "first": violations[:10]}
