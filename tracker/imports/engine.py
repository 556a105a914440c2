"""The import engine shared by the web flow, the Celery task and the CLI.

Rows are streamed, parsed, checked and written in chunks through the enterprise services and
the writers adapters. Everything happens inside one SAVEPOINT, so a dry run or a rejected
all-or-nothing import rolls back to exactly what was there before. Rows that register a new
firm and pass every check are written together per chunk (multi-row INSERTs in one SAVEPOINT);
any other row gets its own SAVEPOINT, as does every row of a chunk the database refuses, so a
bad row is still reported with its number and undoes nothing but itself.

Each kind's lookups and writes live in tracker/imports/handlers/; this module streams, parses
and decides what is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask_babel import force_locale
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from tracker.audit.models import AuditEvent
from tracker.celery_app import is_transient
from tracker.clock import today
from tracker.extensions import db
from tracker.heap import fewer_collections, long_lived_objects_frozen
from tracker.imports import columns
from tracker.imports import normalise as n
from tracker.imports.handlers.base import Actor, Handler, Options, Reject, Result, Row
from tracker.imports.handlers.enterprises import EnterpriseHandler
from tracker.imports.handlers.qualifications import QualificationHandler
from tracker.imports.handlers.tenancies import TenancyHandler
from tracker.imports.reader import FileUnreadable, open_sheet, read_ahead
from tracker.messages import Message
from tracker.names import preload as preload_name_tables

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




def default_year() -> int:
    """Metric columns without a year belong to the previous calendar year by default."""
    return today().year - 1


def header_score(kind: str) -> Callable[[list[Any]], int]:
    def score(cells: list[Any]) -> int:
        return sum(1 for c in cells if columns.detect_field(kind, c))

    return score



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


def _checked(chunks: Iterator[list[tuple[int, list[Any]]]],
             plan: list[tuple[int, str, columns.Field]], handler: Handler
             ) -> Iterator[tuple[int, list[Row]]]:
    """(rows read, the chunk's non-blank rows parsed, checked and prepared): what needs no
    database, done by the reader process (read_ahead) while the previous chunk is written."""
    for chunk in chunks:
        rows = []
        for number, cells in chunk:
            if not all(n.is_blank(c) for c in cells):
                row = parse_row(number, cells, plan)
                handler.check(row)
                if not row.errors:
                    handler.prepare(row)
                rows.append(row)
        yield len(chunk), rows


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


def _apply_alone(session: Any, handler: Handler, row: Row) -> None:
    """One row in its own SAVEPOINT: its errors undo its writes and nothing else."""
    try:
        with session.begin_nested():
            outcome = handler.apply(row)
            if row.errors:
                raise Reject
    except Reject:
        pass
    except (IntegrityError, DBAPIError) as exc:
        if is_transient(exc):  # not this row's fault: the run is retried
            raise
        row.error("uscc", Message("数据库拒绝保存该行：%(reason)s", reason=str(exc.orig)[:280]),
                  label="统一社会信用代码")
    else:
        row.outcome = outcome


def _write_chunk(session: Any, handler: Handler, rows: list[Row]) -> None:
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
    # an enterprise list spells names: the tables (tracker.names) loaded first, then left
    # with the app out of the collector's full passes (a 50,000-row file triggers dozens), and
    # its young passes spaced out (thousands of them cost a fifth of the import's CPU)
    if options.kind == "enterprises":
        preload_name_tables()
    with force_locale("zh_CN"), long_lived_objects_frozen(), fewer_collections():
        return _run(path, options, user=user, job_id=job_id, progress=progress)


def _plan_every_chunk(session: Any) -> None:
    """PostgreSQL plans each statement of this transaction for the tables as they are.

    psycopg prepares a statement run five times, and PostgreSQL may then keep one generic plan
    made for the table sizes of that moment. An import grows its tables inside one transaction
    (no statistics see its rows): the first chunks' plan (a sequential scan of a few hundred
    firms) compared each later chunk's 500 codes with every row, 0.7 s a chunk at 50,000.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


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
        _plan_every_chunk(session)
        outer = session.begin_nested()
        try:
            with read_ahead(_checked(_chunks(sheet.rows), plan, handler)) as chunks:
                for read, parsed in chunks:
                    done += read
                    for row in parsed:
                        result.rows += 1
                        key = handler.duplicate_key(row)
                        if key is not None and (key if not isinstance(key, tuple) else key[0]):
                            if key in seen:
                                row.error("uscc", Message("与第 %(first)s 行重复："
                                                          "同一企业在文件中出现两次",
                                                          first=seen[key]),
                                          label="统一社会信用代码")
                            else:
                                seen[key] = row.number
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
