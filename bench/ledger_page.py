"""Reminder ledger page as the ledger grows: p50 at a small and a large ledger, one run.

Seeds PostgreSQL (a schema of its own, dropped at the end) with 2,000 firms and N reminders by
`INSERT … SELECT generate_series` (mostly `sent`, a few failed and pending, as a ledger looks
after years), measures `/reminders/` for a bureau user, a zone user and the user of a small
zone (1% of the firms, like a carrier manager's tenants), grows the ledger to the next size
and measures again. Prints p50s, the large÷small ratio, statements per request, the old
GROUP BY's own time for comparison, and EXPLAIN ANALYZE of the counts at the largest size.
A benchmark, not a timed test.

    python bench/ledger_page.py --url postgresql://postgres@127.0.0.1:5432/DB --sizes 10000 200000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, event, insert, text  # noqa: E402

from bench import app_for  # noqa: E402
from bench.list_page import timed  # noqa: E402
from tracker.accounts.services import create_user  # noqa: E402
from tracker.demo import demo_uscc  # noqa: E402
from tracker.enterprises.models import Enterprise  # noqa: E402
from tracker.extensions import db  # noqa: E402
from tracker.reminders.defaults import seed_rules  # noqa: E402

SCHEMA = "bench_ledger"
FIRMS = 2000
ZONES = ["teda", "bonded", "hitech", "dongjiang", "towns"]
#: one firm in a hundred: a small scope, like a carrier manager's tenants
SMALL_ZONE = "ecocity"
PASSWORD = "bench-password-1"  # noqa: S105 (a throwaway bench schema)

GROW = text("""
INSERT INTO reminders (rule_id, subject_type, subject_id, occurrence_on, occurrence_tag,
                       recipient_type, recipient_id, to_address, locale, channel, enterprise_id,
                       status, attempts, created_at)
SELECT CAST(:rule AS integer), 'enterprise', g, DATE '2026-01-01' + (g % 300), 'b' || g,
       'contact', g, 'c' || g || '@firm.example', 'zh_CN', 'email',
       CAST(:first AS integer) + (g % CAST(:firms AS integer)),
       CASE WHEN g % 1000 = 0 THEN 'failed' WHEN g % 997 = 1 THEN 'pending'
            WHEN g % 10 = 2 THEN 'handled' ELSE 'sent' END,
       1, now()
FROM generate_series(CAST(:lo AS integer), CAST(:hi AS integer)) AS g
""")
OLD_COUNTS = text("SELECT status, count(id) FROM reminders GROUP BY status")


def build(url: str):
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    admin.dispose()

    app = app_for(url, base="TestConfig", WTF_CSRF_ENABLED=False, SERVER_NAME=None,
                  SQLALCHEMY_ENGINE_OPTIONS={
                      "connect_args": {"options": f"-csearch_path={SCHEMA},public"}})
    with app.app_context():
        db.create_all()
        seed_rules()
        bureau = create_user("timer@bench.example", PASSWORD, "bureau")
        zone = create_user("zone@bench.example", PASSWORD, "zone", zone="hitech")
        small = create_user("small@bench.example", PASSWORD, "zone", zone=SMALL_ZONE)
        db.session.execute(insert(Enterprise), [
            {"uscc": demo_uscc(i), "name": f"天津台账基准{i:06d}科技有限公司",
             "zone": SMALL_ZONE if i % 100 == 0 else ZONES[i % len(ZONES)],
             "industry_tags": [], "honours": []}
            for i in range(FIRMS)])
        db.session.commit()
        emails = bureau.email, zone.email, small.email
    return app, emails


def grow(app, lo: int, hi: int) -> None:
    with app.app_context():
        rule = db.session.scalar(text("SELECT min(id) FROM reminder_rules"))
        first = db.session.scalar(text("SELECT min(id) FROM enterprises"))
        db.session.execute(GROW, {"rule": rule, "first": first, "firms": FIRMS, "lo": lo,
                                  "hi": hi})
        db.session.commit()
        # an old ledger's rows are all-visible; autovacuum would get there on its own
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE reminders"))


def raw_ms(app, statement, repeat: int) -> float:
    with app.app_context():
        samples = []
        for _ in range(repeat):
            start = time.perf_counter()
            db.session.execute(statement).all()
            samples.append(time.perf_counter() - start)
        db.session.rollback()
    return statistics.median(samples) * 1000


def counts_ms(app, email: str, repeat: int) -> float | None:
    """The capped counts' own time for `email` (None in a tree without them)."""
    try:
        from tracker.reminders import counts
    except ImportError:
        return None
    from sqlalchemy import select

    from tracker.accounts.models import User

    with app.test_request_context():
        user = db.session.scalar(select(User).where(User.email == email))
        samples = []
        for _ in range(repeat):
            start = time.perf_counter()
            counts.status_counts(user)
            samples.append(time.perf_counter() - start)
        db.session.rollback()
    return statistics.median(samples) * 1000


def explain(app, email: str) -> str:
    """EXPLAIN ANALYZE of the capped counts as `email` sees them (absent before the change)."""
    try:
        from tracker.reminders import counts
    except ImportError:
        return "(no capped counts in this tree)"
    from sqlalchemy import select

    from tracker.accounts.models import User

    with app.test_request_context():
        user = db.session.scalar(select(User).where(User.email == email))
        captured: list[tuple[str, object]] = []

        def grab(conn, cursor, statement, parameters, *_args):
            captured.append((statement, parameters))

        event.listen(db.engine, "before_cursor_execute", grab)
        try:
            counts.status_counts(user)
        finally:
            event.remove(db.engine, "before_cursor_execute", grab)
        statement, parameters = captured[-1]
        raw = db.session.connection().connection.driver_connection
        with raw.cursor() as cur:
            cur.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + statement, parameters)
            plan = "\n".join(row[0] for row in cur.fetchall())
        db.session.rollback()
    return plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True, help="a PostgreSQL database URL")
    parser.add_argument("--sizes", nargs="+", type=int, default=[10000, 200000])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--keep", action="store_true", help="keep the bench schema")
    args = parser.parse_args()
    app, (bureau, zone, small) = build(args.url)
    users = (("bureau", bureau), ("zone", zone), ("small zone", small))
    clients = {}
    for label, email in users:
        clients[label] = app.test_client()
        clients[label].post("/login", data={"email": email, "password": PASSWORD})
    results: dict[int, dict[str, tuple[float, int]]] = {}
    done = 0
    try:
        for size in sorted(args.sizes):
            grow(app, done + 1, size)
            done = size
            found = {f"ledger ({label})": timed(client, "/reminders/", args.repeat)
                     for label, client in clients.items()}
            found["ledger failed (bureau)"] = timed(clients["bureau"],
                                                   "/reminders/?status=failed", args.repeat)
            found["old GROUP BY (SQL only)"] = (raw_ms(app, OLD_COUNTS, args.repeat), 1)
            for label, email in users:
                if (ms := counts_ms(app, email, args.repeat)) is not None:
                    found[f"capped counts ({label})"] = (ms, 1)
            results[size] = found
        small, large = results[min(results)], results[max(results)]
        print(f"reminder ledger, PostgreSQL, p50 of {args.repeat} requests, {FIRMS:,} firms "
              f"({min(results):,} vs {max(results):,} reminders)")
        for name in small:
            (ms_s, q_s), (ms_l, q_l) = small[name], large[name]
            print(f"  {name:26s} {ms_s:8.2f} ms {ms_l:8.2f} ms  ratio {ms_l / ms_s:5.2f}"
                  f"  statements {q_s}/{q_l}")
        for label, email in users:
            print(f"\nEXPLAIN ANALYZE, counts as {label}, {max(results):,} reminders:")
            print(explain(app, email))
    finally:
        if not args.keep:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
            admin = create_engine(args.url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            admin.dispose()


if __name__ == "__main__":
    main()
