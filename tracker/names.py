"""The one normaliser for names people search by: saved names and search queries alike.

Lists typed on Chinese keyboards mix full-width Latin letters and digits into firm names
(“ＡＢＣ科技”); a search for “ABC” must find them. Folding happens on save (web form, API,
import all go through the enterprise service) and on the query, with this same function.
"""

from __future__ import annotations

import re
import unicodedata

#: full-width signs that appear inside Latin brand names and fold with the letters (Ｈ＆Ｍ).
#: Full-width brackets, commas and the like are left alone: registered Chinese names are
#: written with them (“（天津）”), and folding them would rewrite every firm's official name.
_FOLDED_SIGNS = set("＆＋－．＿／＃＠")
_SPACES = re.compile(r"\s+")


def _fold_char(char: str) -> str:
    if "\uff10" <= char <= "\uff19" or "\uff21" <= char <= "\uff3a" \
            or "\uff41" <= char <= "\uff5a" or char in _FOLDED_SIGNS:
        return unicodedata.normalize("NFKC", char)
    return char


def fold_name(text: str | None) -> str:
    """Full-width letters, digits and brand signs as ASCII (NFKC); spaces collapsed, trimmed."""
    if not text:
        return ""
    folded = "".join(_fold_char(c) for c in text)
    return _SPACES.sub(" ", folded.replace("\u3000", " ")).strip()


#: company-form endings two records of one firm are often typed with and without (longest first)
_LEGAL_SUFFIXES = ("股份有限公司", "有限责任公司", "集团有限公司", "有限公司", "责任公司", "公司",
                   "coltd", "ltd", "inc")
#: brackets are dropped (their content kept): （天津） and (天津) and 天津 read alike
_BRACKETS_AND_PUNCTUATION = re.compile(r"[\s()\[\]{}<>（）【】〔〕［］｛｝〈〉《》「」『』\"'“”‘’"
                                       r",，.。、·・\-—_/&+:：;；!！?？]+")


def name_key(text: str | None) -> str:
    """The duplicate-detection key of a firm name: two spellings of one firm give one key.

    Full-width forms folded (NFKC), case ignored, brackets, spaces and punctuation dropped,
    and one legal-form ending (有限公司, 有限责任公司, 股份有限公司, Co., Ltd. …) removed.
    Stored on the enterprise (``name_key``) so likely duplicates are one indexed GROUP BY.
    """
    if not text:
        return ""
    key = _BRACKETS_AND_PUNCTUATION.sub("", unicodedata.normalize("NFKC", text).casefold())
    for suffix in _LEGAL_SUFFIXES:
        if key.endswith(suffix):  # the longest ending only; a bare 有限公司 stays itself
            return (key[: -len(suffix)] or key)[:200]
    return key[:200]
