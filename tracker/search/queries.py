"""What the navbar search looks up, one index-served query per kind of match.

A firm is found by part of its name (folded as on save; a trigram index on PostgreSQL), by a
prefix of its USCC, or by part of its name in pinyin or pinyin initials ("tjbyny" and "beiyang"
find 天津北洋能源; keys that start with the query come first); carriers by part of their name;
certificates by a prefix of their number.
Every query carries the role's scope (tracker.accounts.scope) and a limit, so the cost does
not follow the size of the registry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import contains_eager

from tracker.accounts.scope import carrier_scope, enterprise_scope
from tracker.enterprises.models import Enterprise
from tracker.enterprises.queries import name_filter, prefix_range
from tracker.extensions import db
from tracker.incubation.models import Carrier
from tracker.ladder.models import Qualification
from tracker.names import INITIALS_MAX, PINYIN_MAX, fold_name, name_search_terms, pinyin_query

#: results shown per kind; more are reached through the kind's own list
LIMIT = 20
#: longest query looked at (a firm name is at most 200 characters)
MAX_QUERY = 100
#: shortest pinyin query also looked for inside the keys: trigrams need three letters, and a
#: shorter fragment (an, ji) sits inside nearly every name
INFIX_MIN = 3
#: USCC and certificate numbers: digits and capital letters (and dashes in some certificates)
_CODE = re.compile(r"^[0-9A-Z-]{2,60}$")


@dataclass
class Results:
    """Matches per kind; `more_*` says the kind had more than LIMIT."""

    q: str
    firms: list[Enterprise] = field(default_factory=list)
    carriers: list[Carrier] = field(default_factory=list)
    certificates: list[Qualification] = field(default_factory=list)
    more_firms: bool = False
    more_carriers: bool = False
    more_certificates: bool = False

    @property
    def empty(self) -> bool:
        return not (self.firms or self.carriers or self.certificates)


def clean_query(text: str | None) -> str:
    """The query as searched: folded like stored names (full-width letters as ASCII), bounded."""
    return fold_name(text)[:MAX_QUERY]


def code_query(q: str) -> str:
    """The query as a code prefix (USCC, certificate number), or '' when it cannot be one."""
    code = q.replace(" ", "").upper()
    return code if _CODE.match(code) and any(c.isdigit() for c in code) else ""


def firm_statements(user: Any, q: str) -> list[Select]:
    """One query per way the text may name a firm, each answered from its own index: the name
    trigrams (PostgreSQL), and a prefix range of the USCC, the pinyin initials or the spelled
    pinyin, each read in its own column's order so the range scan stops after LIMIT rows."""
    return _statements(user, _close_matches(q))


def infix_statements(user: Any, q: str) -> list[Select]:
    """Firms whose pinyin or initials contain the query further in (天津… is typed past):
    the keys' trigram indexes on PostgreSQL, a scan in pinyin order on SQLite."""
    key = pinyin_query(q)
    if len(key) < INFIX_MIN:
        return []
    return _statements(user, [(Enterprise.name_initials.contains(key), Enterprise.name_pinyin),
                              (Enterprise.name_pinyin.contains(key), Enterprise.name_pinyin)])


def _close_matches(q: str) -> list[tuple[Any, Any]]:
    """(condition, order) for the name, USCC-prefix and pinyin-prefix matches."""
    statements = []
    if name_search_terms(q):
        statements.append((name_filter(q), Enterprise.name_pinyin))
    if code := code_query(q):
        statements.append((prefix_range(Enterprise.uscc, code[:18], "Z", 18), Enterprise.uscc))
    if key := pinyin_query(q):
        statements.append((prefix_range(Enterprise.name_initials, key, "z", INITIALS_MAX),
                           Enterprise.name_initials))
        statements.append((prefix_range(Enterprise.name_pinyin, key, "z", PINYIN_MAX),
                           Enterprise.name_pinyin))
    return statements


def _statements(user: Any, matches: list[tuple[Any, Any]]) -> list[Select]:
    return [select(Enterprise).where(enterprise_scope(user), condition)
            .order_by(order, Enterprise.id).limit(LIMIT + 1)
            for condition, order in matches]


def _firms(user: Any, q: str) -> tuple[list[Enterprise], bool]:
    """Close matches (firm_statements), then the pinyin infix ones while room is left; each
    group merged by id, active firms first in pinyin order."""
    firms: list[Enterprise] = []
    more = False
    for statements in (firm_statements(user, q), infix_statements(user, q)):
        if len(firms) > LIMIT:
            break
        found: dict[int, Enterprise] = {}
        for statement in statements:
            rows = db.session.scalars(statement).all()
            more = more or len(rows) > LIMIT
            found.update((firm.id, firm) for firm in rows[:LIMIT])
        seen = {firm.id for firm in firms}
        firms += sorted((f for f in found.values() if f.id not in seen),
                        key=lambda f: (f.status != "active", f.name_pinyin, f.id))
    return firms[:LIMIT], more or len(firms) > LIMIT


def _carriers(user: Any, q: str) -> tuple[list[Carrier], bool]:
    terms = name_search_terms(q)
    if not terms:
        return [], False
    rows = db.session.scalars(
        select(Carrier).where(carrier_scope(user), or_(*(Carrier.name.contains(t, autoescape=True)
                                                        for t in terms)))
        .order_by(Carrier.name_pinyin, Carrier.id).limit(LIMIT + 1)).all()
    return rows[:LIMIT], len(rows) > LIMIT


def certificate_statement(user: Any, q: str) -> Select | None:
    """Certificates whose number starts with the query (its index), with their firm."""
    code = code_query(q)
    if not code:
        return None
    return (select(Qualification).join(Qualification.enterprise)
            .where(enterprise_scope(user), prefix_range(Qualification.number, code, "Z", 60))
            .options(contains_eager(Qualification.enterprise))
            .order_by(Qualification.number, Qualification.id).limit(LIMIT + 1))


def _certificates(user: Any, q: str) -> tuple[list[Qualification], bool]:
    statement = certificate_statement(user, q)
    if statement is None:
        return [], False
    rows = db.session.scalars(statement).all()
    return rows[:LIMIT], len(rows) > LIMIT


def search(user: Any, text: str | None) -> Results:
    """Everything `user` may see that the query names, grouped by kind."""
    q = clean_query(text)
    results = Results(q=q)
    if not q:
        return results
    results.firms, results.more_firms = _firms(user, q)
    results.carriers, results.more_carriers = _carriers(user, q)
    results.certificates, results.more_certificates = _certificates(user, q)
    return results
