"""GB 32100-2015 check character and input normalisation (domain.md §8.1)."""

import pytest

from tracker.enterprises import uscc
from tracker.enterprises.uscc import check_character, normalise, problem


def test_weights_are_powers_of_three_mod_31():
    assert uscc.WEIGHTS[:8] == [1, 3, 9, 27, 19, 26, 16, 17]
    assert uscc.WEIGHTS[-3:] == [10, 30, 28]


def test_worked_example_from_the_standard_is_malformed():
    # domain.md §8.1: S = 1640, 1640 mod 31 = 28, check value 3
    assert check_character("91350100M000100Y4") == "3"
    assert problem("91350100M000100Y4Z").code == "check"
    assert problem("91350100M000100Y43") is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  91350100m000100y43 ", "91350100M000100Y43"),
        ("９１３５０１００Ｍ０００１００Ｙ４３", "91350100M000100Y43"),  # full-width
        ("9135-0100-M000-100Y-43", "91350100M000100Y43"),
        ("91350100 M000100Y43\u3000", "91350100M000100Y43"),  # ideographic space
        ("9135—0100M000100Y43", "91350100M000100Y43"),  # em dash pasted from Word
        (None, ""),
    ],
)
def test_normalise(raw, expected):
    assert normalise(raw) == expected


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("", "empty"),
        ("91350100M000100Y4", "length"),
        ("91350100M000100Y433", "length"),
        ("91350100M0001O0Y43", "forbidden"),  # letter O
        ("9135010IM000100Y43", "forbidden"),  # letter I
        ("91350100M00010SY43", "forbidden"),  # letter S
        ("91350100M000100Y4*", "check"),
        ("9135010*M000100Y43", "character"),
        ("91350100M000100Y44", "check"),
    ],
)
def test_problems_name_what_is_wrong(code, kind):
    found = problem(code)
    assert found is not None
    assert found.code == kind
    assert found.message


def test_check_message_names_expected_character(app):
    with app.test_request_context():
        message = problem("91350100M000100Y44").message
    assert "3" in message and "4" in message


def test_every_demo_generated_code_is_valid():
    from tests.factories import valid_uscc

    for n in range(200):
        assert problem(valid_uscc(n)) is None
