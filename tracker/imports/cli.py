"""`flask import enterprises|qualifications|tenancies FILE`: the same engine as the web flow."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
from flask_babel import force_locale
from flask_babel import gettext as _

from tracker.extensions import db
from tracker.imports import columns, engine, jobs, services
from tracker.imports.models import JOB_STATUSES, ImportJob
from tracker.imports.reader import FileUnreadable
from tracker.messages import Message, render, render_problem
from tracker.messages import stored as stored_message
from tracker.vocabulary import KINDS


@click.command("import")
@click.argument("kind", type=click.Choice(list(columns.KIND_FIELDS)))
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@click.option("--keep-valid", is_flag=True, help="Import the valid rows even if others fail.")
@click.option("--accept-warnings", is_flag=True,
              help="Write even when figures are flagged as implausible (listed in the output).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the counts.")
@click.option("--year", type=int, default=None,
              help="Fiscal year for metric columns (default: last calendar year).")
@click.option("--qualification-kind", type=click.Choice(list(KINDS)), default=None,
              help="Qualification kind of every row when the list has no kind column.")
@click.option("--official-list", is_flag=True,
              help="Tenancies: the list is the bureau's official one, so its graduations and "
                   "exits take effect (default: they become proposals to approve).")
def import_command(kind, file, dry_run, keep_valid, accept_warnings, as_json, year,
                   qualification_kind, official_list):
    """Import an .xlsx or .csv list (exit 2 when the file itself cannot be read)."""
    try:
        if not file.exists():
            raise FileUnreadable(Message("找不到文件 %(file)s", file=str(file)))
        if file.suffix.lower() not in (".xlsx", ".csv"):
            raise FileUnreadable(Message("只能导入 .xlsx 或 .csv 文件"))
        with file.open("rb") as stream:
            stored = services.store_upload(stream, file.name)
        job = services.create_job(kind, stored, file.name, user_id=None)
        job.options = {**job.options, "year": year or engine.default_year(),
                       "keep_valid": keep_valid, "qualification_kind": qualification_kind,
                       "official_list": official_list,
                       "accept_warnings": accept_warnings}
        db.session.commit()
        job = jobs.start(job, dry_run=dry_run, wait=True)  # a shell waits for the counts
        db.session.commit()
    except FileUnreadable as exc:
        db.session.rollback()
        with force_locale(process_locale()):
            _fail(str(exc) if as_json else render(stored_message(exc.args[0])), as_json)
        return
    job = db.session.get(ImportJob, job.id)
    if job.status == "failed":
        with force_locale(process_locale()):
            _fail((job.message or "") if as_json else (services.job_message(job) or ""), as_json)
        return
    if as_json:
        # the counts keep their keys; written, warnings and changes are additions; each error
        # and warning keeps its Chinese "message" and adds "msgid" and "params" (stable codes)
        click.echo(json.dumps({**job.counts(), "written": job.status == "done",
                               "warnings": list(job.warnings or []),
                               "changes": list(job.preview or [])},
                              ensure_ascii=False, default=str))
        return
    with force_locale(process_locale()):
        _print_summary(job, dry_run)


def process_locale() -> str:
    """The shell's language (LC_ALL, LC_MESSAGES, LANG): English if it says so, else Chinese."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name)
        if value:
            return "en" if value.lower().startswith("en") else "zh_CN"
    return "zh_CN"


def _print_summary(job: ImportJob, dry_run: bool) -> None:
    """The job in words, in the current locale."""
    status = _("试运行，未写入") if dry_run else _(JOB_STATUSES.get(job.status, job.status))
    click.echo(_("导入任务 #%(id)s（%(status)s）", id=job.id, status=status))
    click.echo(_("共 %(rows)s 行：正确 %(valid)s，新建 %(created)s，更新 %(updated)s，"
                 "未变 %(unchanged)s，错误 %(rejected)s", rows=job.rows, valid=job.valid,
                 created=job.created, updated=job.updated, unchanged=job.unchanged,
                 rejected=job.rejected))
    if message := services.job_message(job):
        click.echo(message)
    for error in map(render_problem, job.errors[:200]):
        click.echo(_("第 %(row)s 行 [%(column)s] %(value)s：%(message)s", row=error["row"],
                     column=error["column"], value=repr(error["value"]),
                     message=error["message"]))
    if len(job.errors) > 200:
        click.echo(_("……另有 %(n)s 条错误，见网页中的错误清单下载", n=len(job.errors) - 200))
    for warning in map(render_problem, (job.warnings or [])[:200]):
        click.echo(_("警告 第 %(row)s 行 [%(column)s] %(value)s：%(message)s",
                     row=warning["row"], column=warning["column"],
                     value=repr(warning["value"]), message=warning["message"]))
    for change in (job.preview or [])[:200]:
        click.echo(_("第 %(row)s 行 %(label)s：%(old)s → %(new)s", row=change["row"],
                     label=render(change.get("label_message") or change["label"]),
                     old=repr(change["old"]),
                     new=repr(change["new"])))


def _fail(message: str, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"error": message}, ensure_ascii=False))
    else:
        click.echo(_("无法读取文件：%(message)s", message=message), err=True)
    sys.exit(2)
