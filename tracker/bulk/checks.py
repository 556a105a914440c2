"""The merge's invariant, run by `flask check` with the others (tracker.integrity.checks)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from tracker.enterprises.models import Enterprise
from tracker.extensions import db
from tracker.integrity.checks import Context, Outcome, Violation, invariant

#: child tables that must be empty on a merged-away record (its audit history keeps the merge)
_EMPTIED = ("contacts", "annual_metrics", "activities", "qualifications", "applications",
            "tenancies", "stage_transitions", "reminders", "reminder_filings")


@invariant("merged_records_emptied")
def merged_records_emptied(ctx: Context) -> Outcome:
    """A record merged into another is archived, points at a record still standing, holds no rows.

    A merge moves every child row to the survivor; a row left behind (or added since) would be
    invisible to everyone working on the firm, and an undo would not know about it.
    """
    target = aliased(Enterprise)
    found = [Violation("merged_records_emptied", f"enterprise:{firm_id}",
                       f"merged into #{into_id} but {status}"
                       + (f", and #{into_id} is itself merged into #{onward}" if onward else ""))
             for firm_id, into_id, status, onward in db.session.execute(
                 select(Enterprise.id, Enterprise.merged_into_id, Enterprise.status,
                        target.merged_into_id)
                 .join(target, target.id == Enterprise.merged_into_id)
                 .where(Enterprise.merged_into_id.is_not(None))
                 .where((Enterprise.status != "archived") | target.merged_into_id.is_not(None))
                 .order_by(Enterprise.id))]
    merged = select(Enterprise.id).where(Enterprise.merged_into_id.is_not(None))
    for name in _EMPTIED:
        table = db.metadata.tables[name]
        for firm_id, n in db.session.execute(
                select(table.c.enterprise_id, func.count())
                .where(table.c.enterprise_id.in_(merged))
                .group_by(table.c.enterprise_id).order_by(table.c.enterprise_id)):
            found.append(Violation("merged_records_emptied", f"enterprise:{firm_id}",
                                   f"merged away but still holds {n} {name} row(s)"))
    checked = db.session.scalar(select(func.count()).select_from(merged.subquery())) or 0
    return Outcome(checked, found)
