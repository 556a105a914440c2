"""Import row errors, warnings and summaries are stored as catalogue ids with parameters and
shown in the reader's language: job page, error download, CLI; old stored jobs still show."""

from __future__ import annotations

import html as html_lib
import io
import json
import re

import pytest
from openpyxl import load_workbook

from tests.conftest import login
from tests.english_scan import HAN, untranslated
from tests.factories import make_user, valid_uscc
from tests.imports.helpers import run_file
from tracker.extensions import db
from tracker.imports.models import ImportJob

HEADERS = ["企业名称", "统一社会信用代码", "成立日期", "所属区域", "技术领域", "联系人",
           "联系邮箱", "从业人数", "科技人员数", "营业收入（万元）", "总收入（万元）"]


def _rows() -> list[list]:
    good = valid_uscc(96001)
    return [
        HEADERS,
        # revenue above total income: a plausibility warning
        ["天津英文导入甲公司", good, "2020-01-02", "高新区", "新材料", None, None, 10, 2,
         "500", "100"],
        # unknown zone and a malformed e-mail: cell errors
        ["天津英文导入乙公司", valid_uscc(96002), "2020-01-02", "火星", "新材料", "王五",
         "not-an-email", 10, 2, "1", "1"],
        # more tech staff than employees: the figures' own rule
        ["天津英文导入丙公司", valid_uscc(96003), "2020-01-02", "高新区", "新材料", None, None,
         10, 50, "1", "1"],
        # a new firm without a name
        [None, valid_uscc(96004), "2020-01-02", "高新区", "新材料", None, None, 1, 0, "1", "1"],
        # the first firm again
        ["天津英文导入甲公司", good, "2020-01-02", "高新区", "新材料", None, None, 10, 2,
         "1", "1"],
        # an impossible date, an unknown technology field, a founding in the future
        ["天津英文导入丁公司", valid_uscc(96006), "2024-02-30", "高新区", "火箭", None, None,
         1, 0, "1", "1"],
        ["天津英文导入戊公司", valid_uscc(96007), "2999-01-01", "高新区", "新材料", None,
         None, 1, 0, "1", "1"],
        # a code of the wrong length
        ["天津英文导入己公司", "9112011600000361", "2020-01-02", "高新区", "新材料", None,
         None, 1, 0, "1", "1"],
    ]


def _data_values(rows: list[list]) -> list[str]:
    """What the file itself holds (headers and cells): data, not interface text."""
    values = {str(v).strip() for row in rows for v in row if v is not None}
    return sorted((v for v in values if HAN.search(v)), key=len, reverse=True)


def _texts(page: str) -> list[str]:
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return [html_lib.unescape(t) for t in re.split(r"<[^>]+>", body) if t.strip()]


def _job(write_xlsx, *, dry_run: bool = True, **kwargs) -> ImportJob:
    rows = _rows()
    job = run_file(write_xlsx(rows), "enterprises", dry_run=dry_run, year=2024, **kwargs)
    db.session.commit()
    assert len(job.errors) >= 7 and job.warnings, (job.errors, job.warnings)
    return job


def test_job_page_in_english_has_no_chinese_outside_the_file(client, write_xlsx):
    job = _job(write_xlsx, dry_run=False)  # rejected: the summary sentence is shown too
    assert job.status == "rejected" and job.message
    login(client, make_user("bureau", locale="en"))
    page = client.get(f"/imports/{job.id}").get_data(as_text=True)
    assert "Duplicate of row 2" in page and "all or nothing" in page
    left = untranslated(_texts(page), _data_values(_rows()))
    assert not left, "\n".join(left)


def test_same_job_in_chinese_shows_the_chinese_text(client, write_xlsx):
    job = _job(write_xlsx, dry_run=False)
    login(client, make_user("bureau"))
    page = client.get(f"/imports/{job.id}").get_data(as_text=True)
    assert "与第 2 行重复" in page
    assert "新登记的企业必须填写企业名称" in page
    assert "科技人员数（50）不能超过从业人数（10）" in page
    assert "营业收入（500 万元）高于总收入" in page or "营业收入（500.00 万元）高于总收入" in page
    assert "按“全部或全不”规则" in page


def test_error_download_in_english(client, write_xlsx):
    job = _job(write_xlsx)
    login(client, make_user("bureau", locale="en"))
    response = client.get(f"/imports/{job.id}/errors.xlsx")
    sheet = load_workbook(io.BytesIO(response.data)).active
    texts = [str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None]
    left = untranslated(texts, _data_values(_rows()))
    assert not left, "\n".join(left)


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_old_format_job_still_renders(client, write_xlsx, locale):
    job = _job(write_xlsx)
    job.errors = [{"row": 3, "column": "所属区域", "value": "火星", "message": "旧格式的错误说明"},
                  {"row": 4, "column": "从业人数", "value": "-1", "message": "不能为负数"},
                  {"row": 6, "column": "统一社会信用代码", "value": "x",
                   "message": "与第 2 行重复：同一企业在文件中出现两次"},
                  {"row": 7, "column": "所属区域", "value": "火星",
                   "message": "未知的区域；应为：经开区、保税区"}]
    job.warnings = [{"row": 2, "column": "营业收入", "value": "500", "message": "旧格式的警告"}]
    job.message = "旧格式的摘要"
    job.options = {k: v for k, v in job.options.items() if k != "message"}
    db.session.commit()
    login(client, make_user("bureau", locale=locale))
    page = client.get(f"/imports/{job.id}").get_data(as_text=True)
    assert "旧格式的错误说明" in page and "旧格式的警告" in page and "旧格式的摘要" in page
    sheet = load_workbook(io.BytesIO(client.get(f"/imports/{job.id}/errors.xlsx").data)).active
    assert sheet["D2"].value == "旧格式的错误说明"
    # an old sentence the catalogue knows word for word is still translated
    assert sheet["D3"].value == ("不能为负数" if locale == "zh_CN" else "Cannot be negative")
    # and one that fills in a known sentence is read through it, as the rule engine's are
    if locale == "en":
        assert sheet["D4"].value == "Duplicate of row 2: the same firm appears twice in the file."
        assert sheet["D5"].value == "Unknown zone; expected one of: TEDA, Bonded Zone"
    else:
        assert sheet["D4"].value == "与第 2 行重复：同一企业在文件中出现两次"
        assert sheet["D5"].value == "未知的区域；应为：经开区、保税区"


def test_stored_errors_keep_ids_and_parameters(write_xlsx):
    job = _job(write_xlsx)
    by_row = {e["row"]: e for e in job.errors}
    assert by_row[6]["msgid"] == "与第 %(first)s 行重复：同一企业在文件中出现两次"
    assert by_row[6]["params"] == {"first": 2}
    # the Chinese sentence stays for readers of the raw JSON (API, CLI --json)
    assert by_row[6]["message"] == "与第 2 行重复：同一企业在文件中出现两次"


def test_cli_human_output_follows_the_locale_and_json_keeps_codes(app, write_xlsx,
                                                                  monkeypatch):
    path = write_xlsx(_rows())
    runner = app.test_cli_runner()
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    result = runner.invoke(args=["import", "enterprises", str(path), "--dry-run",
                                 "--year", "2024"])
    lines = [line for line in result.output.splitlines() if line.strip()]
    left = untranslated(lines, _data_values(_rows()))
    assert not left, "\n".join(left)
    result = runner.invoke(args=["import", "enterprises", str(path), "--dry-run", "--json",
                                 "--year", "2024"])
    data = json.loads(result.output)
    assert any(e.get("msgid") == "与第 %(first)s 行重复：同一企业在文件中出现两次"
               for e in data["errors"])
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    result = runner.invoke(args=["import", "enterprises", str(path), "--dry-run",
                                 "--year", "2024"])
    assert "与第 2 行重复" in result.output
    assert result.exit_code == 0, result.output


def test_service_refusal_with_parameters_is_shown_in_english(client, write_xlsx):
    """A feature service's refusal (here the zone rule) keeps its id and parameters too."""
    zone_user = make_user("zone", locale="en")
    rows = [HEADERS, ["天津英文导入庚公司", valid_uscc(96011), "2020-01-02", "保税区", "新材料",
                      None, None, 1, 0, "1", "1"]]
    job = run_file(write_xlsx(rows), "enterprises", user=zone_user, dry_run=True, year=2024)
    db.session.commit()
    assert job.errors and job.errors[0].get("msgid"), job.errors
    login(client, zone_user)
    page = client.get(f"/imports/{job.id}").get_data(as_text=True)
    left = untranslated(_texts(page), _data_values(rows))
    assert not left, "\n".join(left)


def test_undo_refusals_and_changed_fields_read_in_english(client, write_xlsx):
    """The undo's reasons and the dry run's changed-field labels are stored as ids too."""
    from tests.conftest import csrf_from
    from tests.imports.test_undo import _firm, _reminder_for
    from tests.imports.test_undo import _rows as undo_rows

    reader = make_user("bureau", locale="en")
    rows = undo_rows(2)
    job = run_file(write_xlsx(rows), "enterprises", user=reader)
    _reminder_for(_firm(1))
    db.session.commit()
    login(client, reader)
    confirm = client.get(f"/imports/{job.id}/undo").get_data(as_text=True)
    page = client.post(f"/imports/{job.id}/undo", data={"csrf_token": csrf_from(confirm)},
                       follow_redirects=True).get_data(as_text=True)
    refused = page[page.index('id="undo-refused"'):]
    assert "cannot be deleted" in refused
    left = untranslated(_texts(refused), _data_values(rows))
    assert not left, "\n".join(left)
    # a second file changes the same firms' figures: the dry run lists "Revenue (2024)"
    changed = [rows[0], *[[*r[:-1], "9.5"] for r in rows[1:]]]
    preview = run_file(write_xlsx(changed, name="again.xlsx"), "enterprises", user=reader,
                       dry_run=True, year=2024)
    db.session.commit()
    page = client.get(f"/imports/{preview.id}").get_data(as_text=True)
    table = page[page.index('id="preview-changes"'):]
    table = table[:table.index("</table>")]
    left = untranslated(_texts(table), _data_values(changed))
    assert not left, "\n".join(left)


def test_a_later_message_from_the_job_machinery_wins_over_the_kept_summary(client, write_xlsx):
    """jobs.cancel and the reaper write `message` only: the page shows theirs, translated."""
    job = _job(write_xlsx, dry_run=False)
    assert "全部或全不" in job.message
    job.message = "任务运行超过 15 分钟仍未完成，已自动重新排队（第 2 次）"
    db.session.commit()
    login(client, make_user("bureau", locale="en"))
    page = client.get(f"/imports/{job.id}").get_data(as_text=True)
    shown = page[page.index('id="job-message"'):]
    shown = shown[:shown.index("</div>")]
    assert "all or nothing" not in shown
    left = untranslated(_texts(shown), [])
    assert not left, "\n".join(left)
