"""`flask import enterprises|qualifications|tenancies FILE`: the same engine as the web flow."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from tracker.extensions import db
from tracker.imports import columns, engine, jobs, services
from tracker.imports.models import ImportJob
from tracker.imports.reader import FileUnreadable
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
            raise FileUnreadable(f"找不到文件 {file}")
        if file.suffix.lower() not in (".xlsx", ".csv"):
            raise FileUnreadable("只能导入 .xlsx 或 .csv 文件")
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
        _fail(str(exc), as_json)
        return
    job = db.session.get(ImportJob, job.id)
    if job.status == "failed":
        _fail(job.message or "", as_json)
        return
    if as_json:
        # the counts keep their keys; written, warnings and changes are additions
        click.echo(json.dumps({**job.counts(), "written": job.status == "done",
                               "warnings": list(job.warnings or []),
                               "changes": list(job.preview or [])},
                              ensure_ascii=False, default=str))
        return
    click.echo(f"导入任务 #{job.id}（{'试运行，未写入' if dry_run else job.status}）")
    click.echo(f"共 {job.rows} 行：正确 {job.valid}，新建 {job.created}，更新 {job.updated}，"
               f"未变 {job.unchanged}，错误 {job.rejected}")
    if job.message:
        click.echo(job.message)
    for error in job.errors[:200]:
        click.echo(f"第 {error['row']} 行 [{error['column']}] {error['value']!r}："
                   f"{error['message']}")
    if len(job.errors) > 200:
        click.echo(f"……另有 {len(job.errors) - 200} 条错误，见网页中的错误清单下载")
    for warning in (job.warnings or [])[:200]:
        click.echo(f"警告 第 {warning['row']} 行 [{warning['column']}] {warning['value']!r}："
                   f"{warning['message']}")
    for change in (job.preview or [])[:200]:
        click.echo(f"第 {change['row']} 行 {change['label']}：{change['old']!r} → "
                   f"{change['new']!r}")


def _fail(message: str, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"error": message}, ensure_ascii=False))
    else:
        click.echo(f"无法读取文件：{message}", err=True)
    sys.exit(2)
