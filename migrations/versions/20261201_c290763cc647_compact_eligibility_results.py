"""compact eligibility results: the stored result keeps what lists read, not every criterion

Revision ID: c290763cc647
Revises: 80f5790c19eb
Create Date: 2026-12-01

eligibility_results.result held the engine's whole per-kind result (about 1.6 KB: every
criterion with its label, source, actual and gap). The lists, the board and the panel read
only the verdict, score, candidate flag and near miss (their own columns), the rule version
and the failed criteria's codes; the enterprise page and the API evaluate afresh for the
criteria. Each stored result becomes {"rule_version", "track", "failed": [codes]}, plus the
parse errors of contradictory records (as tracker.ladder.results.compact writes them).
Downgrade keeps the compact form: the next recompute under the old code writes full results
again (its rules digest differs, so every firm is evaluated).
"""

import sqlalchemy as sa
from alembic import op

revision = "c290763cc647"
down_revision = "80f5790c19eb"
branch_labels = None
depends_on = None

#: rows converted per statement batch
BATCH = 2000

results = sa.table("eligibility_results", sa.column("id", sa.Integer),
                   sa.column("result", sa.JSON))


def _compact(result):
    """The stored form (tracker.ladder.results.compact at the time of this migration)."""
    out = {"rule_version": result.get("rule_version"), "track": result.get("track"),
           "failed": [c.get("code") for c in result.get("criteria") or []
                      if c.get("status") == "fail"]}
    if result.get("errors"):
        out["errors"] = result["errors"]
    return out


def upgrade():
    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(sa.select(results.c.id, results.c.result)
                            .where(results.c.id > last).order_by(results.c.id)
                            .limit(BATCH)).all()
        if not rows:
            break
        last = rows[-1].id
        changed = [{"row_id": r.id, "result": _compact(r.result)} for r in rows
                   if isinstance(r.result, dict) and "criteria" in r.result]
        if changed:
            conn.execute(results.update().where(results.c.id == sa.bindparam("row_id")),
                         changed)


def downgrade():
    pass
