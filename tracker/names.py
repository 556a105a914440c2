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
