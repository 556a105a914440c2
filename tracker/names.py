"""The one normaliser for names people search by: saved names and search queries alike.

Lists typed on Chinese keyboards mix full-width Latin letters and digits into firm names
(“ＡＢＣ科技”); a search for “ABC” must find them. Folding happens on save (web form, API,
import all go through the enterprise service) and on the query, with this same function.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from functools import cache, lru_cache

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
#: what a pinyin key keeps of a name's non-Chinese pieces (letters and digits, lower-cased)
_KEY_CHARS = re.compile(r"[^a-z0-9]")
#: longest stored pinyin key; a 200-character name spells at most ~6 letters per character
PINYIN_MAX = 600
INITIALS_MAX = 200


def pinyin_keys(name: str | None) -> tuple[str, str]:
    """The name spelt in pinyin and its initials, lower-case ASCII.

    天津北洋能源 → ("tianjinbeiyangnengyuan", "tjbyny").

    Latin letters and digits in the name are kept whole in both keys (ABC科技 → abckeji, abckj),
    so a search for the brand still matches; signs and brackets are dropped. The list sorts by
    the spelled key (pinyin order), the navbar search matches prefixes of either key.

    What pypinyin's lazy_pinyin spells, word by word: the name is cut as pypinyin cuts it
    (runs of characters with a pinyin, each run into the dictionary's words; other runs are
    kept as they are) and each word's spelling is remembered. Firm names share most of their
    words (天津, 科技, 有限公司) and spelling a word is where the time goes: an import spells
    50,000 names.
    """
    folded = fold_name(name).lower()
    if not folded:
        return "", ""
    pieces, cut = _pieces()
    spelled, initials = [], []
    for run in pieces(folded):
        if not run.group(1):  # no pinyin: kept whole in both keys
            kept = _KEY_CHARS.sub("", run.group())
            spelled.append(kept)
            initials.append(kept)
            continue
        for word in cut(run.group()):
            pinyin, firsts = _word_keys(word)
            spelled.append(pinyin)
            initials.append(firsts)
    return "".join(spelled)[:PINYIN_MAX], "".join(initials)[:INITIALS_MAX]


def preload() -> None:
    """Load pypinyin's tables now (~2 s, ~110 MB) rather than in the first import after a start.

    A worker taking imports calls it before forking its pool (worker.py), so its children
    share the tables and the first import's rows wait for no dictionary.
    """
    pinyin_keys("天津科技")


@cache
def _pieces() -> tuple[Callable[[str], Iterator[re.Match]], Callable[[str], Iterator[str]]]:
    """pypinyin's cut of a text: (runs of characters with / without a pinyin, words of a run).

    The runs are those of pypinyin.seg.simpleseg (its RE_HANS characters); loaded on first
    use, as pypinyin's tables are large. These are pypinyin's internals as of 0.55.0, the
    version requirements.txt pins: tests/test_pinyin_words.py fails if their shape drifts.
    """
    from pypinyin.constants import PHRASES_DICT, RE_HANS
    from pypinyin.seg import mmseg

    hans = RE_HANS.pattern.removeprefix("^(?:").removesuffix(")+$")  # "[...]": one character
    runs = re.compile(f"({hans}+)|[^{hans[1:-1]}]+")
    return runs.finditer, (mmseg.seg.cut if PHRASES_DICT else lambda run: [run])


@lru_cache(maxsize=50_000)
def _word_keys(word: str) -> tuple[str, str]:
    """One word's pinyin and initials (letters and digits only), as lazy_pinyin spells it."""
    from pypinyin import Style, lazy_pinyin

    spelled = lazy_pinyin(word)
    firsts = lazy_pinyin(word, style=Style.FIRST_LETTER)
    if len(firsts) != len(spelled):  # both split the text the same way; be safe if not
        firsts = [piece[:1] for piece in spelled]
    return ("".join(_KEY_CHARS.sub("", piece) for piece in spelled),
            "".join(_KEY_CHARS.sub("", piece) for piece in firsts))


#: a query that may be pinyin: Latin letters (and digits), nothing else
_PINYIN_QUERY = re.compile(r"^[a-z0-9]+$")


def pinyin_query(text: str | None) -> str:
    """The query as a pinyin key prefix ('' when it cannot be): folded, lower-case, no spaces."""
    key = fold_name(text).lower().replace(" ", "")
    return key if _PINYIN_QUERY.match(key) and any(c.isalpha() for c in key) else ""


def name_search_terms(text: str | None) -> list[str]:
    """The substrings a name search looks for: the folded query and, when it differs, its NFKC form.

    Stored names are folded with fold_name, which keeps full-width brackets （天津）; a query
    typed with half-width brackets is matched as typed, one with full-width brackets both ways.
    Folding adds matches, it never loses one.
    """
    folded = fold_name(text)
    if not folded:
        return []
    nfkc = unicodedata.normalize("NFKC", folded).strip()
    return [folded] if nfkc in ("", folded) else [folded, nfkc]
