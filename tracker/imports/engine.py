"""The import engine shared by the web flow, the Celery task and the CLI.

Rows are streamed, parsed, checked and written in chunks through the enterprise services and
the writers adapters. Everything happens inside one SAVEPOINT, so a dry run or a rejected
all-or-nothing import rolls back to exactly what was there before. Rows that register a new
firm and pass every check are written together per chunk (multi-row INSERTs in one SAVEPOINT);
any other row gets its own SAVEPOINT, as does every row of a chunk the database refuses, so a
bad row is still reported with its number and undoes nothing but itself.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask_babel import force_locale
from sqlalchemy import event, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from tracker import changes
from tracker.accounts.roles import Role
from tracker.accounts.scope import carrier_scope, editable_enterprises
from tracker.audit import services as audit
from tracker.audit.models import AuditEvent
from tracker.celery_app import is_transient
from tracker.clock import today
from tracker.enterprises import services as enterprises
from tracker.enterprises.models import AnnualMetrics, Contact, Enterprise
from tracker.enterprises.zones import ZONES
from tracker.errors import FieldError
from tracker.extensions import db
from tracker.imports import columns, plausibility, writers
from tracker.imports import normalise as n
from tracker.imports.models import ImportChange
from tracker.imports.reader import FileUnreadable, open_sheet
from tracker.incubation.models import Carrier, Tenancy
from tracker.labels import FIELD_NAMES
from tracker.ladder.models import Qualification
from tracker.messages import Message, source_text, stored

#: rows parsed, looked up and written together; the session is emptied after each chunk
CHUNK = 500
#: errors kept on the job (a file of 50,000 bad rows should not become a 50 MB JSON column)
MAX_ERRORS = 10000
#: changed fields (old → new) kept on the job for the dry-run page and the CLI; the counts
#: stay exact beyond it
MAX_PREVIEW = 2000
#: longest text each stored column takes (model String lengths)
MAX_LENGTHS = {"name": 200, "street": 100, "address": 300, "website": 200, "contact_name": 100,
               "contact_title": 100, "contact_phone": 40, "number": 60, "batch": 100,
               "carrier": 200, "revoked_reason": 1000}


#: the engine's sentences as jobs stored before message ids hold them filled in: such a job's
#: errors are translated by matching them (tracker.messages.remember_sentences)
STORED_SENTENCES = (
    "与第 %(first)s 行重复：同一企业在文件中出现两次",
    "有效期至（%(until)s）早于发证日期（%(granted)s）",
    "撤销日期（%(revoked)s）早于发证日期（%(granted)s）",
    "毕业/退出日期（%(ended)s）早于入驻日期（%(moved)s）",
    "孵化期满日期（%(term)s）应晚于入驻日期（%(moved)s）",
    "内容过长：最多 %(limit)s 个字",
    "未找到名为「%(carrier)s」的孵化载体（或不在您的管辖范围内），请核对名称或请区科技局先登记该载体",
    "数据库拒绝保存该行：%(reason)s",
    "文件中找不到必需的列：%(columns)s（请检查表头或调整列对应关系）",
    "营业收入（%(revenue)s）高于总收入（%(income)s）：营业收入是总收入的一部分，"
    "请核对单位或列是否对应错误",
    "%(label)s为 %(new)s，是上一年度（%(year)s）%(old)s的 %(times)s 倍，变化超过 %(factor)s 倍，"
    "请核对",
    "已导入 %(valid)s 行，跳过 %(skipped)s 行有错误的行",
    "文件中有 %(n)s 行错误，按“全部或全不”规则没有导入任何一行；请修正后重新上传，"
    "或选择“只导入正确的行”",
    "不存在的日期；%(expected)s",
    "未知的区域；应为：%(names)s",
    "统一社会信用代码应为18位，当前为%(n)d位",
    "统一社会信用代码不使用字母 I、O、Z、S、V，发现：%(chars)s",
    "统一社会信用代码含有无效字符：%(chars)s",
    "校验位错误：第18位应为 %(expected)s，实际为 %(actual)s（请核对是否抄错）",
    "科技人员数（%(staff)s）不能超过从业人数（%(employees)s）",
    "年度应在 1980–%(year)s 之间",
    "只能登记或修改本区域（%(own)s）的企业",
    "%(n)s 万元",
    "缺少%(label)s",
    "导入的%(label)s已被删除",
    "导入的%(label)s在导入后又被修改过",
    "导入的企业「%(name)s」之后又登记了其他%(kind)s，不能删除",
    "导入的%(entity)s之后已有 %(count)s 条%(label)s，不能删除",
    "%(year)s 年度%(label)s",
    # the job state machine's reasons (tracker/jobs), shown on the same page
    "任务%(was)s超过 %(m)d 分钟仍未完成，已尝试 %(n)d 次，不再自动重试；请检查后台服务后点击“重试”",
    "任务%(was)s超过 %(m)d 分钟仍未完成，已自动重新排队（第 %(n)d 次）",
)


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
_SERVICE_ATTRS = {"enterprise_id": "uscc", "carrier_id": "carrier",
                  "term_override_reason": "term_ends_on"}


class _Reject(Exception):
    """The row has errors: roll its savepoint back."""


def default_year() -> int:
    """Metric columns without a year belong to the previous calendar year by default."""
    return today().year - 1


def header_score(kind: str) -> Callable[[list[Any]], int]:
    def score(cells: list[Any]) -> int:
        return sum(1 for c in cells if columns.detect_field(kind, c))

    return score


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").strip()


class _Handler:
    """Kind-specific lookups and writes; one instance per import run."""

    def __init__(self, options: Options, actor: Actor, user: Any, job_id: int | None):
        self.options, self.actor, self.user, self.job_id = options, actor, user, job_id
        self.enterprises: dict[str, Enterprise] = {}

    def duplicate_key(self, row: Row) -> Any:
        return row.values.get("uscc")

    def check(self, row: Row) -> None:
        """Checks that need no database."""

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
            raise _Reject
        return enterprise

    def note(self, row: Row, entity_type: str, entity: Any, action: str, before: dict,
             after: dict, enterprise_id: int | None) -> None:
        if self.options.dry_run or self.job_id is None:
            return
        db.session.add(ImportChange(job_id=self.job_id, row=row.number, entity_type=entity_type,
                                    entity_id=entity.id, enterprise_id=enterprise_id,
                                    action=action, before=before, after=after))

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
            attr = _SERVICE_ATTRS.get(attr, attr)
            key = next((f.key for f in fields.values() if f.attr == attr and f.group == group
                        and f.key in row.cells), None)
            key = key or next((f.key for f in fields.values()
                               if f.attr == attr and f.key in row.cells), None)
            label = next((f.label for f in fields.values() if f.attr == attr), attr)
            row.error(key or attr, message, label=label)


class EnterpriseHandler(_Handler):
    def preload(self, rows: list[Row]) -> None:
        """The chunk's firms with their contacts and the years' figures (a firm comes once)."""
        super().preload(rows)
        self.contacts: dict[int, list[Contact]] = {}
        self.metrics: dict[tuple[int, int], AnnualMetrics] = {}
        ids = [e.id for e in self.enterprises.values()]
        if not ids:
            return
        for contact in db.session.scalars(select(Contact).where(Contact.enterprise_id.in_(ids))
                                          .order_by(Contact.id)):
            self.contacts.setdefault(contact.enterprise_id, []).append(contact)
        years = {r.values.get("fiscal_year") or self.options.year for r in rows}
        years |= {y - 1 for y in years}  # the previous year, for plausibility
        for metrics in db.session.scalars(select(AnnualMetrics).where(
                AnnualMetrics.enterprise_id.in_(ids), AnnualMetrics.fiscal_year.in_(years))):
            self.metrics[(metrics.enterprise_id, metrics.fiscal_year)] = metrics

    def check(self, row: Row) -> None:
        v = row.values
        # the service's own rules, so a dry run refuses exactly what saving would
        metrics = {f.attr: v[f.key] for f in columns.ENTERPRISE_FIELDS
                   if f.group == "metrics" and f.key in v}
        for attr, message in enterprises.metric_errors(metrics, v.get("fiscal_year")).items():
            key = next((f.key for f in columns.ENTERPRISE_FIELDS if f.attr == attr), attr)
            row.error(key, message)
        if problem := enterprises.founded_on_error(v.get("founded_on")):
            row.error("founded_on", problem)
        contact_keys = [k for k in ("contact_title", "contact_phone", "contact_email") if k in v]
        if contact_keys and not v.get("contact_name"):
            row.error("contact_name", Message("填写了联系人电话或邮箱，但缺少联系人姓名"),
                      label="联系人")

    def apply(self, row: Row) -> str:
        v, actor = row.values, self.actor
        data = {f.attr: v[f.key] for f in columns.ENTERPRISE_FIELDS
                if f.group == "enterprise" and f.key in v}
        enterprise = self.enterprises.get(v["uscc"])
        outcome = "unchanged"
        if actor.is_zone and actor.zone not in ZONES:
            row.error("zone", Message("您的账号没有设置所属区域，请联系管理员"), label="所属区域")
            raise _Reject
        if enterprise is None:
            if actor.is_zone:
                data.setdefault("zone", actor.zone)
            if not data.get("name"):
                row.error("name", Message("新登记的企业必须填写企业名称"), label="企业名称")
            if v["uscc"] in self.elsewhere:
                row.error("uscc", Message("该企业已由其他区域登记，您无权修改"))
                raise _Reject
            if not data.get("zone"):
                row.error("zone", Message("新登记的企业必须填写所属区域"), label="所属区域")
            if row.errors:
                raise _Reject
            try:
                enterprise = enterprises.create_enterprise({**data, "uscc": v["uscc"]},
                                                           user=self.user)
            except FieldError as exc:
                self.service_errors(row, exc, "enterprise")
                raise _Reject from None
            self.enterprises[enterprise.uscc] = enterprise
            self.note(row, "enterprise", enterprise, "create", {},
                      audit.snapshot(enterprise, enterprises.ENTERPRISE_FIELDS), enterprise.id)
            outcome = "created"
        else:
            before = audit.snapshot(enterprise, enterprises.ENTERPRISE_FIELDS)
            try:
                changes = enterprises.update_enterprise(enterprise, data, expected_version=None,
                                                        user=self.user)
            except FieldError as exc:
                self.service_errors(row, exc, "enterprise")
                raise _Reject from None
            if changes:
                self.note_update(row, "enterprise", enterprise, before, changes, enterprise.id)
                outcome = "updated"
        fresh = outcome == "created"
        if self._contact(row, enterprise, fresh) and outcome == "unchanged":
            outcome = "updated"
        if self._metrics(row, enterprise, fresh) and outcome == "unchanged":
            outcome = "updated"
        return outcome

    def stage(self, row: Row) -> bool:
        """A new firm whose every check passes here is registered with its chunk."""
        v, actor = row.values, self.actor
        code = v["uscc"]
        if code in self.enterprises or code in self.elsewhere:
            return False
        if actor.is_zone and actor.zone not in ZONES:
            return False
        data = {f.attr: v[f.key] for f in columns.ENTERPRISE_FIELDS
                if f.group == "enterprise" and f.key in v}
        if actor.is_zone:
            data.setdefault("zone", actor.zone)
        if not data.get("name") or not data.get("zone"):
            return False
        try:
            values = enterprises.prepare_enterprise({**data, "uscc": code}, user=self.user)
            contact = None
            if v.get("contact_name"):
                contact = {"name": v["contact_name"]}
                for key, attr in (("contact_title", "title"), ("contact_phone", "phone"),
                                  ("contact_email", "email")):
                    if key in v:
                        contact[attr] = v[key]
                contact["receives_reminders"] = bool(contact.get("email"))
                contact = enterprises.contact_values(contact)
        except FieldError:
            return False
        if values["uscc"] != code:
            return False  # a code spelt differently from its stored form: checked row by row
        metrics = None
        figures = {f.attr: v[f.key] for f in columns.ENTERPRISE_FIELDS
                   if f.group == "metrics" and f.key in v}
        if figures:
            year = v.get("fiscal_year") or self.options.year
            if enterprises.metric_errors(figures, year):
                return False
            self._plausibility(row, None, year, None, figures)
            metrics = (year, figures, "import")
        row.staged = enterprises.NewFirm(values, contact, metrics)
        return True

    def write_staged(self, rows: list[Row]) -> None:
        enterprises.register_many([row.staged for row in rows], actor_id=self.actor.id,
                                  summary=f"导入任务 #{self.job_id}" if self.job_id else None)
        notes = []
        for row in rows:
            enterprise = row.staged.enterprise
            changes.touch(enterprise.id)  # no flush saw the bulk INSERTs
            notes.append(self.change(row, "enterprise", enterprise,
                                     row.staged.snapshots["enterprise"], enterprise.id))
        for row in rows:  # after every firm's note: undo deletes a firm's records before it
            firm = row.staged
            enterprise = firm.enterprise
            if firm.contact_row is not None:
                notes.append(self.change(row, "contact", firm.contact_row,
                                         firm.snapshots["contact"], enterprise.id))
            if firm.metrics_row is not None:
                notes.append(self.change(row, "metrics", firm.metrics_row, {
                    **firm.snapshots["metrics"], "fiscal_year": firm.metrics_row.fiscal_year},
                    enterprise.id))
        if not self.options.dry_run and self.job_id is not None:
            db.session.execute(insert(ImportChange), notes)
        for row in rows:
            self.enterprises[row.staged.enterprise.uscc] = row.staged.enterprise
            row.outcome = "created"

    def _contact(self, row: Row, enterprise: Enterprise, fresh: bool) -> bool:
        v = row.values
        if not v.get("contact_name"):
            return False
        data = {"name": v["contact_name"]}
        for key, attr in (("contact_title", "title"), ("contact_phone", "phone"),
                          ("contact_email", "email")):
            if key in v:
                data[attr] = v[key]
        existing = [] if fresh else self.contacts.get(enterprise.id, [])
        contact = None
        if data.get("email"):
            contact = next((c for c in existing if (c.email or "") == data["email"]), None)
        contact = contact or next((c for c in existing if c.name == data["name"]), None)
        fields = enterprises.CONTACT_FIELDS
        if contact is None:
            data["receives_reminders"] = bool(data.get("email"))
            try:
                contact = enterprises.save_contact(enterprise, data)
            except FieldError as exc:
                self.service_errors(row, exc, "contact")
                raise _Reject from None
            after = audit.snapshot(contact, fields)
            if not fresh:  # a firm on file gains a contact: shown as new values
                self.preview_new(row, "contact", after)
            self.note(row, "contact", contact, "create", {}, after, enterprise.id)
            return True
        before = audit.snapshot(contact, fields)
        wanted = {**before, **{k: audit.snapshot(_Values(data), [k])[k] for k in data}}
        if wanted == before:
            return False
        try:
            enterprises.save_contact(enterprise, {**{k: getattr(contact, k) for k in fields},
                                                  **data}, contact)
        except FieldError as exc:
            self.service_errors(row, exc, "contact")
            raise _Reject from None
        after = audit.snapshot(contact, fields)
        changes = audit.changed_fields(before, after)
        if not changes:
            return False
        self.note_update(row, "contact", contact, before, changes, enterprise.id)
        return True

    def _metrics(self, row: Row, enterprise: Enterprise, fresh: bool) -> bool:
        v = row.values
        values = {f.attr: v[f.key] for f in columns.ENTERPRISE_FIELDS
                  if f.group == "metrics" and f.key in v}
        if not values:
            return False
        year = v.get("fiscal_year") or self.options.year
        fields = enterprises.METRIC_AUDIT_FIELDS
        existing = None if fresh else self.metrics.get((enterprise.id, year))
        before = audit.snapshot(existing, fields) if existing is not None else {}
        if existing is not None and not existing.is_partial:
            wanted = {**before, **audit.snapshot(_Values(values), list(values))}
            if wanted == before:
                return False
        self._plausibility(row, enterprise.id, year, existing, values)
        try:
            metrics = enterprises.save_metrics(enterprise, year, values, source="import")
        except FieldError as exc:
            self.service_errors(row, exc, "metrics")
            raise _Reject from None
        after = audit.snapshot(metrics, fields)
        if existing is None:
            if not fresh:  # a firm on file gains a year's figures: shown as new values
                self.preview_new(row, "metrics", after, year=year)
            self.note(row, "metrics", metrics, "create", {}, {**after, "fiscal_year": year},
                      enterprise.id)
            return True
        changes = audit.changed_fields(before, after)
        if changes:
            self.note_update(row, "metrics", metrics, before, changes, enterprise.id,
                             year=year)
        return bool(changes)

    def _plausibility(self, row: Row, enterprise_id: int | None, year: int,
                      existing: AnnualMetrics | None, values: dict[str, Any]) -> None:
        """Warn about figures that are odd against the same year or the previous full year."""
        fields = enterprises.METRIC_FIELDS
        stored = {}  # a partial year is replaced as a whole, not merged with the file's figures
        if existing is not None and not existing.is_partial:
            stored = {f: getattr(existing, f) for f in fields}
        previous_row = self.metrics.get((enterprise_id, year - 1))
        previous = None
        if previous_row is not None and not previous_row.is_partial:
            previous = {f: getattr(previous_row, f) for f in fields}
        for finding in plausibility.check_year({**stored, **values}, values, previous=previous,
                                               previous_year=year - 1):
            key = next((f.key for f in columns.ENTERPRISE_FIELDS
                        if f.group == "metrics" and f.attr == finding.field
                        and f.key in row.values), finding.field)
            row.warn(key, finding.message)


class _Values:
    """Lets audit.snapshot render plain dict values the way it renders model attributes."""

    def __init__(self, values: dict[str, Any]):
        self.__dict__.update(values)


class QualificationHandler(_Handler):
    def kind_of(self, row: Row) -> str | None:
        v = row.values
        if v.get("kind"):
            return v["kind"]
        if self.options.qualification_kind:
            return self.options.qualification_kind
        number = (v.get("number") or "").upper()
        if number.startswith("GR"):  # HNTE certificates: GR + year + province + serial (§2.4)
            return "hnte"
        return None

    def duplicate_key(self, row: Row) -> Any:
        return (row.values.get("uscc"), self.kind_of(row))

    def preload(self, rows: list[Row]) -> None:
        """The chunk's firms and the titles they hold (a firm and kind come once per file)."""
        super().preload(rows)
        self.held: dict[tuple[int, str], list[Qualification]] = {}
        ids = [e.id for e in self.enterprises.values()]
        if ids:
            for q in db.session.scalars(select(Qualification).where(
                    Qualification.enterprise_id.in_(ids))):
                self.held.setdefault((q.enterprise_id, q.kind), []).append(q)

    def check(self, row: Row) -> None:
        v = row.values
        if self.kind_of(row) is None:
            row.error("kind", Message("无法确定资质类型：请增加“资质类型”列，"
                                      "或在导入时选择名单类型"),
                      label="资质类型")
        if not v.get("granted_on"):
            row.error("granted_on", Message("缺少发证日期（认定/入库日期）"), label="发证日期")
        granted, until = v.get("granted_on"), v.get("valid_until")
        if granted and until and until < granted:
            row.error("valid_until", Message("有效期至（%(until)s）早于发证日期（%(granted)s）",
                                                 until=until, granted=granted))
        revoked = v.get("revoked_on")
        if granted and revoked and revoked < granted:
            row.error("revoked_on", Message("撤销日期（%(revoked)s）早于发证日期（%(granted)s）",
                                                revoked=revoked, granted=granted))

    def apply(self, row: Row) -> str:
        v = row.values
        enterprise = self.registered(row)
        kind = self.kind_of(row)
        data: dict[str, Any] = {"kind": kind, "granted_on": v["granted_on"]}
        for key in ("number", "valid_until", "batch", "revoked_on", "revoked_reason"):
            if key in v:
                data[key] = v[key]
        held = self.held.get((enterprise.id, kind), [])
        match = None
        if data.get("number"):
            match = next((q for q in held if q.number == data["number"]), None)
        match = match or next((q for q in held if q.granted_on == data["granted_on"]), None)
        if match is None:
            try:
                qualification = writers.grant_qualification(enterprise, data)
            except FieldError as exc:
                self.service_errors(row, exc, "qualification")
                raise _Reject from None
            self.note(row, "qualification", qualification, "create", {},
                      audit.snapshot(qualification, writers.QUALIFICATION_FIELDS), enterprise.id)
            return "created"
        try:
            return self.correct(row, "qualification", match, writers.QUALIFICATION_FIELDS,
                                writers.update_qualification, data, enterprise.id)
        except FieldError as exc:
            self.service_errors(row, exc, "qualification")
            raise _Reject from None


class TenancyHandler(_Handler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Only carriers in the user's scope can be named: zone staff neither register a stay at
        # another zone's carrier nor learn which names exist there (the shell sees them all).
        carriers = select(Carrier.name, Carrier.id)
        if self.user is not None:
            carriers = carriers.where(carrier_scope(self.user))
        self.carriers = {_fold(name): id_ for name, id_ in db.session.execute(carriers)}

    def duplicate_key(self, row: Row) -> Any:
        return (row.values.get("uscc"), _fold(row.values.get("carrier") or ""))

    def preload(self, rows: list[Row]) -> None:
        """The chunk's firms and each one's latest stay per carrier (once per file)."""
        super().preload(rows)
        self.latest: dict[tuple[int, int], Tenancy] = {}
        ids = [e.id for e in self.enterprises.values()]
        if ids:
            for t in db.session.scalars(select(Tenancy).where(Tenancy.enterprise_id.in_(ids))
                                        .order_by(Tenancy.moved_in_on, Tenancy.id)):
                self.latest[(t.enterprise_id, t.carrier_id)] = t

    def check(self, row: Row) -> None:
        v = row.values
        if v.get("carrier") and _fold(v["carrier"]) not in self.carriers:
            row.error("carrier", Message("未找到名为「%(carrier)s」的孵化载体"
                                         "（或不在您的管辖范围内），"
                                         "请核对名称或请区科技局先登记该载体",
                                         carrier=v["carrier"]))
        moved, ended = v.get("moved_in_on"), v.get("ended_on")
        if moved and ended and ended < moved:
            row.error("ended_on", Message("毕业/退出日期（%(ended)s）早于入驻日期（%(moved)s）",
                                              ended=ended, moved=moved))
        term = v.get("term_ends_on")
        if moved and term and term <= moved:
            row.error("term_ends_on", Message("孵化期满日期（%(term)s）应晚于入驻日期（%(moved)s）",
                                                  term=term, moved=moved))
        if v.get("status") == "graduated" and "graduation_basis" not in v:
            row.error("graduation_basis", Message("已毕业的企业需要填写毕业依据"), label="毕业依据")

    def apply(self, row: Row) -> str:
        v = row.values
        enterprise = self.registered(row)
        carrier_id = self.carriers[_fold(v["carrier"])]
        data = {f.attr: v[f.key] for f in columns.TENANCY_FIELDS
                if f.group == "tenancy" and f.key in v}
        existing = self.latest.get((enterprise.id, carrier_id))
        how = {"official_list": self.options.official_list, "user": self.user}
        try:
            if existing is None:  # the incubation service defaults the term and the status
                carrier = db.session.get(Carrier, carrier_id)
                write = writers.open_tenancy(enterprise, carrier, data, **how)
                tenancy = write.tenancy
                self.note(row, "tenancy", tenancy, "create", {},
                          audit.snapshot(tenancy, writers.TENANCY_FIELDS), enterprise.id)
            else:
                before = audit.snapshot(existing, writers.TENANCY_FIELDS)
                write = writers.update_tenancy(existing, data, **how)
                if write.changes:
                    self.note_update(row, "tenancy", existing, before, write.changes,
                                     enterprise.id)
        except FieldError as exc:
            self.service_errors(row, exc, "tenancy")
            raise _Reject from None
        if write.proposal is not None:  # noted so that undoing the import withdraws it
            self.note(row, "tenancy_proposal", write.proposal, "create", {},
                      audit.snapshot(write.proposal, writers.PROPOSAL_FIELDS), enterprise.id)
        if existing is None:
            return "created"
        return "updated" if write.changes or write.proposal is not None else "unchanged"


HANDLERS = {"enterprises": EnterpriseHandler, "qualifications": QualificationHandler,
            "tenancies": TenancyHandler}


def parse_row(number: int, cells: list[Any], plan: list[tuple[int, str, columns.Field]]) -> Row:
    """Parse the mapped cells of one row, collecting every cell error (not just the first)."""
    row = Row(number, {}, {})
    for index, header, spec in plan:
        raw = cells[index] if index < len(cells) else None
        row.cells[spec.key] = (header, raw)
        if n.is_blank(raw):
            continue
        try:
            value = spec.parse(raw)
        except n.CellError as exc:
            row.error(spec.key, exc.args[0] if exc.args else str(exc))
            continue
        limit = MAX_LENGTHS.get(spec.key)
        if limit and isinstance(value, str) and len(value) > limit:
            row.error(spec.key, Message("内容过长：最多 %(limit)s 个字", limit=limit))
            continue
        if value != "":
            row.values[spec.key] = value
    for spec in (s for _i, _h, s in plan if s.required):
        if spec.key not in row.values and not any(e["column"] == row.cells[spec.key][0]
                                                  for e in row.errors):
            row.error(spec.key, Message("缺少%(label)s", label=Message(spec.label)))
    return row


def plan_columns(kind: str, headers: list[str], mapping: dict[str, str]
                 ) -> list[tuple[int, str, columns.Field]]:
    """(column index, header, field) for each mapped column; unknown fields are ignored."""
    fields = columns.fields_for(kind)
    plan = []
    for index, header in enumerate(headers):
        key = mapping.get(header)
        if key in fields:
            plan.append((index, header, fields[key]))
    return plan


@dataclass(eq=False)
class _Audit:
    """Stamps audit events written during an import with who ran it and which job."""

    actor_id: int | None
    job_id: int | None

    def __call__(self, session, flush_context, instances) -> None:
        for obj in session.new:
            if isinstance(obj, AuditEvent):
                if obj.actor_id is None:
                    obj.actor_id = self.actor_id
                if self.job_id and not obj.summary:
                    obj.summary = f"导入任务 #{self.job_id}"


def _chunks(rows: Iterator[tuple[int, list[Any]]]) -> Iterator[list[tuple[int, list[Any]]]]:
    chunk: list[tuple[int, list[Any]]] = []
    for item in rows:
        chunk.append(item)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _apply_alone(session: Any, handler: _Handler, row: Row) -> None:
    """One row in its own SAVEPOINT: its errors undo its writes and nothing else."""
    try:
        with session.begin_nested():
            outcome = handler.apply(row)
            if row.errors:
                raise _Reject
    except _Reject:
        pass
    except (IntegrityError, DBAPIError) as exc:
        if is_transient(exc):  # not this row's fault: the run is retried
            raise
        row.error("uscc", Message("数据库拒绝保存该行：%(reason)s", reason=str(exc.orig)[:280]),
                  label="统一社会信用代码")
    else:
        row.outcome = outcome


def _write_chunk(session: Any, handler: _Handler, rows: list[Row]) -> None:
    """The staged rows in one SAVEPOINT; if the database refuses, row by row to find which."""
    try:
        with session.begin_nested():
            handler.write_staged(rows)
            session.flush()
    except (IntegrityError, DBAPIError) as exc:
        if is_transient(exc):
            raise
        for row in rows:  # a race (another import registered a code since preload), say
            row.staged, row.outcome, row.warnings, row.preview = None, None, [], []
        handler.preload(rows)
        for row in rows:
            _apply_alone(session, handler, row)


def run(path: str | Path, options: Options, *, user: Any = None, job_id: int | None = None,
        progress: Callable[[int, int | None], None] | None = None) -> Result:
    """Import one file; the caller commits (or not: a dry run leaves nothing to commit).

    Raises reader.FileUnreadable when the file itself cannot be read. Whoever started it,
    the stored sentences are in the catalogue's source language (with ids and parameters
    where the engine has them), so each reader sees them in their own (tracker/messages.py).
    """
    with force_locale("zh_CN"):
        return _run(path, options, user=user, job_id=job_id, progress=progress)


def _run(path: str | Path, options: Options, *, user: Any, job_id: int | None,
         progress: Callable[[int, int | None], None] | None) -> Result:
    actor = Actor.of(user)
    result = Result()
    session = db.session()
    stamp = _Audit(actor.id, job_id)
    with open_sheet(path, header_score(options.kind)) as sheet:
        plan = plan_columns(options.kind, sheet.headers, options.mapping)
        mapped = {spec.key for _i, _h, spec in plan}
        handler = HANDLERS[options.kind](options, actor, user, job_id)
        missing = [f.label for f in columns.KIND_FIELDS[options.kind]
                   if f.required and f.key not in mapped]
        if missing:
            raise FileUnreadable(Message("文件中找不到必需的列：%(columns)s"
                                         "（请检查表头或调整列对应关系）",
                                         columns=[Message(m) for m in missing]))
        seen: dict[Any, int] = {}
        done = 0
        event.listen(session, "before_flush", stamp)
        outer = session.begin_nested()
        try:
            for chunk in _chunks(sheet.rows):
                parsed = []
                for number, cells in chunk:
                    done += 1
                    if all(n.is_blank(c) for c in cells):
                        continue
                    row = parse_row(number, cells, plan)
                    result.rows += 1
                    handler.check(row)
                    key = handler.duplicate_key(row)
                    if key is not None and (key if not isinstance(key, tuple) else key[0]):
                        if key in seen:
                            row.error("uscc", Message("与第 %(first)s 行重复："
                                                      "同一企业在文件中出现两次",
                                                      first=seen[key]),
                                      label="统一社会信用代码")
                        else:
                            seen[key] = number
                    parsed.append(row)
                handler.preload([r for r in parsed if not r.errors])
                staged = [r for r in parsed if not r.errors and handler.stage(r)]
                for row in parsed:
                    if not row.errors and row.staged is None:
                        _apply_alone(session, handler, row)
                if staged:
                    _write_chunk(session, handler, staged)
                for row in parsed:
                    if row.outcome is not None and not row.errors:
                        result.valid += 1
                        setattr(result, row.outcome, getattr(result, row.outcome) + 1)
                        result.warnings.extend(row.warnings[:MAX_ERRORS - len(result.warnings)])
                        result.preview.extend(row.preview[:MAX_PREVIEW - len(result.preview)])
                    result.error_count += len(row.errors)
                    room = MAX_ERRORS - len(result.errors)
                    if room > 0:
                        result.errors.extend(row.errors[:room])
                session.flush()
                session.expunge_all()  # bounded memory: nothing from this chunk is needed again
                if progress is not None:
                    progress(done, sheet.total)
            held = bool(result.warnings) and not options.accept_warnings
            keep = (not options.dry_run and not held
                    and (options.keep_valid or result.error_count == 0))
            result.held_for_warnings = held and not options.dry_run
            if keep:
                outer.commit()
                result.written = True
            else:
                outer.rollback()
                if not options.dry_run:
                    result.created = result.updated = result.unchanged = 0
        except BaseException:
            if outer.is_active:
                outer.rollback()
            raise
        finally:
            event.remove(session, "before_flush", stamp)
    return result
