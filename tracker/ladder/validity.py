"""Pure rules for qualification validity dates, number formats and the current rung.

No Flask, no database: the services, the import helper and the tests all call these. Sources are
cited beside each rule (domain.md §1.4, §2.3, §2.4, §3.5).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from tracker.ladder.rules import KINDS

#: rungs of the Tianjin ladder whose validity is unconfirmed (domain.md §3.5): admins set a
#: valid-until per batch, and until they do a title counts as valid with no end date
TIANJIN_KINDS = ("chuying", "dengling", "leader_cultivation", "leader")

#: 国科发火〔2016〕32号 第九条: 高新技术企业资格自颁发证书之日起有效期为三年 (domain.md §2.3)
HNTE_VALID_YEARS = 3

#: observed HNTE certificate layout GR + issue year + province + serial (domain.md §2.4,
#: inferred from examples; a mismatch is a warning, never an error)
HNTE_NUMBER = re.compile(r"^GR(20\d{2})(\d{2})(\d{6})$")
TIANJIN_PROVINCE = "12"

#: 国科发火〔2018〕11号: the 11th character of a tech-SME registration number (domain.md §1.4)
TECH_SME_MARKERS = {
    "0": _l("第11位为“0”：入库年度之前成立，且在5月31日前提交自评，可在上年度企业所得税汇算清缴中"
            "享受科技型中小企业研发费用加计扣除政策"),
    "A": _l("第11位为“A”：入库年度之前成立，但在6月1日及以后提交自评，不能用于上年度汇算清缴"),
    "B": _l("第11位为“B”：入库当年成立的企业"),
}


def anniversary(day: date, years: int) -> date:
    """The same calendar day `years` later; 29 Feb falls on 1 Mar in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)


def default_valid_until(kind: str, granted_on: date, batch_valid_until: date | None = None
                        ) -> date | None:
    """Last day of validity by kind, so nobody types an expiry date by hand.

    - hnte: three years from the issue date (第九条): the last valid day is the day before the
      third anniversary, so a certificate issued 2023-12-08 is valid through 2026-12-07 and the
      validity is exactly three years long.
    - tech_sme: the registration number is valid only in its entry year (国科火字〔2019〕87号
      "登记编号当年有效"), i.e. through 31 December of the year it was granted.
    - Tianjin ladder titles: unconfirmed (domain.md §3.5); the admin-set date of the batch, or
      None (no known end) until an admin sets it.
    """
    if kind == "hnte":
        return anniversary(granted_on, HNTE_VALID_YEARS) - timedelta(days=1)
    if kind == "tech_sme":
        return date(granted_on.year, 12, 31)
    return batch_valid_until


def number_notes(kind: str, number: str | None, granted_on: date | None = None
                 ) -> list[dict[str, str]]:
    """Warnings and explanations for a certificate number (never blocks saving)."""
    notes: list[dict[str, str]] = []
    text = (number or "").strip().upper()
    if kind == "hnte":
        if not text:
            return [{"level": "warning", "message": _("未填写高新技术企业证书编号")}]
        match = HNTE_NUMBER.match(text)
        if not match:
            notes.append({"level": "warning", "message": _(
                "证书编号与常见格式 GR+年份(4位)+省份代码(2位)+序号(6位) 不符，请核对")})
            return notes
        year, province, _serial = match.groups()
        if province != TIANJIN_PROVINCE:
            notes.append({"level": "warning",
                          "message": _("省份代码为%(code)s，天津为%(tianjin)s，请核对",
                                       code=province, tianjin=TIANJIN_PROVINCE)})
        if granted_on is not None and int(year) != granted_on.year:
            notes.append({"level": "warning",
                          "message": _("编号中的年份%(year)s与发证日期年份%(granted)s不一致",
                                       year=year, granted=granted_on.year)})
    elif kind == "tech_sme":
        if len(text) < 11:
            notes.append({"level": "warning",
                          "message": _("登记编号不足11位，无法读取第11位标识")})
            return notes
        marker = text[10]
        if marker not in TECH_SME_MARKERS:
            notes.append({"level": "warning",
                          "message": _("第11位为“%(marker)s”，不是0、A或B，请核对登记编号",
                                       marker=marker)})
        else:
            notes.append({"level": "info" if marker == "0" else "warning",
                          "message": str(TECH_SME_MARKERS[marker])})
    return notes


def tech_sme_marker(number: str | None) -> str | None:
    """The 11th character of a tech-SME number (0/A/B) or None when it cannot be read."""
    text = (number or "").strip().upper()
    return text[10] if len(text) >= 11 and text[10] in TECH_SME_MARKERS else None


class _Held(Protocol):
    """A title or a plain row with its kind and dates (what status_on reads)."""

    kind: str
    granted_on: date
    valid_until: date | None
    revoked_on: date | None


class _Dated(Protocol):
    kind: str
    granted_on: date
    valid_until: date | None
    revoked_on: date | None

    def status_on(self, day: date) -> str: ...


def status_on(held: Any, day: date) -> str:
    """valid, expired, revoked or pending on `day`, from the dates alone (never typed in).

    A revocation dated on or before the grant means the title was never held (entered by
    mistake), so it is revoked from its first day.
    """
    if held.revoked_on is not None and held.revoked_on <= day:
        return "revoked"
    if held.valid_until is not None and day > held.valid_until:
        return "expired"
    if day < held.granted_on:
        return "pending"
    return "valid"


def rung_on(qualifications: Iterable[_Held], day: date) -> str | None:
    """The highest rung (KINDS order) among qualifications valid on `day`; None for none."""
    valid = [q.kind for q in qualifications if status_on(q, day) == "valid" and q.kind in KINDS]
    return max(valid, key=rung_index) if valid else None


def rung_index(kind: str | None) -> int:
    """Position on the ladder; -1 for no rung, so every kind is above it."""
    return list(KINDS).index(kind) if kind in KINDS else -1


@dataclass(frozen=True)
class RungStep:
    """One move on the ladder as the qualifications date it."""

    effective_on: date
    from_stage: str | None
    to_stage: str | None
    #: the qualification whose grant, expiry or revocation made the move
    cause: Any
    #: grant, expiry or revocation
    why: str


def title_change_days(qualifications: Iterable[Any]) -> set[date]:
    """The days on which a title's standing can change: its grant, the day after its validity
    ends, its revocation (the rung, the history and the verdicts can move on no other day)."""
    days = set()
    for q in qualifications:
        days.add(q.granted_on)
        if q.valid_until is not None:
            days.add(q.valid_until + timedelta(days=1))
        if q.revoked_on is not None:
            days.add(q.revoked_on)
    return days


def _change_days(qualifications: list[_Dated], today: date) -> list[date]:
    return sorted(d for d in title_change_days(qualifications) if d <= today)


def _cause(qualifications: list[_Dated], day: date, old: str | None, new: str | None
           ) -> tuple[Any, str]:
    """Which title's event on `day` made the rung go from `old` to `new`, and how."""
    if new is not None and rung_index(new) > rung_index(old):
        granted = [q for q in qualifications if q.kind == new and q.granted_on == day
                   and q.status_on(day) == "valid"]
        if granted:
            return granted[0], "grant"
    revoked = [q for q in qualifications if q.kind == old and q.revoked_on == day]
    if revoked:
        return revoked[0], "revocation"
    expired = [q for q in qualifications if q.kind == old and q.valid_until is not None
               and q.valid_until + timedelta(days=1) == day]
    if expired:
        return expired[0], "expiry"
    granted = [q for q in qualifications if q.kind == new and q.granted_on == day]
    return (granted[0] if granted else None), "grant"


def rung_timeline(qualifications: Iterable[_Dated], today: date) -> list[RungStep]:
    """The firm's moves on the ladder up to `today`, dated by grant, expiry and revocation.

    Derived from the titles alone, so the order in which they were typed in cannot change it;
    a title revoked on (or before) its grant day leaves no trace.
    """
    quals = [q for q in qualifications if q.kind in KINDS]
    steps: list[RungStep] = []
    current: str | None = None
    for day in _change_days(quals, today):
        rung = rung_on(quals, day)
        if rung != current:
            cause, why = _cause(quals, day, current, rung)
            steps.append(RungStep(day, current, rung, cause, why))
            current = rung
    return steps


def time_on_rungs(transitions: list[Any], today: date) -> list[dict[str, Any]]:
    """Ladder history rows with the days spent on each rung (until the next move or today)."""
    ordered = sorted(transitions, key=lambda t: (t.effective_on, t.id or 0))
    rows = []
    for i, t in enumerate(ordered):
        ends = ordered[i + 1].effective_on if i + 1 < len(ordered) else today
        rows.append({"transition": t, "days": max((ends - t.effective_on).days, 0),
                     "current": i + 1 == len(ordered)})
    return rows
