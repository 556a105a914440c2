"""Deep pages say where they sit (a breadcrumb trail back to their list and record), instead of
offering only a lone 取消."""

from __future__ import annotations

import re
from datetime import date

from tests.factories import make_carrier, make_enterprise, make_tenancy, make_user
from tracker.extensions import db
from tracker.ladder import services as ladder

TRAIL = re.compile(r'<ol class="breadcrumb[^"]*">(.*?)</ol>', re.S)


def _trail(client, url: str) -> list[str]:
    """The crumbs' texts (links and the current page) of the page at `url`."""
    response = client.get(url)
    assert response.status_code == 200, url
    match = TRAIL.search(response.get_data(as_text=True))
    assert match, f"{url} has no breadcrumbs"
    return [re.sub(r"<[^>]+>", "", item).strip()
            for item in re.findall(r"<li[^>]*>(.*?)</li>", match.group(1), re.S)]


def test_firm_deep_pages_lead_back_to_the_firm_and_the_list(login_as):
    firm = make_enterprise(name="天津面包屑科技有限公司")
    q = ladder.grant_qualification(firm, "hnte", "GR202412000009", date(2024, 11, 1))
    db.session.flush()
    client = login_as(make_user("bureau"))
    assert _trail(client, f"/enterprises/{firm.id}/metrics/new") == [
        "企业", "天津面包屑科技有限公司", "年度经营数据"]
    assert _trail(client, f"/ladder/qualifications/{q.id}/revoke") == [
        "企业", "天津面包屑科技有限公司", "撤销资质"]
    assert _trail(client, f"/enterprises/{firm.id}/history")[-1] == "修改历史"
    page = client.get(f"/enterprises/{firm.id}/metrics/new").get_data(as_text=True)
    assert f'href="/enterprises/{firm.id}"' in TRAIL.search(page).group(1)


def test_tenancy_pages_lead_back_through_the_carrier(login_as):
    carrier = make_carrier(name="面包屑孵化器")
    tenancy = make_tenancy(make_enterprise(name="天津在孵科技有限公司"), carrier)
    client = login_as(make_user("bureau"))
    assert _trail(client, f"/incubation/tenancies/{tenancy.id}") == [
        "孵化载体", "面包屑孵化器", "天津在孵科技有限公司"]
    assert _trail(client, f"/incubation/tenancies/{tenancy.id}/edit")[-1] == "入驻信息"
