"""Import data quality: old and new values in the dry run, plausibility warnings to accept."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.conftest import csrf_from, login
from tests.factories import make_enterprise, make_user, valid_uscc
from tests.imports.helpers import run_file
from tracker.enterprises import services as enterprise_services
from tracker.enterprises.models import AnnualMetrics, Enterprise
from tracker.extensions import db
from tracker.imports import plausibility
from tracker.imports.models import ImportJob

HEADERS = ["统一社会信用代码", "企业名称", "从业人数", "营业收入（万元）", "总收入（万元）"]
W = Decimal(10000)


@pytest.mark.parametrize(("values", "previous", "fields"), [
    ({"revenue": 100 * W}, {"revenue": 20 * W}, []),           # exactly 5×: ordinary enough
    ({"revenue": 100 * W + 1}, {"revenue": 20 * W}, ["revenue"]),
    ({"revenue": 4 * W}, {"revenue": 20 * W + 1}, ["revenue"]),  # fell below a fifth
    ({"revenue": 4 * W}, {"revenue": 20 * W}, []),
    ({"employees": 60}, {"employees": 10}, ["employees"]),
    ({"employees": 60}, {"employees": 0}, []),                  # no ratio to judge
    ({"employees": 60}, None, []),                              # no previous year
    ({"class1_ip": 60}, {"class1_ip": 1}, []),                  # IP counts are not compared
    ({"revenue": 10 * W, "total_income": 9 * W}, None, ["revenue"]),
    ({"revenue": 9 * W, "total_income": 9 * W}, None, []),
])
def test_plausibility_rules(values, previous, fields):
    found = plausibility.check_year(values, values, previous=previous, previous_year=2023)
    assert [f.field for f in found] == fields


def test_only_supplied_figures_are_flagged():
    found = plausibility.check_year({"revenue": 100 * W, "employees": 99},
                                    ["employees"], previous={"revenue": W, "employees": 90})
    assert found == []


def _firm_with_history():
    firm = make_enterprise(uscc=valid_uscc(97001), name="旧名称")
    enterprise_services.save_metrics(firm, 2023, {"employees": 10, "revenue": 100 * W,
                                                  "total_income": 120 * W})
    enterprise_services.save_metrics(firm, 2024, {"employees": 10})
    return firm


def test_dry_run_shows_old_and_new_value_of_each_changed_field(write_xlsx):
    firm = _firm_with_history()
    path = write_xlsx([HEADERS, [firm.uscc, "新名称", 12, None, None]])
    job = run_file(path, "enterprises", user=make_user("bureau"), dry_run=True, year=2024)
    assert job.status == "previewed" and job.updated == 1
    changes = {(c["entity"], c["field"]): (c["old"], c["new"]) for c in job.preview}
    assert changes == {("enterprise", "name"): ("旧名称", "新名称"),
                       ("metrics", "employees"): (10, 12)}
    assert {c["row"] for c in job.preview} == {2}
    assert db.session.get(Enterprise, firm.id).name == "旧名称"  # nothing written


def test_implausible_figures_wait_for_acceptance(write_xlsx):
    firm = _firm_with_history()
    bureau = make_user("bureau")
    path = write_xlsx([HEADERS, [firm.uscc, None, None, 1000, 900]])
    preview = run_file(path, "enterprises", user=bureau, dry_run=True, year=2024)
    assert {(w["row"], w["column"], w["value"]) for w in preview.warnings} == {
        (2, "营业收入（万元）", "1000"), (2, "总收入（万元）", "900")}
    messages = " ".join(w["message"] for w in preview.warnings)
    assert "高于总收入" in messages and "上一年度（2023）" in messages

    refused = run_file(path, "enterprises", user=bureau, year=2024)
    assert refused.status == "rejected" and "警告" in refused.message
    assert _revenue(firm, 2024) is None

    accepted = run_file(path, "enterprises", user=bureau, year=2024, accept_warnings=True)
    assert accepted.status == "done"
    assert _revenue(firm, 2024) == 1000 * W


def _revenue(firm, year):
    return db.session.scalar(select(AnnualMetrics.revenue).where(
        AnnualMetrics.enterprise_id == firm.id, AnnualMetrics.fiscal_year == year))


def test_job_page_lists_changes_and_warnings_and_asks_to_accept(client, write_xlsx):
    firm = _firm_with_history()
    bureau = make_user("bureau")
    login(client, bureau)
    path = write_xlsx([HEADERS, [firm.uscc, "新名称", None, 1000, None]])
    job = run_file(path, "enterprises", user=bureau, dry_run=True, year=2024)
    db.session.commit()
    html = client.get(f"/imports/{job.id}").get_data(as_text=True)
    changes = html[html.index('id="preview-changes"'):]
    assert "旧名称" in changes and "新名称" in changes
    warnings = html[html.index('id="import-warnings"'):]
    assert "营业收入（万元）" in warnings and "1000" in warnings
    assert 'name="accept_warnings"' in html
    token = csrf_from(html)
    client.post(f"/imports/{job.id}/run", data={"csrf_token": token})
    db.session.expire_all()
    assert db.session.get(ImportJob, job.id).status == "rejected"
    assert _revenue(firm, 2024) is None
    client.post(f"/imports/{job.id}/run", data={"csrf_token": token, "accept_warnings": "y"})
    db.session.expire_all()
    assert db.session.get(ImportJob, job.id).status == "done"
    assert _revenue(firm, 2024) == 1000 * W


def test_cli_adds_changes_and_warnings_and_needs_the_accept_flag(app, write_xlsx):
    firm = _firm_with_history()
    path = write_xlsx([HEADERS, [firm.uscc, "新名称", None, 1000, None]])
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import", "enterprises", str(path), "--dry-run", "--json",
                                 "--year", "2024"])
    data = json.loads(result.output)
    assert {"rows", "valid", "created", "updated", "unchanged", "errors"} <= set(data)
    # the contract's keys, plus the label as a catalogue id for readers in other languages
    assert {"row": 2, "entity": "enterprise", "field": "name", "label": "名称",
            "label_message": {"msgid": "名称", "params": {}},
            "old": "旧名称", "new": "新名称"} in data["changes"]
    assert [(w["row"], w["column"], w["value"]) for w in data["warnings"]] == [
        (2, "营业收入（万元）", "1000")]
    refused = runner.invoke(args=["import", "enterprises", str(path), "--json",
                                  "--year", "2024"])
    assert json.loads(refused.output)["written"] is False
    assert refused.exit_code == 0  # like a file refused for its errors: the JSON says why
    assert _revenue(firm, 2024) is None
    accepted = runner.invoke(args=["import", "enterprises", str(path), "--json",
                                   "--year", "2024", "--accept-warnings"])
    assert accepted.exit_code == 0, accepted.output
    assert json.loads(accepted.output)["written"] is True
    assert _revenue(firm, 2024) == 1000 * W


def test_dry_run_shows_a_new_year_of_a_firm_on_file_as_new_values(write_xlsx):
    firm = _firm_with_history()
    path = write_xlsx([HEADERS, [firm.uscc, None, 11, None, None]])
    job = run_file(path, "enterprises", user=make_user("bureau"), dry_run=True, year=2025)
    assert job.updated == 1
    assert [(c["entity"], c["label"], c["old"], c["new"]) for c in job.preview] == [
        ("metrics", "2025 年度从业人数", None, 11)]
