"""What the English scan counts as untranslated: Chinese outside data values and official titles.

How data is told apart from interface text: every text column of every table is read from the
database the page was rendered from (firm names, addresses, people's names, batches, notes,
stored audit summaries, admin-edited rule names …). In each text node of the page, those stored
values are blanked out (longest first), then official document references — 《titles》 and
document numbers such as 国科发火〔2016〕32号 with their article (第十一条(五)) — are blanked too.
Whatever Chinese is left was written by us and should have come from the catalogue. The
language switch ("中文") names the language in itself and is allowed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import String, Text, select

from tracker.extensions import db

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]+")
HAN = re.compile(r"[\u3400-\u9fff]")
#: Chinese punctuation: left in an English sentence once data and official titles are gone
PUNCTUATION = re.compile(r"[，。：；（）！？、“”「」【】]")
#: official document numbers (国科发火〔2016〕32号) with their article, and 《titles》
OFFICIAL = re.compile(
    r"《[^》]*》|[\u4e00-\u9fff]{1,8}〔\d{4}〕\d+号(\s*附件\d*)?"
    r"(\s*(第[一二三四五六七八九十百]+条)?(\([一二三四五六七八九十]+\)|（[一二三四五六七八九十]+）)?"
    r"[A-D]?(、第[一二三四五六七八九十]+条[A-D]?)?)*"
    r"|第[一二三四五六七八九十百]+条(\([一二三四五六七八九十\d]+\))?"
)
#: texts allowed as they are: the language switch names Chinese in Chinese, and English help
#: names the bureau's unit "(万元)" the way its forms print it
ALLOWED = {"中文", "(万元)", "（万元）"}
#: columns whose Chinese is written by the system, not typed by people, so it is not data: the
#: engine's stored verdicts (its sentences are translated on display) and the audit summaries
NOT_DATA = {("eligibility_results", "result"), ("eligibility_results", "near_miss"),
            ("audit_events", "summary"), ("import_jobs", "message")}
#: JSON keys holding sentences the system wrote (a catalogue id and its Chinese rendering,
#: shown translated); the cells, headers and parameters beside them are data
SYSTEM_KEYS = {("import_jobs", "errors"): {"message", "msgid"},
               ("import_jobs", "warnings"): {"message", "msgid"},
               ("import_jobs", "options"): {"msgid", "text"}}


def stored_strings() -> list[str]:
    """Every distinct Chinese-bearing text value in the database, longest first."""
    values: set[str] = set()
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String | Text)
                   and (table.name, c.name) not in NOT_DATA]
        if not columns:
            continue
        for row in db.session.execute(select(*columns)):
            for value in row:
                if isinstance(value, str) and HAN.search(value):
                    values.add(value.strip())
                    # values joined in a page with separators ("张三；李四") count part by part
                    values.update(p.strip() for p in re.split(r"[；;、,，\n]", value) if p.strip())
    json_values = _json_strings()
    values |= json_values
    return sorted((v for v in values if len(v) >= 2), key=len, reverse=True)


def _json_strings() -> set[str]:
    """Strings stored inside JSON columns (audit before/after values, honours lists)."""
    from sqlalchemy import JSON

    found: set[str] = set()

    def walk(value, skip=frozenset()):
        if isinstance(value, str):
            if HAN.search(value):
                found.add(value.strip())
        elif isinstance(value, dict):
            for k, v in value.items():
                if k not in skip:
                    walk(v, skip)
        elif isinstance(value, list | tuple):
            for v in value:
                walk(v, skip)

    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, JSON)
                   and (table.name, c.name) not in NOT_DATA]
        if columns:
            skips = [frozenset(SYSTEM_KEYS.get((table.name, c.name), ())) for c in columns]
            for row in db.session.execute(select(*columns)):
                for value, skip in zip(row, skips, strict=True):
                    walk(value, skip)
    return found


def untranslated(texts: Iterable[str], stored: list[str]) -> list[str]:
    """The Chinese runs left in ``texts`` once data values and official titles are blanked."""
    left = []
    for text in texts:
        if not HAN.search(text) and not PUNCTUATION.search(text):
            continue
        rest = text
        for value in stored:
            if value in rest:
                rest = rest.replace(value, " ")
                if not HAN.search(rest):
                    break
        rest = OFFICIAL.sub(" ", rest)
        for allowed in ALLOWED:
            rest = rest.replace(allowed, " ")
        for run in CJK.findall(rest):
            if HAN.search(run) or PUNCTUATION.search(run):
                left.append(f"{run}  ⟵  {text.strip()[:80]}")
    return left
