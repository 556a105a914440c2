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
