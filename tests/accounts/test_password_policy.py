"""The password policy: one pure function, table-tested."""

from __future__ import annotations

import pytest

from tracker.accounts.passwords import COMMON_PASSWORDS, password_problem


@pytest.mark.parametrize(
    ("password", "email", "problem"),
    [
        ("short1!", "a@b.example", "too_short"),
        ("aaaaaaaaaa", "a@b.example", "repetitive"),
        ("abababababab", "a@b.example", "repetitive"),
        ("1234567890", "a@b.example", "sequential"),
        ("0987654321", "a@b.example", "sequential"),
        ("abcdefghijk", "a@b.example", "sequential"),
        ("qwertyuiop", "a@b.example", "sequential"),
        ("password12", "a@b.example", "common"),
        ("Password123!", "a@b.example", "common"),
        ("iloveyou2024", "a@b.example", "common"),
        ("woaini1314520", "a@b.example", "common"),
        ("zhangwei-2026", "zhangwei@binhai.gov.cn", "contains_email"),
        ("My-Wang.Li-pass-9", "wang.li@binhai.gov.cn", "contains_email"),
        ("correct-horse-9", "bureau1@test.example", None),
        ("Haihe-bridge-lantern-7", "wang.li@binhai.gov.cn", None),
        ("demo-pass-2026", "admin@binhai.example", None),
    ],
)
def test_password_policy(password, email, problem):
    assert password_problem(password, email) == problem


def test_the_bundled_list_holds_a_few_thousand_entries():
    assert len(COMMON_PASSWORDS) >= 2000
    assert "password" in COMMON_PASSWORDS and "123456789" in COMMON_PASSWORDS
