"""Delivery (claim, send, mark), the reaper, digests and the ledger actions.

Every state change is a guarded UPDATE (`… WHERE status = 'pending'`), so two workers, a
resend and a reaper can race without a reminder being sent twice by us.
The work lives in one module per area (delivery, composing, digests, ledger); this package
re-exports their public names, so ``from tracker.reminders import services`` keeps working.
Modules inside the package import each other directly, never this package (no import loop).
"""

from __future__ import annotations

from tracker.reminders.models import FILING_KINDS as FILING_KINDS
from tracker.reminders.services.composing import compose as compose
from tracker.reminders.services.composing import email_context as email_context
from tracker.reminders.services.composing import read_unsubscribe_token as read_unsubscribe_token
from tracker.reminders.services.composing import unsubscribe_token as unsubscribe_token
from tracker.reminders.services.delivery import Outcome as Outcome
from tracker.reminders.services.delivery import backoff_seconds as backoff_seconds
from tracker.reminders.services.delivery import claim as claim
from tracker.reminders.services.delivery import claim_batch as claim_batch
from tracker.reminders.services.delivery import due_clause as due_clause
from tracker.reminders.services.delivery import due_pending_count as due_pending_count
from tracker.reminders.services.delivery import heartbeat as heartbeat
from tracker.reminders.services.delivery import lease_seconds as lease_seconds
from tracker.reminders.services.delivery import log as log
from tracker.reminders.services.delivery import reap as reap
from tracker.reminders.services.delivery import retry_deadline as retry_deadline
from tracker.reminders.services.delivery import send_claimed as send_claimed
from tracker.reminders.services.delivery import setting as setting
from tracker.reminders.services.digests import build_digests as build_digests
from tracker.reminders.services.ledger import CYCLE_FIELDS as CYCLE_FIELDS
from tracker.reminders.services.ledger import FILING_RULES as FILING_RULES
from tracker.reminders.services.ledger import ActionError as ActionError
from tracker.reminders.services.ledger import delete_cycle as delete_cycle
from tracker.reminders.services.ledger import mark_handled as mark_handled
from tracker.reminders.services.ledger import record_filing as record_filing
from tracker.reminders.services.ledger import resend as resend
from tracker.reminders.services.ledger import retry_all as retry_all
from tracker.reminders.services.ledger import save_cycle as save_cycle
from tracker.reminders.services.ledger import save_rule as save_rule
from tracker.reminders.services.ledger import set_digest as set_digest
from tracker.reminders.services.ledger import unsubscribe as unsubscribe
