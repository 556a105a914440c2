"""Changing a locally configured rung's thresholds, and what follows from it.

Every firm's verdict on that rung depends on them, so a change is followed by a recompute of
every active firm on a worker once the change has committed. The admin page and
`flask ladder thresholds` both call change_local_thresholds, so neither can forget the recompute.
"""

from __future__ import annotations

from typing import Any

from tracker.celery_app import enqueue_after_commit
from tracker.ladder import services
from tracker.ladder.models import LocalThreshold
from tracker.ladder.results import mark_all_stale
from tracker.ladder.tasks import recompute_all


def change_local_thresholds(kind: str, values: dict[str, Any], *, actor_id: int | None = None,
                            expected_version: int | None = None) -> LocalThreshold:
    """Store one rung's thresholds (LadderError / StaleEdit when refused), then queue the
    recompute of every firm to run after the commit; flushes, the caller commits."""
    row = services.save_local_thresholds(kind, values, actor_id=actor_id,
                                         expected_version=expected_version)
    mark_all_stale()  # shown as out of date until the worker (or the catch-up run) is done
    enqueue_after_commit(recompute_all)
    return row
