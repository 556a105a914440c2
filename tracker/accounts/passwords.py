"""The password policy: one pure function, no Flask and no database, shared by every channel."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from flask_babel import lazy_gettext as _l

MIN_LENGTH = 10

#: keyboard and alphabet walks; a password inside one (either direction) is sequential
_WALKS = (
    "01234567890123456789",
    "abcdefghijklmnopqrstuvwxyzabc",
    "qwertyuiopasdfghjklzxcvbnm",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
    "qazwsxedcrfvtgbyhnujmikolp",
    "1q2w3e4r5t6y7u8i9o0p",
)
_SEPARATORS = re.compile(r"[._\-+]")
_LEET = str.maketrans({"@": "a", "4": "a", "0": "o", "1": "i", "!": "i", "3": "e",
                       "$": "s", "5": "s", "7": "t"})

MESSAGES = {
    "too_short": _l("密码至少 %(n)s 位", n=MIN_LENGTH),
    "repetitive": _l("密码不能是重复的字符或片段（如 aaaaaaaaaa）"),
    "sequential": _l("密码不能是连续的数字、字母或键盘序列（如 1234567890、qwertyuiop）"),
    "contains_email": _l("密码不能包含邮箱用户名"),
    "common": _l("这是常见密码，很容易被猜中，请换一个"),
}


@lru_cache(maxsize=1)
def _common() -> frozenset[str]:
    path = Path(__file__).with_name("common_passwords.txt")
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines
                     if line.strip() and not line.startswith("#"))


class _Lazy:
    """COMMON_PASSWORDS reads the file on first use, not at import."""

    def __contains__(self, item: object) -> bool:
        return item in _common()

    def __len__(self) -> int:
        return len(_common())


COMMON_PASSWORDS = _Lazy()


def _periodic(text: str) -> bool:
    """True when text is one shorter piece repeated (aaaa, abab, passpass)."""
    return len(set(text)) <= 2 or (text + text).find(text, 1) < len(text)


def _sequential(text: str) -> bool:
    return len(text) >= 4 and any(text in walk or text in walk[::-1] for walk in _WALKS)


def _core(text: str) -> str:
    """The password without the digits and symbols people tack on at either end."""
    return re.sub(r"^[\W\d_]+|[\W\d_]+$", "", text)


def _email_names(email: str | None) -> set[str]:
    local = (email or "").split("@", 1)[0].lower()
    pieces = [p for p in _SEPARATORS.split(local) if p]
    names = {local, "".join(pieces), *pieces}
    return {name for name in names if len(name) >= 3}


def password_problem(password: str, email: str | None = None) -> str | None:
    """The first reason (a key of MESSAGES) this password is refused, or None if acceptable."""
    if len(password) < MIN_LENGTH:
        return "too_short"
    lowered = password.lower()
    alnum = re.sub(r"[\W_]+", "", lowered)
    if _periodic(lowered) or (alnum and _periodic(alnum)):
        return "repetitive"
    if _sequential(lowered) or _sequential(alnum):
        return "sequential"
    if any(name in lowered or name in alnum for name in _email_names(email)):
        return "contains_email"
    common = _common()
    candidates = {lowered, alnum, lowered.translate(_LEET), _core(lowered),
                  _core(lowered.translate(_LEET))}
    if any(candidate in common for candidate in candidates if candidate):
        return "common"
    return None


def password_message(problem: str) -> str:
    """The user-facing reason for a refused password, in the current language."""
    return str(MESSAGES[problem])
