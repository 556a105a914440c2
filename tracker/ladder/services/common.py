"""Shared by the ladder services: the audited fields and the refusal every service raises."""

from __future__ import annotations

from tracker.errors import FieldError

QUALIFICATION_FIELDS = (
    "kind", "number", "granted_on", "valid_until", "batch", "revoked_on", "revoked_reason",
    "evidence_name", "source",
)
APPLICATION_FIELDS = ("kind", "year", "batch", "status", "owner_id", "deadline", "notes",
                      "qualification_id")



class LadderError(FieldError):
    """A qualification or application change refused, with a message per field."""
