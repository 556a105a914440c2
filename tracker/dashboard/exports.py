"""The charts' figures as spreadsheets: a workbook per chart, and the trend sheet of the
leadership workbook. Same numbers as the drawn chart (charts.payload), written by
tracker.spreadsheets.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from flask import Response
from flask_babel import gettext as _

from tracker.clock import to_local, today
from tracker.dashboard import charts
from tracker.incubation.models import CARRIER_KINDS
from tracker.spreadsheets import Column, xlsx_response
from tracker.vocabulary import KINDS


def panel_sheet(panel: dict[str, Any]) -> tuple[str, list[Column], list[list[Any]]]:
    """One sheet: a row per category, a column per series."""
    kind = "number" if panel["unit"] == "%" else "int"
    columns = [Column(_("项目"), width=24),
               *[Column(s["name"], kind, 16) for s in panel["series"]]]
    rows = [[category, *[s["values"][i] for s in panel["series"]]]
            for i, category in enumerate(panel["categories"])]
    return panel["title"], columns, rows


def chart_workbook(name: str, panels: list[dict[str, Any]], computed_at: datetime) -> Response:
    stamp = to_local(computed_at).strftime("%Y%m%d-%H%M")
    sheets = [panel_sheet(p) for p in panels] or [(_("无数据"), [Column(_("项目"))], [])]
    return xlsx_response(f"{_(charts.CHARTS[name][0])}-{stamp}.xlsx", sheets)


def trend_sheet(user: Any) -> tuple[str, list[Column], Iterable[list[Any]]]:
    """Month-end counts per rung and per carrier kind (the trend chart's data) for the
    leadership workbook; the last row is today."""
    days, table = charts.trend_table(user)
    keys = [("rung", code, label) for code, label in KINDS.items()] + [
        ("carrier_kind", code, label) for code, label in CARRIER_KINDS.items()]
    keys = [k for k in keys if (k[0], k[1]) in table]
    columns = [Column(_("月末"), "date", 12),
               *[Column(_(label) if m == "rung" else _("在孵：%(k)s", k=_(label)), "int", 14)
                 for m, _code, label in keys]]
    rows = [[day, *[table[(m, code)].get(day, 0) for m, code, _label in keys]] for day in days]
    return _("月度趋势（截至%(d)s）", d=today().isoformat()), columns, rows
