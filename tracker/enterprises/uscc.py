"""统一社会信用代码 (USCC) normalisation and check-character validation, GB 32100-2015.

domain.md §8.1: 18 characters from a 31-symbol alphabet without I, O, Z, S, V; the 18th is a
check character over the first 17 with weights 3^(i-1) mod 31.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from tracker.messages import Message

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
WEIGHTS = [pow(3, i, 31) for i in range(17)]  # 1, 3, 9, 27, 19, 26, ...
FORBIDDEN = set("IOZSV")
LENGTH = 18
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―_]+")


@dataclass(frozen=True)
class USCCProblem:
    """Why a code was refused, in words a clerk can act on."""

    code: str
    message: str


def normalise(raw: str | None) -> str:
    """Trim, fold full-width to half-width, upper-case, drop spaces and dashes."""
    if raw is None:
        return ""
    text = unicodedata.normalize("NFKC", str(raw))  # ＡＢＣ１２３ -> ABC123, ideographic space too
    return _SEPARATORS.sub("", text).upper()


def check_character(first17: str) -> str:
    total = sum(VALUE[ch] * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def problem(code: str) -> USCCProblem | None:
    """The first thing wrong with a normalised code, or None when it is valid."""
    if not code:
        return USCCProblem("empty", Message("请填写统一社会信用代码"))
    if len(code) != LENGTH:
        return USCCProblem(
            "length",
            Message("统一社会信用代码应为18位，当前为%(n)d位", n=len(code)),
        )
    # The 18th position is judged as a check character, so the message can name the right one.
    bad = sorted({ch for ch in code[:17] if ch not in VALUE})
    if bad:
        forbidden = [ch for ch in bad if ch in FORBIDDEN]
        if forbidden:
            return USCCProblem(
                "forbidden",
                Message("统一社会信用代码不使用字母 I、O、Z、S、V，发现：%(chars)s",
                       chars=forbidden),
            )
        return USCCProblem(
            "character",
            Message("统一社会信用代码含有无效字符：%(chars)s", chars=bad),
        )
    expected = check_character(code[:17])
    if code[17] != expected:
        return USCCProblem(
            "check",
            Message("校验位错误：第18位应为 %(expected)s，实际为 %(actual)s（请核对是否抄错）",
                   expected=expected, actual=code[17]),
        )
    return None


def make_code(serial: int, prefix: str = "91120116") -> str:
    """A valid code numbered `serial` (base 31 in the nine free places) for demos, tests, bench."""
    digits = ""
    for _ in range(LENGTH - 1 - len(prefix)):
        serial, rest = divmod(serial, 31)
        digits = ALPHABET[rest] + digits
    body = prefix + digits
    return body + check_character(body)


def is_valid(code: str) -> bool:
    return problem(normalise(code)) is None
