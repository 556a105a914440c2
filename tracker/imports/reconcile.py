"""Comparing an official list (e.g. this year's HNTE approvals) with what the tracker records.

Three findings, each a row the user can act on: on the list but not recorded, recorded with a
different number or dates, and recorded as holding the qualification but missing from the list.

The file is parsed once per upload and kind: what it lists is kept as JSON beside the upload
(`<token>.<kind>.json`). A stored upload never changes (its token is a fresh random name), so
that cache never goes stale and needs no TTL; the comparison with the database runs on every
view (a few batched queries), so edits and the viewer's scope always show. Both files are
deleted together by the upload retention sweep (`imports.retention`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tracker.accounts.scope import enterprise_scope
from tracker.clock import today
from tracker.enterprises.models import Enterprise
from tracker.extensions import db
from tracker.imports import columns, engine
from tracker.imports import normalise as n
from tracker.imports.reader import FileUnreadable, open_sheet
from tracker.ladder.models import Qualification
from tracker.ladder.services import valid_until_for


@dataclass
class Finding:
    row: int | None
    uscc: str
    name: str
    enterprise_id: int | None = None
    qualification_id: int | None = None
    #: what the list says (number, granted_on, valid_until, batch)
    listed: dict[str, Any] = field(default_factory=dict)
    #: {field: (recorded, listed)} for differences
    differences: dict[str, tuple[Any, Any]] = field(default_factory=dict)


@dataclass
class Report:
    kind: str
    rows: int = 0
    unknown_firms: list[Finding] = field(default_factory=list)
    not_recorded: list[Finding] = field(default_factory=list)
    different: list[Finding] = field(default_factory=list)
    not_on_list: list[Finding] = field(default_factory=list)
    matching: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)


def _listed_values(values: dict[str, Any], kind: str) -> dict[str, Any]:
    listed = {key: values.get(key) for key in ("number", "granted_on", "valid_until", "batch")}
    if listed["granted_on"] and not listed["valid_until"]:
        listed["valid_until"] = valid_until_for(kind, listed["granted_on"], listed["batch"])
    return listed


#: what the comparison needs from each listed row
_LISTED_KEYS = ("uscc", "name", "number", "granted_on", "valid_until", "batch")
_DATE_KEYS = ("granted_on", "valid_until")


@dataclass
class ListedFile:
    """What one official list says, read once: {uscc: (row, values)}, row count, row errors."""

    listed: dict[str, tuple[int, dict[str, Any]]]
    rows: int
    errors: list[dict[str, Any]]


def read_list(path: str | Path, kind: str) -> ListedFile:
    """Parse the list (first occurrence of each code wins); raises FileUnreadable."""
    listed: dict[str, tuple[int, dict[str, Any]]] = {}
    rows, errors = 0, []
    with open_sheet(path, engine.header_score("qualifications")) as sheet:
        mapping = columns.auto_mapping("qualifications", sheet.headers)
        plan = engine.plan_columns("qualifications", sheet.headers, mapping)
        if "uscc" not in {spec.key for _i, _h, spec in plan}:
            raise FileUnreadable("名单中找不到“统一社会信用代码”列")
        for number, cells in sheet.rows:
            if all(n.is_blank(c) for c in cells):
                continue
            row = engine.parse_row(number, cells, plan)
            rows += 1
            if row.values.get("kind") and row.values["kind"] != kind:
                continue  # a mixed list: other kinds are not this comparison's business
            if row.errors:
                errors.extend(row.errors)
                continue
            listed.setdefault(row.values["uscc"], (number, {
                key: row.values.get(key) for key in _LISTED_KEYS}))
    return ListedFile(listed, rows, errors)


def cache_path(path: Path, kind: str) -> Path:
    return path.with_name(f"{path.name}.{kind}.json")


def cached_list(path: str | Path, kind: str) -> ListedFile:
    """The list as parsed on the first view of this upload and kind (see the module note)."""
    path = Path(path)
    cache = cache_path(path, kind)
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        parsed = read_list(path, kind)
        tmp = cache.with_suffix(".tmp")
        tmp.write_text(json.dumps({
            "rows": parsed.rows, "errors": parsed.errors,
            "listed": [[code, number, values] for code, (number, values)
                       in parsed.listed.items()]}, default=str, ensure_ascii=False),
            encoding="utf-8")
        os.replace(tmp, cache)
        return parsed
    listed = {}
    for code, number, values in data["listed"]:
        for key in _DATE_KEYS:
            if values.get(key):
                values[key] = date.fromisoformat(values[key])
        listed[code] = (number, values)
    return ListedFile(listed, data["rows"], data["errors"])


def reconcile(path: str | Path, kind: str, user: Any, *, year: int | None = None) -> Report:
    """Compare the list with the user's scoped records; raises FileUnreadable for bad files."""
    parsed = cached_list(path, kind)
    report = Report(kind=kind, rows=parsed.rows, errors=list(parsed.errors))
    listed = parsed.listed
    firms = {}
    codes = list(listed)
    for start in range(0, len(codes), 500):
        batch = codes[start:start + 500]
        firms.update({e.uscc: e for e in db.session.scalars(
            select(Enterprise).where(Enterprise.uscc.in_(batch), enterprise_scope(user)))})
    held: dict[int, list[Qualification]] = {}
    if firms:
        ids = [f.id for f in firms.values()]
        for start in range(0, len(ids), 500):
            for q in db.session.scalars(select(Qualification).where(
                    Qualification.kind == kind, Qualification.enterprise_id.in_(
                        ids[start:start + 500]))):
                held.setdefault(q.enterprise_id, []).append(q)
    for code, (number, values) in listed.items():
        name = values.get("name") or ""
        wanted = _listed_values(values, kind)
        firm = firms.get(code)
        if firm is None:
            report.unknown_firms.append(Finding(number, code, name, listed=wanted))
            continue
        quals = held.get(firm.id, [])
        match = None
        if wanted["number"]:
            match = next((q for q in quals if q.number == wanted["number"]), None)
        if match is None and wanted["granted_on"]:
            match = next((q for q in quals if q.granted_on.year == wanted["granted_on"].year),
                         None)
        if match is None and not wanted["number"] and not wanted["granted_on"] and quals:
            match = max(quals, key=lambda q: q.granted_on)
        if match is None:
            report.not_recorded.append(Finding(number, code, firm.name, firm.id, listed=wanted))
            continue
        diffs = {key: (getattr(match, key), value) for key, value in wanted.items()
                 if value not in (None, "") and getattr(match, key) != value}
        if diffs:
            report.different.append(Finding(number, code, firm.name, firm.id, match.id,
                                            listed=wanted, differences=diffs))
        else:
            report.matching += 1
    report.not_on_list = _recorded_but_missing(kind, user, set(listed), year)
    return report


def _recorded_but_missing(kind: str, user: Any, listed: set[str], year: int | None
                          ) -> list[Finding]:
    """Holders on record that the list omits: granted in `year`, or currently valid."""
    query = (select(Qualification, Enterprise)
             .join(Enterprise, Enterprise.id == Qualification.enterprise_id)
             .where(enterprise_scope(user), Qualification.kind == kind)
             .order_by(Enterprise.name))
    if year:
        query = query.where(Qualification.granted_on >= date(year, 1, 1),
                            Qualification.granted_on <= date(year, 12, 31))
    day = today()
    out = []
    for qualification, firm in db.session.execute(query):
        if firm.uscc in listed:
            continue
        if not year and qualification.status_on(day) != "valid":
            continue
        out.append(Finding(None, firm.uscc, firm.name, firm.id, qualification.id,
                           listed={"number": qualification.number,
                                   "granted_on": qualification.granted_on,
                                   "valid_until": qualification.valid_until,
                                   "batch": qualification.batch}))
    return out
