"""The blank "new year" figures form must not overwrite a year already on file."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from tests.conftest import csrf_token, login
from tests.factories import make_enterprise, make_user
from tracker.enterprises import services
from tracker.enterprises.models import AnnualMetrics
from tracker.extensions import db


def test_new_year_form_refuses_a_year_on_file(client):
    firm = make_enterprise()
    services.save_metrics(firm, 2025, {"employees": 80, "revenue": Decimal(30_000_000)})
    login(client, make_user("bureau"))
    token = csrf_token(client, f"/enterprises/{firm.id}")
    response = client.post(f"/enterprises/{firm.id}/metrics/new", data={
        "csrf_token": token, "fiscal_year": "2025", "investment_raised": "600"})
    assert response.status_code == 400
    assert "2025 年度已有数据" in response.get_data(as_text=True)
    row = db.session.scalar(select(AnnualMetrics).where(AnnualMetrics.enterprise_id == firm.id))
    assert (row.employees, row.revenue, row.investment_raised) == (80, 30_000_000, None)

    response = client.post(f"/enterprises/{firm.id}/metrics/new", data={
        "csrf_token": token, "fiscal_year": "2024", "investment_raised": "600"})
    assert response.status_code == 302  # a year not on file is still added
