"""Labels and parsing for Binhai New Area sub-areas (domain.md §5.1) and the HNTE fields (§2.1).

The code tables themselves live in tracker.vocabulary; they are re-exported here for callers.
"""

from __future__ import annotations

from tracker.i18n import gettext
from tracker.vocabulary import TECH_FIELDS, ZONES


def zone_label(code: str | None) -> str:
    return gettext(ZONES[code][0]) if code in ZONES else "—"


def field_label(code: str | None) -> str:
    return gettext(TECH_FIELDS[code]) if code in TECH_FIELDS else "—"


def zone_from_text(text: str | None) -> str | None:
    """Accept a code, a short name or a full name; None when nothing matches."""
    value = (text or "").strip()
    if not value:
        return None
    for code, (short, full) in ZONES.items():
        if value in (code, short, full):
            return code
    return None
