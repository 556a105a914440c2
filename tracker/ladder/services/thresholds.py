"""Local thresholds for 瞪羚 / 科技领军(培育): admin-entered, checked by the engine's parser."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from tracker.audit import services as audit
from tracker.errors import check_version
from tracker.extensions import db
from tracker.ladder.models import LocalThreshold
from tracker.ladder.rules import (
    KINDS,
    LOCAL_THRESHOLD_KEYS,
    LOCALLY_CONFIGURED_KINDS,
    ThresholdsError,
    _parse_thresholds,
)
from tracker.ladder.services.common import LadderError
from tracker.money import plain_number


def local_thresholds() -> dict[str, dict[str, Any]]:
    """The admin-entered thresholds, in the shape rules.evaluate(local_thresholds=) takes."""
    rows = db.session.scalars(select(LocalThreshold))
    return {row.kind: dict(row.values) for row in rows if row.values}


def save_local_thresholds(kind: str, values: dict[str, Any], *, actor_id: int | None = None,
                          expected_version: int | None = None) -> LocalThreshold:
    """Store one rung's local thresholds (checked by the engine's own parser); audited."""
    if kind not in LOCALLY_CONFIGURED_KINDS:
        raise LadderError({"kind": _("该类型有官方阈值，不能本地配置")})
    clean = {k: plain_number(v) for k, v in values.items()
             if k in LOCAL_THRESHOLD_KEYS and v not in (None, "")}
    try:
        _parse_thresholds({kind: clean})
    except ThresholdsError as exc:
        raise LadderError({e["field"].rsplit(".", 1)[-1]: e["message"] for e in exc.errors}
                          ) from exc
    row = db.session.scalar(select(LocalThreshold).where(LocalThreshold.kind == kind))
    before: dict[str, Any] = {}
    if row is None:
        row = LocalThreshold(kind=kind, values={})
        db.session.add(row)
    else:
        check_version(row, expected_version)
        before = dict(row.values)
    row.values = clean
    row.updated_by_id = actor_id if actor_id is not None else audit.current_actor_id()
    db.session.flush()
    changes = audit.changed_fields(before, clean)
    changes.update({k: [v, None] for k, v in before.items() if k not in clean})
    if changes:
        audit.record("local_threshold", row.id, "update", changes, actor_id=actor_id,
                     summary=f"{KINDS[kind]} 本地阈值")
    return row
