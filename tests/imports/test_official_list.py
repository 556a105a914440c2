"""Choosing "official list" on the web flow and the CLI; only then does a list close stays."""

from __future__ import annotations

import io
from datetime import date

from sqlalchemy import select

from tests.conftest import csrf_from, login
from tests.factories import make_carrier, make_enterprise, make_user, valid_uscc
from tracker.clock import frozen
from tracker.extensions import db
from tracker.imports.models import ImportJob
from tracker.incubation import services as incubation
from tracker.incubation.models import StatusProposal, Tenancy

HEADERS = ["统一社会信用代码", "载体名称", "入驻日期", "入驻状态", "毕业/退出日期", "毕业依据"]


def _stay(write_xlsx):
    carrier = make_carrier(name="官方名单孵化器")
    firm = make_enterprise(uscc=valid_uscc(94001), founded_on=date(2023, 1, 1))
    tenancy = incubation.open_tenancy(firm, carrier, date(2024, 1, 31))
    path = write_xlsx([HEADERS, [firm.uscc, carrier.name, "2024-01-31", "已退出", "2026-05-31",
                                 None]])
    db.session.commit()
    return tenancy.id, path


def test_official_list_ticked_on_the_mapping_page_closes_the_stay(client, write_xlsx):
    with frozen(date(2026, 12, 1)):
        tenancy_id, path = _stay(write_xlsx)
        login(client, make_user("bureau"))
        token = csrf_from(client.get("/imports/").get_data(as_text=True))
        response = client.post("/imports/upload", data={
            "csrf_token": token, "kind": "tenancies",
            "file": (io.BytesIO(path.read_bytes()), path.name)},
            content_type="multipart/form-data")
        job_id = int(response.headers["Location"].rstrip("/").split("/")[-2])
        page = client.get(f"/imports/{job_id}/mapping").get_data(as_text=True)
        assert "官方名单" in page and 'name="official_list"' in page
        response = client.post(f"/imports/{job_id}/mapping", data={
            "csrf_token": csrf_from(page), "year": "2025", "official_list": "y",
            **{f"map-{i}": key for i, key in enumerate(
                ["uscc", "carrier", "moved_in_on", "status", "ended_on", "graduation_basis"])}})
        assert response.status_code == 302
        job = db.session.get(ImportJob, job_id)
        assert job.options["official_list"] is True and job.updated == 1, job.errors
        page = client.get(f"/imports/{job_id}").get_data(as_text=True)
        client.post(f"/imports/{job_id}/run", data={"csrf_token": csrf_from(page)})
        assert db.session.get(Tenancy, tenancy_id).status == "exited"


def test_cli_without_the_flag_proposes_and_with_it_closes(app, write_xlsx):
    with frozen(date(2026, 12, 1)):
        tenancy_id, path = _stay(write_xlsx)
        runner = app.test_cli_runner()
        result = runner.invoke(args=["import", "tenancies", str(path), "--json"])
        assert result.exit_code == 0, result.output
        assert db.session.get(Tenancy, tenancy_id).status == "incubating"
        proposal = db.session.scalar(select(StatusProposal).where(
            StatusProposal.tenancy_id == tenancy_id))
        assert (proposal.action, proposal.status) == ("exit", "pending")
        incubation.withdraw(proposal, user=make_user("bureau"))
        db.session.commit()
        result = runner.invoke(args=["import", "tenancies", str(path), "--official-list"])
        assert result.exit_code == 0, result.output
        assert db.session.get(Tenancy, tenancy_id).status == "exited"

