"""pinyin_keys spells a name word by word (remembering each word): exactly as pypinyin spells
the whole name, heteronyms in phrases, Latin pieces, digits and signs included."""

from __future__ import annotations

import random

from pypinyin import Style, lazy_pinyin
from pypinyin.constants import PHRASES_DICT

from tracker.names import _KEY_CHARS, INITIALS_MAX, PINYIN_MAX, fold_name, pinyin_keys


def _whole(name: str) -> tuple[str, str]:
    """The keys as pypinyin spells the whole name at once (the previous implementation)."""
    folded = fold_name(name).lower()
    if not folded:
        return "", ""
    spelled = lazy_pinyin(folded)
    firsts = lazy_pinyin(folded, style=Style.FIRST_LETTER)
    if len(firsts) != len(spelled):
        firsts = [piece[:1] for piece in spelled]
    return ("".join(_KEY_CHARS.sub("", p) for p in spelled)[:PINYIN_MAX],
            "".join(_KEY_CHARS.sub("", p) for p in firsts)[:INITIALS_MAX])


def test_word_by_word_spelling_is_the_whole_name_spelling():
    names = ["重庆银行天津分行", "长安汽车（天津）有限公司", "ＡＢＣ（天津）重庆银行科技",
             "天津市和平区", "乐器行乐团", "Ｈ＆Ｍ 天津", "天津基准测试科技有限公司12", "单县单位",
             "", "   ",
             "ü女绿", "〇一二", "天津·北辰", "長江實業"]
    phrases = sorted(PHRASES_DICT)
    chance = random.Random(12)
    for _ in range(2000):  # phrases glued to each other and to stray characters
        parts = [chance.choice(phrases) for _ in range(chance.randint(1, 4))]
        parts += [chr(chance.randint(0x4E00, 0x9FA5)) for _ in range(chance.randint(0, 3))]
        parts += chance.choice([[], ["ABC"], ["（天津）"], ["12"], [" Ｈ＆Ｍ "]])
        chance.shuffle(parts)
        names.append("".join(parts))
    for name in names:
        assert pinyin_keys(name) == _whole(name), name
    assert pinyin_keys("重庆银行") == ("chongqingyinhang", "cqyh")


#: names whose cut exercises each internal _pieces leans on: phrases with heteronyms, Latin and
#: digit runs, full-width signs, rare and compatibility ideographs, 〇, traditional forms
_TRICKY = ["重庆银行天津分行", "长安汽车（天津）有限公司", "ＡＢＣ（天津）重庆银行科技",
           "乐器行乐团", "Ｈ＆Ｍ 天津", "天津基准测试科技有限公司12", "单县单位", "ü女绿",
           "〇一二", "天津·北辰", "長江實業", "𠀀𪚥科技", "\ufa18\u3400测试", "银行行长长江",
           "ABC", "12 34"]


def test_the_pypinyin_internals_names_relies_on_keep_their_shape():
    """A drift alarm for tracker.names._pieces, which reads pypinyin's internals (pinned in
    requirements.txt): the pattern's shape it unwraps, the phrase segmenter it calls, and the
    cut they give, word for word what pypinyin's own segmenter (lazy_pinyin's) gives."""
    from pypinyin.constants import RE_HANS
    from pypinyin.seg import mmseg, simpleseg

    from tracker.names import _pieces

    assert RE_HANS.pattern.startswith("^(?:[") and RE_HANS.pattern.endswith("])+$")
    assert isinstance(PHRASES_DICT, dict) and PHRASES_DICT
    assert callable(mmseg.seg.cut)
    runs, cut = _pieces()
    for name in _TRICKY:
        text = fold_name(name).lower()
        words = [word for run in runs(text)
                 for word in (cut(run.group()) if run.group(1) else [run.group()])]
        assert all(isinstance(word, str) for word in words), name
        assert "".join(words) == text, name
        assert words == simpleseg.seg(text), name
    # one character of the unwrapped class is a character RE_HANS accepts, and only those
    sample = "".join(chr(c) for c in (*range(0x3000, 0x3010), *range(0x33FF, 0x3410),
                                      *range(0x4DB0, 0x4E10), *range(0x9FA0, 0x9FB0),
                                      *range(0xF900, 0xFA20), 0x20000, 0x2A6A5, 0x41, 0x31))
    for char in sample:
        in_runs = next(runs(char)).group(1) is not None
        assert in_runs == bool(RE_HANS.match(char)), hex(ord(char))
