"""The engine from the shell, over HTTP and on the self-assessment page: same answers."""

from __future__ import annotations

import html
import json
import re

import pytest

from tests.conftest import csrf_from, login
from tests.factories import make_user
from tests.ladder.conftest import make_firm
from tracker.extensions import db
from tracker.ladder import services
from tracker.ladder.facts import build_facts
from tracker.ladder.results import compact, results_for

FACTS = {
    "as_of": "2026-06-30",
    "kinds": ["tech_sme", "chuying", "hnte", "dengling"],
    "enterprise": {"founded_on": "2019-04-01", "registered_in_tianjin": True,
                   "resident_enterprise": True, "restricted_industry": False,
                   "integrity_record_clean": True, "tech_field": "electronic_information",
                   "class1_ip": 1, "class2_ip": 3, "honours": ["provincial_rd_institution"],
                   "innovation_score": None},
    "years": {
        "2025": {"employees": 120, "tech_staff": 30, "revenue": 45000000,
                 "total_income": 46000000, "total_assets": 80000000, "total_cost": 40000000,
                 "rd_expense": 3000000, "rd_expense_domestic": 3000000,
                 "high_tech_income": 30000000},
        "2024": {"employees": 110, "tech_staff": 28, "revenue": 40000000,
                 "total_income": 41000000, "total_assets": 70000000, "total_cost": 36000000,
                 "rd_expense": 2500000, "rd_expense_domestic": 2500000,
                 "high_tech_income": 26000000},
    },
}
BAD = {"as_of": "2026-13-01", "enterprise": {"class1_ip": "three"},
       "years": {"2025": {"revenue": "45000000"}}}


def _cli(app, *args, input=None):
    return app.test_cli_runner().invoke(args=["eligibility", "evaluate", *args], input=input)


def _api(client, body, content_type="application/json"):
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post("/api/v1/eligibility/evaluate", data=data, content_type=content_type)


def test_cli_prints_the_result_and_exits_0(app, tmp_path):
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(FACTS), encoding="utf-8")
    result = _cli(app, str(path))
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["as_of"] == "2026-06-30"
    assert [r["kind"] for r in out["results"]] == ["tech_sme", "chuying", "dengling", "hnte"]
    # 2023 is missing from the three-year R&D window: not enough data for HNTE
    assert {r["kind"]: r["verdict"] for r in out["results"]}["hnte"] == "insufficient_data"


def test_cli_reads_stdin(app):
    result = _cli(app, "-", input=json.dumps(FACTS))
    assert result.exit_code == 0
    assert json.loads(result.stdout)["results"][0]["verdict"] == "eligible"


@pytest.mark.parametrize("payload", [json.dumps(BAD), "{not json", "[1, 2]"])
def test_cli_exits_2_with_json_errors_on_stderr(app, payload):
    result = _cli(app, "-", input=payload)
    assert result.exit_code == 2
    assert result.stdout == ""
    body = json.loads(result.stderr)
    assert body["error"] == "invalid_facts" and body["errors"]


def test_cli_field_errors_name_the_field(app):
    body = json.loads(_cli(app, "-", input=json.dumps(BAD)).stderr)
    fields = {e["field"] for e in body["errors"]}
    assert {"as_of", "enterprise.class1_ip", "years.2025.revenue"} <= fields


def test_api_requires_login(client):
    response = _api(client, FACTS)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_api_evaluates_and_refuses_malformed_facts(client):
    login(client, make_user("viewer"))
    ok = _api(client, FACTS)
    assert ok.status_code == 200
    assert ok.get_json()["results"][0]["kind"] == "tech_sme"
    bad = _api(client, BAD)
    assert bad.status_code == 422
    error = bad.get_json()["error"]
    assert error["code"] == "invalid_facts"
    assert {"as_of", "enterprise.class1_ip"} <= set(error["fields"])
    assert _api(client, "{oops").status_code == 422
    assert _api(client, FACTS, content_type="text/plain").status_code == 415


def test_api_and_cli_and_page_agree(app, client):
    """The self-assessment page shows the facts it evaluated; API and CLI give the same."""
    login(client, make_user("bureau"))
    page = client.get("/ladder/self-assessment")
    assert page.status_code == 200
    form = {
        "csrf_token": csrf_from(page.get_data(as_text=True)), "as_of": "2026-06-30",
        "founded_on": "2019-04-01", "registered_in_tianjin": "1", "resident_enterprise": "1",
        "restricted_industry": "0", "integrity_record_clean": "1",
        "tech_field": "electronic_information", "class1_ip": "1", "class2_ip": "3",
        "honours": ["provincial_rd_institution"],
        "y1-employees": "120", "y1-tech_staff": "30", "y1-revenue": "4500",
        "y1-total_income": "4600", "y1-total_assets": "8000", "y1-total_cost": "4000",
        "y1-rd_expense": "300", "y1-rd_expense_domestic": "300", "y1-high_tech_income": "3000",
        "y2-employees": "110", "y2-tech_staff": "28", "y2-revenue": "4000",
        "y2-total_income": "4100", "y2-total_assets": "7000", "y2-total_cost": "3600",
        "y2-rd_expense": "250", "y2-rd_expense_domestic": "250", "y2-high_tech_income": "2600",
    }
    response = client.post("/ladder/self-assessment", data=form)
    text = response.get_data(as_text=True)
    assert response.status_code == 200, text[:2000]
    shown = json.loads(html.unescape(re.search(r'<pre id="facts-json">(.*?)</pre>', text,
                                               re.S).group(1)))
    expected = {k: v for k, v in FACTS.items() if k != "kinds"}
    expected["enterprise"] = {k: v for k, v in FACTS["enterprise"].items() if v is not None}
    assert shown == expected
    page_verdicts = dict(re.findall(r'class="card mb-3 result" data-kind="(\w+)" '
                                    r'data-verdict="(\w+)"', text))
    api = _api(client, shown).get_json()
    cli = json.loads(_cli(app, "-", input=json.dumps(shown)).stdout)
    assert api == cli
    assert page_verdicts == {r["kind"]: r["verdict"] for r in api["results"]}
    assert len(page_verdicts) == 6
    # per-criterion statuses on the page are the engine's
    hnte = next(r for r in api["results"] if r["kind"] == "hnte")
    for criterion in hnte["criteria"]:
        assert f'data-code="{criterion["code"]}" data-status="{criterion["status"]}"' in text


def test_stored_results_equal_the_api_on_the_built_facts(client, day):
    firm = make_firm()
    db.session.commit()
    login(client, make_user("bureau"))
    api = _api(client, build_facts(firm, day)).get_json()
    stored = results_for(firm.id)
    assert [stored[r["kind"]].result for r in api["results"]] == [compact(r) for r in
                                                                   api["results"]]
    assert [stored[r["kind"]].verdict for r in api["results"]] == [r["verdict"] for r in
                                                                    api["results"]]


def test_local_thresholds_apply_to_cli_and_api_alike(app, client):
    services.save_local_thresholds("dengling", {"min_revenue": 50_000_000})
    db.session.commit()
    login(client, make_user("bureau"))
    facts = {**FACTS, "kinds": ["dengling"]}
    api = _api(client, facts).get_json()
    cli = json.loads(_cli(app, "-", input=json.dumps(facts)).stdout)
    assert api == cli
    assert api["results"][0]["verdict"] == "ineligible"


def test_self_assessment_shows_field_errors(client):
    login(client, make_user("viewer"))
    page = client.get("/ladder/self-assessment")
    response = client.post("/ladder/self-assessment", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "as_of": "2026-06-30",
        "y1-employees": "10", "y1-tech_staff": "20"})
    assert response.status_code == 422
    assert "科技人员数不能大于职工总数" in response.get_data(as_text=True)
