"""Work collected during a transaction and done once, just before the real commit.

Several features react to "these firms changed": eligibility is recomputed, reminders are swept.
Each keeps a set in the session while the transaction runs and handles it in `before_commit`.
A SAVEPOINT's commit (one import row) is not the commit; a rolled-back SAVEPOINT keeps what the
other rows collected; only the end of the whole transaction forgets it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from tracker.extensions import db


class BeforeCommit:
    """A named set in `session.info`, handed to `handle` once before the outermost commit.

    Collectors run in the order they were created (ladder before reminders, as FEATURES go).
    """

    def __init__(self, key: str, handle: Callable[[set[Any]], None]) -> None:
        self.key, self.handle = key, handle
        event.listen(Session, "before_commit", self._before_commit)
        event.listen(Session, "after_soft_rollback", self._after_rollback)

    def add(self, value: Any, session: Session | None = None) -> None:
        if value is not None:
            (session or db.session()).info.setdefault(self.key, set()).add(value)

    def _before_commit(self, session: Session) -> None:
        if session.in_nested_transaction():
            return
        collected = session.info.pop(self.key, None)
        if collected:
            self.handle(collected)
            session.info.pop(self.key, None)  # the handler's own flush must not start a round

    def _after_rollback(self, session: Session, _previous) -> None:
        if not session.in_transaction():
            session.info.pop(self.key, None)
