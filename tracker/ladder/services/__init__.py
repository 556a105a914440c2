"""Writing the ladder: qualifications, the derived rung with its transitions, applications.

Services flush; the caller (view, task, CLI, import) commits once. Every change is audited; what
follows a saved change (eligibility, reminders) is tracker.changes' pipeline.
The work lives in one module per area; this package re-exports their public names, so
``from tracker.ladder import services`` and ``services.grant_qualification(...)`` keep working.
Modules inside the package import each other directly, never this package (no import loop).
"""

from __future__ import annotations

from tracker.errors import FieldError as FieldError  # re-exported for views
from tracker.errors import StaleEdit as StaleEdit
from tracker.ladder.services.applications import allowed_moves as allowed_moves
from tracker.ladder.services.applications import create_application as create_application
from tracker.ladder.services.applications import move_application as move_application
from tracker.ladder.services.applications import update_application as update_application
from tracker.ladder.services.applications import year_and_batch as year_and_batch
from tracker.ladder.services.common import APPLICATION_FIELDS as APPLICATION_FIELDS
from tracker.ladder.services.common import QUALIFICATION_FIELDS as QUALIFICATION_FIELDS
from tracker.ladder.services.common import LadderError as LadderError
from tracker.ladder.services.history import ladder_history as ladder_history
from tracker.ladder.services.history import (
    qualifications_by_enterprise as qualifications_by_enterprise,
)
from tracker.ladder.services.history import qualifications_of as qualifications_of
from tracker.ladder.services.history import rebuild_all_histories as rebuild_all_histories
from tracker.ladder.services.history import rebuild_ladder_history as rebuild_ladder_history
from tracker.ladder.services.history import refresh_rung as refresh_rung
from tracker.ladder.services.history import transition_order_problems as transition_order_problems
from tracker.ladder.services.history import (
    transition_order_problems_many as transition_order_problems_many,
)
from tracker.ladder.services.qualifications import (
    DEFAULT_EVIDENCE_MAX_BYTES as DEFAULT_EVIDENCE_MAX_BYTES,
)
from tracker.ladder.services.qualifications import EVIDENCE_TYPES as EVIDENCE_TYPES
from tracker.ladder.services.qualifications import batch_valid_until as batch_valid_until
from tracker.ladder.services.qualifications import evidence_file as evidence_file
from tracker.ladder.services.qualifications import grant_qualification as grant_qualification
from tracker.ladder.services.qualifications import revoke_qualification as revoke_qualification
from tracker.ladder.services.qualifications import set_batch_validity as set_batch_validity
from tracker.ladder.services.qualifications import store_evidence as store_evidence
from tracker.ladder.services.qualifications import update_qualification as update_qualification
from tracker.ladder.services.qualifications import valid_until_for as valid_until_for
from tracker.ladder.services.thresholds import local_thresholds as local_thresholds
from tracker.ladder.services.thresholds import save_local_thresholds as save_local_thresholds
