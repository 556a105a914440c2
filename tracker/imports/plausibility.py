"""Plausibility of imported annual figures: changes a person should look at before they land.

Pure functions (no database; messages are catalogue ids with parameters): the engine passes
a firm's figures for the imported year and its previous full year, and gets back warnings.
A warning never rejects a row; the real import waits until the user accepts the warnings
(web checkbox, CLI --accept-warnings), because a figure that jumps may be a typo in units
(元 typed as 万元) or a real event.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tracker.enterprises.models import METRIC_LABELS, MONEY_FIELDS
from tracker.messages import Message
from tracker.money import format_wan

#: A figure more than this many times its previous-year value, or less than its 1/this part,
#: is flagged. Five times is beyond normal growth of the firms the bureau follows (a 瞪羚
#: needs about 20–30 % a year) yet below the 10 000× of a 元/万元 unit mix-up, so both the
#: mix-up and a mistyped digit or two are caught without flagging ordinary growth.
JUMP_FACTOR = Decimal(5)

#: Figures compared against the previous year. IP counts and investment raised are left out:
#: a firm with 1 patent filing 6 more, or a financing round in one year and none the next,
#: is ordinary and would only train users to tick the box without reading.
JUMP_FIELDS = ("employees", "tech_staff", "revenue", "total_income", "total_assets",
               "net_assets", "total_cost", "rd_expense", "rd_expense_domestic",
               "high_tech_income")


@dataclass(frozen=True)
class Finding:
    """One implausible figure: the AnnualMetrics field and what is odd about it."""

    field: str
    #: a catalogue sentence with its parameters, stored as such on the job
    message: Message


def _shown(field: str, value: Any) -> Message | str:
    if field in MONEY_FIELDS:
        return Message("%(n)s 万元", n=format_wan(value))
    return f"{value}"


def check_year(values: Mapping[str, Any], supplied: Iterable[str], *,
               previous: Mapping[str, Any] | None = None,
               previous_year: int | None = None) -> list[Finding]:
    """Warnings for one firm's year after an import.

    `values` are the year's figures as they would be stored (money in 元), `supplied` the
    fields the imported row sets (only those are flagged), `previous` the previous full
    year's figures, if any.
    """
    supplied = set(supplied)
    findings: list[Finding] = []
    revenue, income = values.get("revenue"), values.get("total_income")
    if ({"revenue", "total_income"} & supplied and revenue is not None and income is not None
            and revenue > income):
        field = "revenue" if "revenue" in supplied else "total_income"
        findings.append(Finding(field, Message(
            "营业收入（%(revenue)s）高于总收入（%(income)s）：营业收入是总收入的一部分，"
            "请核对单位或列是否对应错误",
            revenue=_shown("revenue", revenue), income=_shown("total_income", income))))
    for field in JUMP_FIELDS:
        if field not in supplied or previous is None:
            continue
        new, old = values.get(field), previous.get(field)
        if not new or not old:  # zero or unknown on either side: no ratio to judge
            continue
        new, old = Decimal(new), Decimal(old)
        if new > old * JUMP_FACTOR or new * JUMP_FACTOR < old:
            ratio = new / old
            times = f"{ratio:.1f}" if ratio >= 1 else f"{ratio:.2f}"
            findings.append(Finding(field, Message(
                "%(label)s为 %(new)s，是上一年度（%(year)s）%(old)s的 %(times)s 倍，"
                "变化超过 %(factor)s 倍，请核对",
                label=Message(METRIC_LABELS[field]), new=_shown(field, new),
                year=previous_year, old=_shown(field, old), times=times,
                factor=str(JUMP_FACTOR))))
    return findings
