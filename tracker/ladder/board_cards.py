"""The rung board's cards, everything each one shows computed once in Python.

A board shows up to ~200 cards. Rendering each through filters, gettext and a macro cost more
than its queries (cProfile: per-card label lookups and translations, a URL build and a macro
call each); here the labels are translated once per request and each card is a plain tuple the
template only prints. The page's content is the same as before.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from tracker.i18n import gettext as _
from tracker.labels import value_labels
from tracker.templating import url_each


class Card(NamedTuple):
    """One firm on the board (a tuple: attribute reads in the template are plain getattr)."""

    id: int
    name: str
    url: str
    stale_since: datetime | None
    zone: str
    field: str
    #: "下一步：…" translated; None when there is no step
    step: str | None
    tone: str | None


def cards(columns: dict[str | None, list[Any]], steps: dict[int, dict[str, Any]]
          ) -> dict[str | None, list[Card]]:
    """rung_cards' rows and next_steps' steps as Cards, column by column."""
    zones, fields = value_labels("zone"), value_labels("tech_field")
    # a plain string, escaped whole when printed: the template's _() trusted the translation
    # and escaped the step, the same characters for sentences without markup (none has any)
    step_line = _("下一步：%(step)s")
    detail_url = url_each("enterprises.detail", "enterprise_id")
    shown: dict[str | None, list[Card]] = {}
    for rung, firms in columns.items():
        shown[rung] = column = []
        for f in firms:
            s = steps.get(f.id)
            column.append(Card(
                f.id, f.name, detail_url(f.id), f.eligibility_stale_since,
                zones.get(f.zone, "—"), fields.get(f.tech_field, "—"),
                step_line % {"step": s["text"]} if s else None, s["tone"] if s else None))
    return shown
