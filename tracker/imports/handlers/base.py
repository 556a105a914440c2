"""What every import kind shares: the options, the parsed row, the result and the base handler.

A handler does one kind's lookups (per chunk) and writes (per row, or per chunk for staged rows);
the engine (tracker/imports/engine.py) streams the file and decides what is kept.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from tracker.accounts.roles import Role
from tracker.accounts.scope import editable_enterprises
from tracker.audit import services as audit
from tracker.enterprises.models import Enterprise
from tracker.errors import FieldError
from tracker.extensions import db
from tracker.imports import columns
from tracker.imports import normalise as n
from tracker.imports.models import ImportChange
from tracker.labels import FIELD_NAMES
from tracker.messages import Message, source_text, stored


@dataclass(frozen=True)
class Options:
    kind: str
    mapping: dict[str, str]
    #: fiscal year for metric columns when the sheet has no year column
    year: int
    dry_run: bool = False
    keep_valid: bool = False
    #: qualification kind for every row when the list has no kind column
    qualification_kind: str | None = None
    #: the list is the bureau's official one: its graduations and exits count as approved
    #: (otherwise each becomes a proposal for a bureau officer to decide)
    official_list: bool = False
    #: the user has read the plausibility warnings and wants the figures written anyway
    accept_warnings: bool = False


@dataclass
class Result:
    rows: int = 0
    valid: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0
    #: implausible figures ({"row", "column", "value", "message"}), see plausibility.py
    warnings: list[dict[str, Any]] = field(default_factory=list)
    #: each field an update changes: {"row", "entity", "field", "label", "old", "new"}
    preview: list[dict[str, Any]] = field(default_factory=list)
    #: whether the import's changes were kept (False for dry runs and rejected files)
    written: bool = False
    #: nothing was written because warnings were not accepted
    held_for_warnings: bool = False


@dataclass(frozen=True)
class Actor:
    """Who runs the import, reduced to what scoping needs (None = the shell: everything)."""

    id: int | None
    role: str | None
    zone: str | None

    @classmethod
    def of(cls, user: Any) -> Actor:
        if user is None:
            return cls(None, None, None)
        return cls(user.id, user.role, user.zone)

    @property
    def is_zone(self) -> bool:
        return self.role == Role.ZONE


@dataclass
class Row:
    number: int
    values: dict[str, Any]
    #: field key -> (header, raw cell) for error messages
    cells: dict[str, tuple[str, Any]]
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    preview: list[dict[str, Any]] = field(default_factory=list)
    #: what writing the row did: created, updated or unchanged (None: not written)
    outcome: str | None = None
    #: the checked records a chunk writes together (EnterpriseHandler.stage)
    staged: Any = None
    #: what prepare() worked out ahead for stage(), in the reader process
    ahead: Any = None

    def _problem(self, key: str, message: str, label: str | None) -> dict[str, Any]:
        # the Chinese sentence stays under "message" for readers of the stored JSON; pages,
        # downloads and the CLI render "msgid" with "params" in their reader's language
        header, raw = self.cells.get(key, (None, None))
        problem = {"row": self.number, "column": header or label or key,
                   "value": n.cell_text(raw), "message": source_text(message)}
        if header is None:  # our own label, not the file's header: translated on display
            problem["column_is_label"] = True
        if isinstance(message, Message):
            problem.update(stored(message))
        return problem

    def error(self, key: str, message: str, *, label: str | None = None) -> None:
        self.errors.append(self._problem(key, message, label))

    def warn(self, key: str, message: str, *, label: str | None = None) -> None:
        """An implausible value: the row is fine, but the user must accept it before writing."""
        self.warnings.append(self._problem(key, message, label))


#: service error keys that are not import columns -> the column the message is about
SERVICE_ATTRS = {"enterprise_id": "uscc", "carrier_id": "carrier",
                  "term_override_reason": "term_ends_on"}


class Reject(Exception):
    """The row has errors: roll its savepoint back."""



def fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").strip()


class Handler:
    """Kind-specific lookups and writes; one instance per import run."""

    def __init__(self, options: Options, actor: Actor, user: Any, job_id: int | None):
        self.options, self.actor, self.user, self.job_id = options, actor, user, job_id
        self.enterprises: dict[str, Enterprise] = {}
        #: while a chunk is written together, its undo notes wait here for one INSERT
        self.collected: list[dict[str, Any]] | None = None

    def duplicate_key(self, row: Row) -> Any:
        return row.values.get("uscc")

    def check(self, row: Row) -> None:
        """Checks that need no database. The reader process (reader.read_ahead) runs them ahead of
        the writes, on its copy of the handler: they read nothing that preload or the writes
        change, and only what they put on the row comes back."""

    def prepare(self, row: Row) -> None:
        """stage()'s share of a checked row that needs no database, worked out by the reader
        process as check() is (into row.ahead): the writer's Python is on the import's
        critical path, the reader's runs beside it."""

    def preload(self, rows: list[Row]) -> None:
        """The chunk's firms the user may edit (the scope's own query); others are only named."""
        codes = {r.values["uscc"] for r in rows if r.values.get("uscc")}
        self.enterprises, self.elsewhere = {}, set()
        if not codes:
            return
        # The shell (CLI without --user) imports into every firm.
        query = select(Enterprise) if self.user is None else editable_enterprises(self.user)
        self.enterprises = {e.uscc: e for e in db.session.scalars(
            query.where(Enterprise.uscc.in_(codes)))}
        if self.user is not None and len(self.enterprises) < len(codes):
            self.elsewhere = set(db.session.scalars(select(Enterprise.uscc).where(
                Enterprise.uscc.in_(codes - set(self.enterprises)))))

    def registered(self, row: Row) -> Enterprise:
        """The row's firm, already registered and in scope (lists add titles, not firms)."""
        enterprise = self.enterprises.get(row.values["uscc"])
        if enterprise is None:
            row.error("uscc", Message("该企业尚未登记（或不在您的管辖范围）：请先导入或登记该企业"))
            raise Reject
        return enterprise

    def note(self, row: Row, entity_type: str, entity: Any, action: str, before: dict,
             after: dict, enterprise_id: int | None) -> None:
        if self.options.dry_run or self.job_id is None:
            return
        values = {"job_id": self.job_id, "row": row.number, "entity_type": entity_type,
                  "entity_id": entity.id, "enterprise_id": enterprise_id, "action": action,
                  "before": before, "after": after}
        if self.collected is not None:
            self.collected.append(values)
        else:
            db.session.add(ImportChange(**values))

    def change(self, row: Row, entity_type: str, entity: Any, after: dict,
               enterprise_id: int | None) -> dict[str, Any]:
        """note()'s record of a creation as a plain dict, for a chunk's one multi-row INSERT."""
        return {"job_id": self.job_id, "row": row.number, "entity_type": entity_type,
                "entity_id": entity.id, "enterprise_id": enterprise_id, "action": "create",
                "before": {}, "after": after}

    def note_update(self, row: Row, entity_type: str, entity: Any, before: dict,
                    changes: dict[str, list[Any]], enterprise_id: int | None,
                    year: int | None = None) -> None:
        """Note an update: the changed fields' old values (for undo) and their new ones.

        Dry runs included, each changed field is shown to the user as old → new.
        """
        for name, (old, new) in changes.items():
            row.preview.append({"row": row.number, "entity": entity_type, "field": name,
                                **self._label(name, year), "old": old, "new": new})
        self.note(row, entity_type, entity, "update", {k: before[k] for k in changes},
                  {k: c[1] for k, c in changes.items()}, enterprise_id)

    def preview_new(self, row: Row, entity_type: str, after: dict[str, Any],
                    year: int | None = None) -> None:
        """A record added to a firm on file: its filled-in fields, each as "— → value"."""
        for name, value in after.items():
            if value is not None and name != "period_months":
                row.preview.append({"row": row.number, "entity": entity_type, "field": name,
                                    **self._label(name, year), "old": None, "new": value})

    def _label(self, name: str, year: int | None) -> dict[str, Any]:
        """The field's label in Chinese ("label") and as a message to show translated."""
        label = Message(self.field_label(name))
        if year is not None:
            label = Message("%(year)s 年度%(label)s", year=year, label=label)
        return {"label": source_text(label), "label_message": stored(label)}

    def field_label(self, name: str) -> str:
        if name in FIELD_NAMES:
            return FIELD_NAMES[name]
        return next((f.label for f in columns.KIND_FIELDS[self.options.kind] if f.attr == name),
                    name)

    def correct(self, row: Row, entity_type: str, entity: Any, fields: tuple[str, ...],
                update: Callable[[Any, dict[str, Any]], dict], data: dict[str, Any],
                enterprise_id: int) -> str:
        """Bring a stored row in line with the list: "updated" (noted for undo) or "unchanged"."""
        before = audit.snapshot(entity, fields)
        changes = update(entity, data)
        if not changes:
            return "unchanged"
        self.note_update(row, entity_type, entity, before, changes, enterprise_id)
        return "updated"

    def apply(self, row: Row) -> str:
        raise NotImplementedError

    def stage(self, row: Row) -> bool:
        """Check a row for the chunk's bulk write; False: it goes through apply, row by row.

        Only rows that certainly pass are staged (apply reports everything else with its
        own messages), so a staged row never needs a savepoint of its own.
        """
        return False

    def write_staged(self, rows: list[Row]) -> None:
        """Write the staged rows together (multi-row INSERTs), noting each for undo."""

    def service_errors(self, row: Row, exc: FieldError, group: str) -> None:
        """A feature service's refusal, shown against the column it is about."""
        fields = columns.fields_for(self.options.kind)
        for attr, message in exc.errors.items():
            attr = SERVICE_ATTRS.get(attr, attr)
            key = next((f.key for f in fields.values() if f.attr == attr and f.group == group
                        and f.key in row.cells), None)
            key = key or next((f.key for f in fields.values()
                               if f.attr == attr and f.key in row.cells), None)
            label = next((f.label for f in fields.values() if f.attr == attr), attr)
            row.error(key or attr, message, label=label)



class Values:
    """Lets audit.snapshot render plain dict values the way it renders model attributes."""

    def __init__(self, values: dict[str, Any]):
        self.__dict__.update(values)

