"""Periodic database upkeep: SQLite's own statistics refresh, and pruning the counts versions.

SQLite plans queries from statistics only ANALYZE collects, and nothing collects them unless
asked: a register that grew from 100 to 100,000 firms keeps the plans of 100. `PRAGMA optimize`
re-analyses just the tables that changed enough (SQLite docs, "PRAGMA optimize": run it every
few hours on long-lived connections). PostgreSQL's autovacuum does this on its own.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from celery.schedules import crontab

from tracker.extensions import db

BEAT_SCHEDULE = {
    "maintenance-every-6-hours": {
        "task": "tracker.maintenance.run",
        "schedule": crontab(minute=45, hour="*/6"),
        "options": {"expires": 3 * 3600},
    },
}

#: rows ANALYZE samples per index (SQLite's analysis_limit): bounded time on a large file
ANALYSIS_LIMIT = 1000


def optimize_sqlite() -> bool:
    """Refresh the statistics of tables that changed enough; False when not on SQLite."""
    if db.engine.dialect.name != "sqlite":
        return False
    conn = db.session.connection()  # the caller commits what ANALYZE stored
    conn.exec_driver_sql(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
    # 0x10000: look at every table, not only those this connection has queried;
    # 0x02: analyse those whose row counts moved enough since the last ANALYZE
    conn.exec_driver_sql("PRAGMA optimize=0x10002")
    return True


@shared_task(name="tracker.maintenance.run", ignore_result=True)
def run() -> dict[str, Any]:
    """Every few hours: SQLite statistics."""
    optimized = optimize_sqlite()
    db.session.commit()
    return {"optimized": optimized}
