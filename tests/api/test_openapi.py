"""The OpenAPI 3.1 document, and schemathesis driving every operation from it as each role.

Checks: no server error, and every answer matches the document. Examples per operation and
role: API_FUZZ_EXAMPLES (default 3, kept small for the suite; CI or a developer may raise it,
like FUZZ_LEVEL in tests/test_fuzz_routes.py).
"""

from __future__ import annotations

import os
from datetime import date

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.api.support import bearer
from tests.factories import make_user
from tests.incubation.conftest import chain  # noqa: F401 - fixture
from tracker.incubation import services

EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "3"))
ROLES = ("admin", "bureau", "zone", "carrier_manager", "viewer")


def test_the_document_is_openapi_3_1_and_public(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"] == "3.1.0"
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    paths = doc["paths"]
    for path in ("/api/v1/enterprises", "/api/v1/incubation/tenancies/{tenancy_id}/proposals",
                 "/api/v1/incubation/tenant-reports", "/api/v1/eligibility/evaluate",
                 "/api/v1/dashboard/indicators", "/api/v1/reminders",
                 "/api/v1/enterprises/{enterprise_id}/stage-history"):
        assert path in paths, path
    # the request schemas are the ones that validate: what the document calls required is
    report = doc["components"]["schemas"]["TenantReportIn"]
    assert set(report["required"]) == {"cycle_id", "tenancy_id"}
    error = doc["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]


@pytest.fixture
def fuzz_world(chain):  # noqa: F811 - the fixture imported above
    """Records for the generated ids to meet: the incubation chain and a reporting cycle."""
    services.create_cycle({"name": "2025年度", "period_start": date(2025, 1, 1),
                           "period_end": date(2025, 12, 31), "due_on": date(2026, 1, 31)},
                          user=chain["bureau"])
    return chain


@pytest.mark.parametrize("role", ROLES)
def test_schemathesis_finds_no_server_error_and_no_answer_off_the_schema(app, fuzz_world, role):
    kwargs = {"carrier_id": fuzz_world["a"].id} if role == "carrier_manager" else {}
    headers = bearer(make_user(role, **kwargs))
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    for operation in operations:

        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case):
            case.call_and_validate(headers=headers, checks=[not_a_server_error,
                                                            response_schema_conformance])

        run()
