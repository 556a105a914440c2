"""The enterprise JSON endpoints answer only within the user's scope."""

from decimal import Decimal

from tests.conftest import login
from tests.factories import make_enterprise, make_user
from tracker.enterprises import services


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
