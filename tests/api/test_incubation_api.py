"""The carrier's path through the API: tenants, tenant reports, proposals, tenancy updates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests.api.support import bearer, error_of
from tests.conftest import count_queries
from tests.factories import make_user
from tests.incubation.conftest import chain  # noqa: F401 - fixture
from tracker.enterprises.models import AnnualMetrics
from tracker.extensions import db
from tracker.incubation import services
from tracker.incubation.models import StatusProposal, TenantReport

API = "/api/v1/incubation"


@pytest.fixture
def world(chain):  # noqa: F811 - the fixture imported above
    """The incubation chain plus a 2025 reporting cycle and tokens for its people."""
    cycle = services.create_cycle({"name": "2025年度", "period_start": date(2025, 1, 1),
                                   "period_end": date(2025, 12, 31),
                                   "due_on": date(2026, 1, 31)}, user=chain["bureau"])
    return {**chain, "cycle": cycle,
            "t_manager_a": bearer(chain["manager_a"], name="甲孵化器系统"),
            "t_zone_teda": bearer(make_user("zone", zone="teda"))}


def test_done_means_journey(client, world):
    """A carrier's system, given a token, lists its tenants, submits a tenant report and proposes
    a graduation through the API alone; a zone token cannot read another zone's firm (404)."""
    w, headers = world, world["t_manager_a"]
    listed = client.get(f"{API}/tenancies?status=incubating", headers=headers)
    assert listed.status_code == 200
    items = listed.get_json()["items"]
    assert [t["id"] for t in items] == [w["ten_a"].id]  # its own carrier's current tenant only
    tenancy_id = items[0]["id"]

    report = client.post(f"{API}/tenant-reports", headers=headers, json={
        "cycle_id": w["cycle"].id, "tenancy_id": tenancy_id, "revenue": "3200000.00",
        "employees": 18, "investment_raised": "6200000"})
    assert report.status_code == 201, report.get_json()
    assert report.get_json()["investment_raised"] == "6200000.00"
    assert report.headers["ETag"] == '"1"'
    figures = db.session.scalar(select(AnnualMetrics).where(
        AnnualMetrics.enterprise_id == w["firm_a"].id, AnnualMetrics.fiscal_year == 2025))
    assert figures.investment_raised == Decimal("6200000.00")  # fed into the yearly figures

    proposal = client.post(f"{API}/tenancies/{tenancy_id}/proposals", headers=headers, json={
        "action": "graduate", "effective_on": "2026-06-30", "graduation_basis": "investment",
        "evidence": "投资协议"})
    assert proposal.status_code == 201, proposal.get_json()
    body = proposal.get_json()
    assert body["status"] == "pending" and body["graduation_basis"] == "investment"
    assert db.session.get(StatusProposal, body["id"]).proposed_by_id == w["manager_a"].id

    # the bureau approves on its page; the carrier's system sees the tenancy graduate
    services.approve(db.session.get(StatusProposal, body["id"]), user=w["bureau"])
    db.session.flush()
    assert client.get(f"{API}/tenancies/{tenancy_id}",
                      headers=headers).get_json()["status"] == "graduated"
    decided = client.get(proposal.headers["Location"], headers=headers)
    assert decided.status_code == 200 and decided.get_json()["status"] == "approved"

    # a zone token: another zone's firm and tenancy do not exist for it
    teda = w["t_zone_teda"]
    assert client.get(f"/api/v1/enterprises/{w['firm_a'].id}", headers=teda).status_code == 404
    assert client.get(f"{API}/tenancies/{tenancy_id}", headers=teda).status_code == 404
    assert client.get(f"/api/v1/enterprises/{w['firm_b'].id}", headers=teda).status_code == 200


def test_a_manager_token_sees_only_its_carrier(client, world):
    w, headers = world, world["t_manager_a"]
    assert client.get(f"{API}/carriers", headers=headers).get_json()["items"][0]["id"] == w["a"].id
    for url in (f"{API}/carriers/{w['b'].id}", f"{API}/tenancies/{w['ten_b'].id}",
                f"/api/v1/enterprises/{w['firm_b'].id}",
                f"{API}/tenancies/{w['ten_b'].id}/proposals"):
        response = client.get(url, headers=headers)
        assert response.status_code == 404, url
        assert error_of(response)["code"] == "not_found"
    ids = [t["id"] for t in client.get(f"{API}/tenancies", headers=headers).json["items"]]
    assert ids == [w["ten_a"].id]
    response = client.post(f"{API}/tenancies/{w['ten_b'].id}/proposals", headers=headers,
                           json={"action": "exit", "effective_on": "2026-06-30",
                                 "reason": "迁出"})
    assert response.status_code == 404


def test_tenancy_update_needs_the_current_etag(client, world):
    w, headers = world, world["t_manager_a"]
    url = f"{API}/tenancies/{w['ten_a'].id}"
    etag = client.get(url, headers=headers).headers["ETag"]
    missing = client.patch(url, headers=headers, json={"area_m2": "150"})
    assert missing.status_code == 428 and error_of(missing)["code"] == "precondition_required"
    saved = client.patch(url, headers={**headers, "If-Match": etag}, json={"area_m2": "150"})
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["area_m2"] == "150.0"
    assert saved.headers["ETag"] != etag
    stale = client.patch(url, headers={**headers, "If-Match": etag}, json={"area_m2": "160"})
    assert stale.status_code == 412 and error_of(stale)["code"] == "precondition_failed"
    assert w["ten_a"].area_m2 == Decimal("150.0")
    bad = client.patch(url, headers={**headers, "If-Match": saved.headers["ETag"]},
                       json={"moved_in_on": "2030-01-01", "term_ends_on": "2029-01-01"})
    assert bad.status_code == 422 and error_of(bad)["fields"]


def test_a_viewer_token_cannot_write_and_an_ended_tenancy_is_read_only(client, world):
    w = world
    viewer = bearer(make_user("viewer"))
    url = f"{API}/tenancies/{w['ten_a'].id}"
    response = client.patch(url, headers={**viewer, "If-Match": '"1"'}, json={"area_m2": "1"})
    assert response.status_code == 403
    services.close_tenancy(w["ten_a"], "exit", date(2025, 6, 30), reason="迁出")
    db.session.flush()
    manager = w["t_manager_a"]
    version = client.get(url, headers=manager).headers["ETag"]
    response = client.patch(url, headers={**manager, "If-Match": version}, json={"area_m2": "1"})
    assert response.status_code == 403 and error_of(response)["code"] == "forbidden"


def test_a_resubmitted_report_needs_if_match(client, world):
    w, headers = world, world["t_manager_a"]
    body = {"cycle_id": w["cycle"].id, "tenancy_id": w["ten_a"].id, "employees": 10}
    first = client.post(f"{API}/tenant-reports", headers=headers, json=body)
    assert first.status_code == 201
    again = client.post(f"{API}/tenant-reports", headers=headers, json={**body, "employees": 12})
    assert again.status_code == 428
    ok = client.post(f"{API}/tenant-reports",
                     headers={**headers, "If-Match": first.headers["ETag"]},
                     json={**body, "employees": 12})
    assert ok.status_code == 200 and ok.get_json()["employees"] == 12
    stale = client.post(f"{API}/tenant-reports",
                        headers={**headers, "If-Match": first.headers["ETag"]},
                        json={**body, "employees": 13})
    assert stale.status_code == 412
    listed = client.get(f"{API}/tenant-reports?cycle_id={w['cycle'].id}", headers=headers)
    assert [r["employees"] for r in listed.get_json()["items"]] == [12]


def test_report_validation_is_422_with_fields(client, world):
    w, headers = world, world["t_manager_a"]
    response = client.post(f"{API}/tenant-reports", headers=headers, json={
        "cycle_id": w["cycle"].id, "tenancy_id": w["ten_a"].id, "employees": -1,
        "revenue": "abc"})
    error = error_of(response)
    assert response.status_code == 422 and {"employees", "revenue"} <= set(error["fields"])
    empty = client.post(f"{API}/tenant-reports", headers=headers, json={
        "cycle_id": w["cycle"].id, "tenancy_id": w["ten_a"].id})
    assert empty.status_code == 422 and "revenue" in error_of(empty)["fields"]


def test_a_retried_proposal_is_one_record(client, world):
    w = world
    headers = {**w["t_manager_a"], "Idempotency-Key": "exit-2026-0001"}
    body = {"action": "exit", "effective_on": "2026-06-30", "reason": "迁出本市"}
    url = f"{API}/tenancies/{w['ten_a'].id}/proposals"
    first = client.post(url, headers=headers, json=body)
    second = client.post(url, headers=headers, json=body)
    assert first.status_code == second.status_code == 201
    assert first.get_json() == second.get_json()
    assert second.headers["Idempotent-Replayed"] == "true"
    count = db.session.scalar(select(func.count(StatusProposal.id)).where(
        StatusProposal.tenancy_id == w["ten_a"].id))
    assert count == 1
    other = client.post(url, headers=headers, json={**body, "reason": "别的"})
    assert other.status_code == 422 and error_of(other)["code"] == "idempotency_key_reused"
    # without the key the service itself refuses a second pending proposal
    assert client.post(url, headers=w["t_manager_a"], json=body).status_code == 422


def test_idempotency_keys_are_per_token(client, world):
    """Another token's identical key is another request, never another token's answer."""
    w = world
    body = {"cycle_id": w["cycle"].id, "tenancy_id": w["ten_a"].id, "employees": 5}
    key = {"Idempotency-Key": "same-key"}
    first = client.post(f"{API}/tenant-reports", headers={**w["t_manager_a"], **key}, json=body)
    assert first.status_code == 201
    other = bearer(w["manager_a"])
    second = client.post(f"{API}/tenant-reports", headers={**other, **key}, json=body)
    assert second.status_code == 428  # a report exists now: a fresh write, not a replay
    assert db.session.scalar(select(func.count(TenantReport.id))) == 1


@pytest.mark.parametrize("url", [f"{API}/tenancies", f"{API}/carriers", "/api/v1/enterprises",
                                 "/api/v1/reminders", f"{API}/tenant-reports"])
def test_list_queries_do_not_grow_with_the_page(client, world, url):
    headers = bearer(world["bureau"])
    client.get(url, headers=headers)  # the token's last-used write happens once, here
    with count_queries() as small:
        assert client.get(f"{url}?size=1", headers=headers).status_code == 200
    with count_queries() as large:
        assert client.get(f"{url}?size=50", headers=headers).status_code == 200
    assert len(large) == len(small), large
