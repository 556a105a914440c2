"""Validity dates per kind, number checks and rung derivation: pure table tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from tracker.ladder import validity


@pytest.mark.parametrize(
    ("kind", "granted", "batch_until", "expected"),
    [
        # 国科发火〔2016〕32号 第九条: three years from issue; the last day is the day before the
        # third anniversary.
        ("hnte", date(2023, 12, 8), None, date(2026, 12, 7)),
        ("hnte", date(2023, 1, 1), None, date(2025, 12, 31)),
        ("hnte", date(2024, 2, 29), None, date(2027, 2, 28)),  # no 29 Feb: anniversary 1 Mar
        # 国科火字〔2019〕87号: 登记编号当年有效
        ("tech_sme", date(2026, 3, 15), None, date(2026, 12, 31)),
        ("tech_sme", date(2025, 12, 31), None, date(2025, 12, 31)),
        # Tianjin ladder: unconfirmed; the admin's batch date, else no end
        ("chuying", date(2024, 5, 1), None, None),
        ("dengling", date(2024, 5, 1), date(2026, 12, 31), date(2026, 12, 31)),
        ("leader", date(2024, 5, 1), None, None),
    ],
)
def test_default_valid_until(kind, granted, batch_until, expected):
    assert validity.default_valid_until(kind, granted, batch_until) == expected


def _messages(kind, number, granted=None):
    return [(n["level"], n["message"]) for n in validity.number_notes(kind, number, granted)]


def test_tianjin_hnte_number_matching_the_pattern_has_no_warning():
    assert _messages("hnte", "GR202312000273", date(2023, 12, 8)) == []
    assert _messages("hnte", " gr202312000273 ", date(2023, 12, 8)) == []  # pasted lower case


@pytest.mark.parametrize(
    ("number", "granted", "fragment"),
    [
        ("GR20231200027", date(2023, 12, 8), "常见格式"),  # 5-digit serial
        ("XR202312000273", date(2023, 12, 8), "常见格式"),
        ("GR202311004043", date(2023, 12, 8), "省份代码为11"),  # Beijing
        ("GR202212000273", date(2023, 12, 8), "年份2022"),
        (None, None, "未填写"),
    ],
)
def test_hnte_number_mismatches_are_warnings(number, granted, fragment):
    notes = validity.number_notes("hnte", number, granted)
    assert notes and all(n["level"] == "warning" for n in notes)
    assert any(fragment in n["message"] for n in notes)


@pytest.mark.parametrize(
    ("number", "marker", "level", "fragment"),
    [
        ("2026120116A00001", "A", "warning", "6月1日"),
        ("2026120116000123", "0", "info", "5月31日前"),
        ("2026120116B00007", "B", "warning", "入库当年成立"),
    ],
)
def test_tech_sme_eleventh_character_is_read_and_explained(number, marker, level, fragment):
    assert number[10] == marker
    assert validity.tech_sme_marker(number) == marker
    (note,) = validity.number_notes("tech_sme", number)
    assert note["level"] == level and fragment in note["message"]


@pytest.mark.parametrize("number", ["2026120116", "20261201169X0001"])
def test_tech_sme_unreadable_marker_warns(number):
    (note,) = validity.number_notes("tech_sme", number)
    assert note["level"] == "warning"
    assert validity.tech_sme_marker(number) is None


@dataclass
class Q:
    kind: str
    granted_on: date
    valid_until: date | None = None
    revoked_on: date | None = None
    id: int = 0

    def status_on(self, day):
        if self.revoked_on is not None and self.revoked_on <= day:
            return "revoked"
        if self.valid_until is not None and day > self.valid_until:
            return "expired"
        return "pending" if day < self.granted_on else "valid"


@pytest.mark.parametrize(
    ("quals", "day", "rung"),
    [
        ([], date(2026, 1, 1), None),
        ([Q("tech_sme", date(2026, 3, 1), date(2026, 12, 31))], date(2026, 6, 1), "tech_sme"),
        ([Q("tech_sme", date(2026, 3, 1), date(2026, 12, 31))], date(2027, 1, 1), None),
        ([Q("tech_sme", date(2026, 3, 1), date(2026, 12, 31)),
          Q("hnte", date(2024, 1, 1), date(2026, 12, 31))], date(2026, 6, 1), "hnte"),
        ([Q("hnte", date(2024, 1, 1), date(2026, 12, 31), revoked_on=date(2026, 5, 1)),
          Q("chuying", date(2023, 1, 1))], date(2026, 6, 1), "chuying"),
        ([Q("hnte", date(2026, 7, 1), date(2029, 6, 30))], date(2026, 6, 30), None),  # not yet
        ([Q("leader", date(2025, 1, 1)), Q("hnte", date(2025, 1, 1))], date(2026, 1, 1),
         "leader"),
    ],
)
def test_rung_is_the_highest_valid_qualification(quals, day, rung):
    assert validity.rung_on(quals, day) == rung


def test_time_on_rungs_runs_until_the_next_move_or_today():
    @dataclass
    class T:
        id: int
        effective_on: date

    rows = validity.time_on_rungs([T(2, date(2026, 3, 1)), T(1, date(2026, 1, 1))],
                                  date(2026, 3, 11))
    assert [(r["transition"].id, r["days"], r["current"]) for r in rows] == [
        (1, 59, False), (2, 10, True)]
