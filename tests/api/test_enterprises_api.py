"""The enterprise endpoints: scoped like the pages, written through the services with ETags."""

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from tests.api.support import bearer, error_of
from tests.conftest import login
from tests.factories import make_enterprise, make_user, valid_uscc
from tracker.enterprises import services
from tracker.extensions import db
from tracker.indicators.models import PlanIndicator, PlanPeriod, PlanTarget
from tracker.indicators.seed import seed_plan
from tracker.ladder.models import StageTransition


def test_requires_login(client):
    assert client.get("/api/v1/enterprises").status_code == 401
    assert client.get("/api/v1/enterprises").is_json


def test_list_and_detail_are_scoped(client):
    own = make_enterprise(zone="hitech", name="天津高新一号有限公司")
    other = make_enterprise(zone="teda", name="天津经开一号有限公司")
    services.save_metrics(own, 2025, {"revenue": Decimal("12345678.90"), "employees": 12})
    login(client, make_user("zone", zone="hitech"))
    body = client.get("/api/v1/enterprises?size=50").get_json()
    names = {item["name"] for item in body["items"]}
    assert own.name in names and other.name not in names
    assert body["count"] == len(body["items"])
    assert client.get(f"/api/v1/enterprises/{other.id}").status_code == 404
    detail = client.get(f"/api/v1/enterprises/{own.id}").get_json()
    assert detail["metrics"][0]["revenue"] == "12345678.90"
    assert detail["uscc"] == own.uscc


# -- tokens, writes, the other resources -------------------------------------------------------

def test_unknown_urls_and_methods_answer_in_the_error_shape(client):
    headers = bearer(make_user("bureau"))
    response = client.get("/api/v1/nothing-here", headers=headers)
    assert response.status_code == 404 and error_of(response)["code"] == "not_found"
    response = client.delete("/api/v1/enterprises", headers=headers)
    assert response.status_code == 405 and error_of(response)["code"] == "method_not_allowed"


def test_create_and_update_an_enterprise_with_etag(client):
    headers = bearer(make_user("zone", zone="hitech"))
    created = client.post("/api/v1/enterprises", headers=headers, json={
        "uscc": valid_uscc(), "name": "天津接口登记科技有限公司", "zone": "hitech",
        "founded_on": "2020-02-02", "tech_field": "electronic_information"})
    assert created.status_code == 201, created.get_json()
    url = created.headers["Location"]
    assert url.endswith(f"/api/v1/enterprises/{created.json['id']}")
    etag = client.get(url, headers=headers).headers["ETag"]
    assert etag == created.headers["ETag"] == '"1"'
    assert client.patch(url, headers=headers, json={"name": "新名"}).status_code == 428
    saved = client.patch(url, headers={**headers, "If-Match": etag},
                         json={"name": "天津接口改名科技有限公司"})
    assert saved.status_code == 200 and saved.json["name"] == "天津接口改名科技有限公司"
    stale = client.patch(url, headers={**headers, "If-Match": etag}, json={"name": "又一个名字"})
    assert stale.status_code == 412
    assert "If-Match" in error_of(stale)["fields"]
    weak = client.patch(url, headers={**headers, "If-Match": f"W/{saved.headers['ETag']}"},
                        json={"website": "https://example.test"})
    assert weak.status_code == 200


def test_zone_staff_cannot_register_or_move_a_firm_into_another_zone(client):
    headers = bearer(make_user("zone", zone="hitech"))
    response = client.post("/api/v1/enterprises", headers=headers, json={
        "uscc": valid_uscc(), "name": "天津别区科技有限公司", "zone": "teda"})
    assert response.status_code == 422 and "zone" in error_of(response)["fields"]
    other = make_enterprise(zone="teda")
    response = client.patch(f"/api/v1/enterprises/{other.id}",
                            headers={**headers, "If-Match": '"1"'}, json={"name": "x"})
    assert response.status_code == 404


def test_schema_validation_is_422_with_fields(client):
    headers = bearer(make_user("bureau"))
    response = client.post("/api/v1/enterprises", headers=headers,
                           json={"name": "", "zone": "mars", "extra": 1})
    error = error_of(response)
    assert response.status_code == 422
    assert {"uscc", "zone", "name", "extra"} <= set(error["fields"])


def test_contacts_metrics_qualifications_applications_history(client):
    firm = make_enterprise(zone="hitech")
    headers = bearer(make_user("zone", zone="hitech"))
    base = f"/api/v1/enterprises/{firm.id}"
    contact = client.post(f"{base}/contacts", headers=headers,
                          json={"name": "王经理", "email": "Wang@Example.test"})
    assert contact.status_code == 201 and contact.json["email"] == "wang@example.test"
    curl = f"{base}/contacts/{contact.json['id']}"
    assert client.patch(curl, headers=headers, json={"title": "总经理"}).status_code == 428
    ok = client.patch(curl, headers={**headers, "If-Match": contact.headers["ETag"]},
                      json={"title": "总经理"})
    assert ok.status_code == 200 and ok.json["title"] == "总经理" and ok.json["name"] == "王经理"
    assert client.patch(curl, headers={**headers, "If-Match": contact.headers["ETag"]},
                        json={"title": "董事"}).status_code == 412
    assert [c["title"] for c in client.get(f"{base}/contacts", headers=headers).json] == ["总经理"]

    put = client.put(f"{base}/metrics/2025", headers=headers,
                     json={"revenue": "12000000.50", "employees": 40})
    assert put.status_code == 200 and put.json["revenue"] == "12000000.50"
    assert client.put(f"{base}/metrics/2025", headers=headers,
                      json={"employees": 41}).status_code == 428
    again = client.put(f"{base}/metrics/2025", headers={**headers, "If-Match": put.headers["ETag"]},
                       json={"employees": 41})
    assert again.status_code == 200 and again.json["employees"] == 41
    assert [m["fiscal_year"] for m in client.get(f"{base}/metrics", headers=headers).json] == [2025]

    title = client.post(f"{base}/qualifications", headers=headers, json={
        "kind": "tech_sme", "number": "202612010001", "granted_on": "2026-05-01"})
    assert title.status_code == 201, title.json
    assert [q["kind"] for q in client.get(f"{base}/qualifications", headers=headers).json] == [
        "tech_sme"]
    history = client.get(f"{base}/stage-history", headers=headers).json
    assert any(step["to_stage"] == "tech_sme" for step in history)
    assert db.session.scalar(select(StageTransition.id).where(
        StageTransition.enterprise_id == firm.id)) is not None
    assert client.get(base, headers=headers).json["current_rung"] == "tech_sme"

    bid = client.post(f"{base}/applications", headers=headers,
                      json={"kind": "hnte", "year": date.today().year})
    assert bid.status_code == 201
    aurl = f"/api/v1/applications/{bid.json['id']}"
    assert client.get(aurl, headers=headers).headers["ETag"] == '"1"'
    moved = client.patch(aurl, headers={**headers, "If-Match": '"1"'}, json={"notes": "材料已备"})
    assert moved.status_code == 200 and moved.json["notes"] == "材料已备"
    assert client.patch(aurl, headers={**headers, "If-Match": '"1"'},
                        json={"notes": "x"}).status_code == 412
    assert len(client.get(f"{base}/applications", headers=headers).json) == 1
    step = client.post(f"{aurl}/moves", headers={**headers, "If-Match": moved.headers["ETag"]},
                       json={"to_status": "approved"})
    assert step.status_code == 422 and "status" in error_of(step)["fields"]  # not from planned
    for status in ("preparing", "submitted"):
        step = client.post(f"{aurl}/moves", headers={**headers, "If-Match": step.headers.get(
            "ETag", moved.headers["ETag"])}, json={"to_status": status})
        assert step.status_code == 200, step.json
    approved = client.post(f"{aurl}/moves", headers={**headers, "If-Match": step.headers["ETag"]},
                           json={"to_status": "approved", "number": "GR202612000001",
                                 "granted_on": "2026-11-20"})
    assert approved.status_code == 200 and approved.json["qualification_id"]
    assert client.get(base, headers=headers).json["current_rung"] == "hnte"


def test_other_zones_records_are_404_and_managers_do_not_edit_firms(client):
    firm = make_enterprise(zone="teda")
    zone = bearer(make_user("zone", zone="hitech"))
    for path in ("", "/contacts", "/metrics", "/qualifications", "/applications",
                 "/stage-history"):
        assert client.get(f"/api/v1/enterprises/{firm.id}{path}",
                          headers=zone).status_code == 404, path
    assert client.post(f"/api/v1/enterprises/{firm.id}/contacts", headers=zone,
                       json={"name": "x"}).status_code == 404
    viewer = bearer(make_user("viewer"))
    response = client.post(f"/api/v1/enterprises/{firm.id}/qualifications", headers=viewer,
                           json={"kind": "tech_sme", "granted_on": "2025-05-01"})
    assert response.status_code == 403


def test_reminders_and_dashboard_indicators(client):
    seed_plan(db.session.connection())
    own = make_enterprise(zone="hitech")
    make_enterprise(zone="teda")
    zone = bearer(make_user("zone", zone="hitech"))
    body = client.get("/api/v1/dashboard/indicators", headers=zone).json
    assert body["enterprises_by_zone"] == {"hitech": 1}
    assert body["plan"] == []  # area-wide targets are not shown to one zone
    bureau = client.get("/api/v1/dashboard/indicators", headers=bearer(make_user("bureau"))).json
    assert sum(bureau["enterprises_by_zone"].values()) == 2 and bureau["plan"]
    reminders = client.get(f"/api/v1/reminders?enterprise_id={own.id}", headers=zone)
    assert reminders.status_code == 200 and reminders.json["next"] is None


def test_the_apis_plan_lines_are_the_plan_periods_targets(client):
    """The API's plan figures come from the plan periods and indicators (issue 14), not the
    retired targets table: a target corrected on the indicator page is the API's target."""
    seed_plan(db.session.connection())
    target = db.session.scalar(select(PlanTarget).join(PlanPeriod).join(PlanIndicator).where(
        PlanPeriod.start_year == 2021, PlanIndicator.code == "hnte"))
    target.target = Decimal(5900)
    db.session.flush()
    headers = bearer(make_user("bureau"))
    body = client.get("/api/v1/dashboard/indicators?year=2025", headers=headers).json
    lines = {line["metric"]: line for line in body["plan"]}
    assert lines["hnte"]["target"] == 5900 and lines["hnte"]["baseline"] == 3270
    assert lines["hnte"]["year"] == 2025 and lines["hnte"]["current"] == 0
    assert "rd_intensity" in lines  # entered indicators too, with no figure yet
    assert lines["rd_intensity"]["current"] is None


def test_lists_paginate_by_cursor(client):
    for n in range(3):
        make_enterprise(zone="hitech", name=f"天津翻页{n}科技有限公司")
    headers = bearer(make_user("bureau"))
    first = client.get("/api/v1/enterprises?size=2", headers=headers).json
    assert len(first["items"]) == 2 and first["next"]
    second = client.get(f"/api/v1/enterprises?size=2&after={first['next']}", headers=headers).json
    assert {i["id"] for i in first["items"]}.isdisjoint({i["id"] for i in second["items"]})
    assert client.get("/api/v1/enterprises?size=0", headers=headers).status_code == 422


def test_ids_beyond_the_id_columns_are_404_not_a_database_error(client):
    """Found by schemathesis on PostgreSQL: an id past int4 reached the query and failed there."""
    headers = bearer(make_user("bureau"))
    for url in ("/api/v1/enterprises/29784389599090", "/api/v1/applications/2147483648",
                "/api/v1/incubation/tenancies/29784389599090"):
        response = client.get(url, headers=headers)
        assert response.status_code == 404, url
        assert error_of(response)["code"] == "not_found"
    response = client.put("/api/v1/enterprises/29784389599090/metrics/2025", headers=headers,
                          json={})
    assert response.status_code == 404


def test_an_api_write_has_the_forms_consequences(client):
    """Eligibility is recomputed after the commit (tracker.changes), as after a form's save."""
    from tracker.ladder.models import EligibilityResult

    firm = make_enterprise(zone="hitech")
    db.session.execute(EligibilityResult.__table__.delete().where(
        EligibilityResult.enterprise_id == firm.id))
    headers = bearer(make_user("bureau"))
    response = client.put(f"/api/v1/enterprises/{firm.id}/metrics/2025", headers=headers,
                          json={"revenue": "5000000", "employees": 30})
    assert response.status_code == 200
    kinds = set(db.session.scalars(select(EligibilityResult.kind).where(
        EligibilityResult.enterprise_id == firm.id)))
    assert "tech_sme" in kinds
