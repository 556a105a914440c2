"""The "Done means" flows of issues 3–6 in a real Chromium against a live demo server.

One server for the module and the session's Chromium (tests/browser_fixtures.py); each test
uses fresh browser contexts (one per user), so cookies never leak from one role into another.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select

from tests.browser_support import serve_demo_in
from tracker.clock import today
from tracker.demo import demo_uscc
from tracker.enterprises.models import AnnualMetrics, Enterprise
from tracker.extensions import db
from tracker.incubation.models import Carrier, StatusProposal, Tenancy
from tracker.ladder.models import Application, EligibilityResult

pytestmark = [pytest.mark.browser, pytest.mark.live]


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """Demo data on a live server; uploads and mail go to the test's own folders."""
    with serve_demo_in(tmp_path_factory, "flows") as served:
        yield served


@pytest.fixture
def as_user(signed_in):
    """A signed-in page (shared factory) that accepts downloads, as the export flows need."""
    return lambda base, email: signed_in(base, email, accept_downloads=True)


def _flash(page) -> str:
    return " ".join(page.locator(".alert").all_inner_texts())


# --------------------------------------------------------------------------------------------
# Issue 3: ladder
# --------------------------------------------------------------------------------------------


def test_ladder_candidate_to_approved_hnte(live_server, as_user):
    app, base = live_server
    with app.app_context():
        applied = select(Application.enterprise_id)
        # one that also misses some rung, so its gap report has unmet lines to show
        missing = select(EligibilityResult.enterprise_id).where(
            EligibilityResult.verdict == "ineligible")
        firm_id = db.session.scalar(
            select(EligibilityResult.enterprise_id)
            .where(EligibilityResult.kind == "hnte", EligibilityResult.candidate.is_(True),
                   EligibilityResult.enterprise_id.not_in(applied),
                   EligibilityResult.enterprise_id.in_(missing))
            .order_by(EligibilityResult.enterprise_id))
        assert firm_id is not None, "the demo should have an HNTE candidate without application"
        firm = db.session.get(Enterprise, firm_id)
        name, old_rung = firm.name, firm.current_rung
    assert old_rung != "hnte"
    number = f"GR{today().year}12000{firm_id:04d}"

    page = as_user(base, "bureau@demo.binhai")
    page.goto(f"{base}/ladder/board")
    assert page.locator("#rung-board").is_visible()
    page.click("ul.nav-pills a:has-text('可申报企业')")
    page.select_option("select[name=kind]", "hnte")
    page.click("button:has-text('筛选')")
    row = page.locator(f"#result-list tr[data-enterprise='{firm_id}'][data-kind='hnte']")
    assert row.count() == 1

    # The firm's page, then its criteria: the gap report lists what it does not meet yet.
    row.locator(f"a:has-text('{name}')").click()
    page.wait_for_url(f"{base}/enterprises/{firm_id}*")
    page.locator("#ladder a:has-text('差距报告')").click()
    page.wait_for_url(f"{base}/ladder/enterprises/{firm_id}/gaps")
    unmet = page.locator("#gap-summary tr[data-verdict='ineligible']")
    assert unmet.count() >= 1
    assert unmet.first.locator("ol li").count() >= 1  # each unmet criterion on its own line
    assert page.locator("#gap-summary tr[data-kind='hnte']").get_attribute(
        "data-verdict") in ("eligible", "needs_review")

    # Create an HNTE application from the firm's page and walk it to approved.
    page.click("a:has-text('返回企业')")
    page.locator("#applications a:has-text('新建申报')").click()
    page.select_option("select[name=kind]", "hnte")
    page.fill("input[name=batch]", f"{today().year}年第二批")
    page.click("button:has-text('创建')")
    assert "已创建申报" in _flash(page)
    application = page.locator("tr[data-application]").filter(has_text="第二批")
    assert application.get_attribute("data-status") == "planned"
    for step, status in (("准备材料", "preparing"), ("已提交", "submitted")):
        application.locator(f"button:has-text('{step}')").click()
        page.wait_for_load_state()
        assert application.get_attribute("data-status") == status
    application.locator("a:has-text('已通过')").click()
    page.wait_for_url("**/approve")
    page.fill("input[name=number]", number)
    page.fill("input[name=granted_on]", today().isoformat())
    page.fill("input[name=valid_until]", (today() + timedelta(days=3 * 365 - 1)).isoformat())
    page.click("button:has-text('批准并登记资质')")
    page.wait_for_url(f"{base}/enterprises/{firm_id}*")
    assert "已批准，资质已登记" in _flash(page)

    # The rung changed on the enterprise page, with the qualification and the ladder history.
    assert page.locator("#ladder .card-header .badge-rung").inner_text() == "国家高新技术企业"
    assert number in page.locator("#qualifications").inner_text()
    assert page.locator("tr[data-application]").filter(has_text="第二批").get_attribute(
        "data-status") == "approved"
    history = page.locator("#ladder-history").inner_text()
    assert "→ 国家高新技术企业" in history
    with app.app_context():
        assert db.session.get(Enterprise, firm_id).current_rung == "hnte"


# --------------------------------------------------------------------------------------------
# Issue 4: incubation
# --------------------------------------------------------------------------------------------


def _carrier_ids(app) -> dict[str, int]:
    with app.app_context():
        return {c.name: c.id for c in db.session.scalars(select(Carrier))}


def test_incubation_manager_proposes_graduation_and_bureau_approves(live_server, as_user):
    app, base = live_server
    carriers = _carrier_ids(app)
    own = carriers["滨海创新孵化器"]
    with app.app_context():
        pending = select(StatusProposal.tenancy_id).where(StatusProposal.status == "pending")
        tenancy = db.session.scalars(
            select(Tenancy).where(Tenancy.carrier_id == own, Tenancy.status == "incubating",
                                  Tenancy.id.not_in(pending))
            .order_by(Tenancy.id)).first()
        tenancy_id, firm_id = tenancy.id, tenancy.enterprise_id
        year = max(m.fiscal_year for m in tenancy.enterprise.metrics)
        other = db.session.scalar(select(Tenancy.id).where(Tenancy.carrier_id != own))

    manager = as_user(base, "incubator@demo.binhai")
    manager.goto(f"{base}/incubation/carriers")
    listed = manager.locator("table tbody tr").all_inner_texts()
    assert len(listed) == 1 and "滨海创新孵化器" in listed[0]
    assert "泰达创客空间" not in manager.content()
    manager.click("table a:has-text('滨海创新孵化器')")  # the navbar's user name says it too
    manager.locator(f"a[href='/incubation/tenancies/{tenancy_id}']").click()
    manager.wait_for_url(f"{base}/incubation/tenancies/{tenancy_id}")

    # Update a figure: this year's investment, on the firm's existing fiscal-year row.
    manager.click("h1 a[href^='/enterprises/']")
    manager.locator(f"#metrics a[href$='/metrics/{year}']").click()
    revenue_before = manager.input_value("input[name=revenue]")
    manager.fill("input[name=investment_raised]", "620")
    manager.click("button:has-text('保存')")
    assert f"已保存 {year} 年度数据" in _flash(manager)
    with app.app_context():
        row = db.session.scalar(select(AnnualMetrics).where(
            AnnualMetrics.enterprise_id == firm_id, AnnualMetrics.fiscal_year == year))
        assert row.investment_raised == 6_200_000
        assert revenue_before and row.revenue is not None  # the other figures are kept

    # Propose graduation on the investment basis (now met: 620万 > 500万).
    manager.goto(f"{base}/incubation/tenancies/{tenancy_id}")
    assert "累计620.00万元" in manager.content()
    manager.click("a:has-text('申请状态变更')")
    manager.select_option("select[name=action]", "graduate")
    manager.select_option("select[name=graduation_basis]", "investment")
    manager.fill("textarea[name=evidence]", "A轮投资协议（620万元）")
    manager.click("button:has-text('提交审核')")
    assert "已提交，等待区科技局审核" in _flash(manager)
    proposal_path = manager.url.removeprefix(base)
    assert proposal_path.startswith("/incubation/proposals/")

    # Another carrier's tenant, typed into the address bar: not found.
    response = manager.goto(f"{base}/incubation/tenancies/{other}")
    assert response.status == 404

    # The bureau approves it from its review queue.
    bureau = as_user(base, "bureau@demo.binhai")
    bureau.goto(f"{base}/incubation/proposals")
    bureau.locator(f"a[href='{proposal_path}']").first.click()
    bureau.fill("textarea[name=comment]", "投资协议齐全，同意毕业")
    bureau.once("dialog", lambda dialog: dialog.accept())
    bureau.click("button:has-text('批准')")
    bureau.wait_for_load_state()
    assert "已批准" in _flash(bureau)

    # The firm's chain shows the tenancy graduated, on the investment basis.
    bureau.goto(f"{base}/enterprises/{firm_id}")
    chain = bureau.locator("#incubation-chain").inner_text()
    assert "滨海创新孵化器" in chain and "已毕业" in chain
    assert "累计获得天使或风险投资超过500万元" in chain
    with app.app_context():
        assert db.session.get(Tenancy, tenancy_id).status == "graduated"


def test_new_year_form_does_not_wipe_an_existing_year(live_server, as_user):
    """The tenancy page's "填报年度数据" form, given a year on file, must not blank its figures."""
    app, base = live_server
    with app.app_context():
        tenancy = db.session.scalars(
            select(Tenancy).where(Tenancy.carrier_id == _carrier_ids(app)["滨海创新孵化器"])
            .order_by(Tenancy.id.desc())).first()
        firm_id, tenancy_id = tenancy.enterprise_id, tenancy.id
        row = max(tenancy.enterprise.metrics, key=lambda m: m.fiscal_year)
        year, revenue = row.fiscal_year, row.revenue
    assert revenue is not None
    page = as_user(base, "incubator@demo.binhai")
    page.goto(f"{base}/incubation/tenancies/{tenancy_id}")
    page.click("a:has-text('填报年度数据')")
    page.fill("input[name=fiscal_year]", str(year))
    page.fill("input[name=investment_raised]", "10")
    page.click("button:has-text('保存')")
    with app.app_context():
        kept = db.session.scalar(select(AnnualMetrics.revenue).where(
            AnnualMetrics.enterprise_id == firm_id, AnnualMetrics.fiscal_year == year))
    assert kept == revenue
    assert f"{year} 年度已有数据" in page.content()


# --------------------------------------------------------------------------------------------
# Issue 6: imports and exports
# --------------------------------------------------------------------------------------------


def _messy_workbook(path, good_uscc: str) -> None:
    """A title row above the headers, padded cells, one good row and one with a bad code."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["2026年新增企业名单（区科技局）"])
    sheet.append([" 企业名称 ", "统一社会信用代码", "所属区域", "成立日期"])
    sheet.append(["  天津浏览器测试科技有限公司 ", f" {good_uscc} ", "高新区", "2020-05-06"])
    sheet.append(["天津代码有误科技有限公司", "91120116ABCDEFGH1X", "高新区", "2021/3/1"])
    book.save(path)


def _count_cards(page) -> dict[str, str]:
    """The job page's count cards: label -> number shown."""
    return page.evaluate("""() => Object.fromEntries(
        [...document.querySelectorAll('.card-body')].filter(b => b.querySelector('.fs-5'))
        .map(b => [b.querySelector('.small').textContent.trim(),
                   b.querySelector('.fs-5').textContent.trim()]))""")


def test_import_dry_run_then_keep_valid_and_export(live_server, as_user, tmp_path):
    app, base = live_server
    good = demo_uscc(9001)
    upload = tmp_path / "新增企业.xlsx"
    _messy_workbook(upload, good)

    page = as_user(base, "bureau@demo.binhai")
    page.goto(f"{base}/imports/")
    page.select_option("select[name=kind]", "enterprises")
    page.set_input_files("input[name=file]", str(upload))
    page.click("button:has-text('上传并识别表头')")
    page.wait_for_url("**/mapping")
    # The headers were recognised despite the title row and the padding.
    assert page.locator("select[name=map-0]").input_value() == "name"
    assert page.locator("select[name=map-1]").input_value() == "uscc"
    page.click("button:has-text('试运行')")
    page.wait_for_url(re.compile(r"/imports/\d+$"))
    errors = page.locator("table").filter(has_text="问题与要求")
    error_rows = errors.locator("tbody tr").all_inner_texts()
    assert len(error_rows) == 1
    assert error_rows[0].split("\t")[0].strip() == "4"  # the Excel row number of the bad code
    assert "统一社会信用代码" in error_rows[0]
    assert _count_cards(page)["将新建"] == "1"
    with app.app_context():
        assert db.session.scalar(select(Enterprise.id).where(Enterprise.uscc == good)) is None

    page.check("input[name=keep_valid]")
    page.click("button:has-text('正式导入')")
    page.wait_for_load_state()
    assert "导入完成：新建 1" in _flash(page)
    assert page.locator("#job-status").inner_text() == "已导入"
    assert _count_cards(page) == {"数据行": "2", "正确": "1", "新建": "1", "更新": "0",
                                  "未变化": "0", "有错误": "1"}
    with app.app_context():
        firm = db.session.scalar(select(Enterprise).where(Enterprise.uscc == good))
        assert firm is not None and firm.name == "天津浏览器测试科技有限公司"

    # Export the enterprise list from the enterprises page: the .xlsx of the button ...
    page.goto(f"{base}/enterprises/")
    export = page.get_by_role("link", name="导出", exact=True)
    with page.expect_download() as info:
        export.click()
    assert info.value.suggested_filename.startswith("企业名单-")
    assert info.value.suggested_filename.endswith(".xlsx")
    workbook = openpyxl.load_workbook(io.BytesIO(Path(info.value.path()).read_bytes()))
    header = next(workbook.active.iter_rows(max_row=1, values_only=True))
    assert header[:2] == ("企业名称", "统一社会信用代码")
    # ... and the same list as CSV (format=csv on the button's own address).
    href = export.get_attribute("href")
    csv_href = href + ("&" if "?" in href else "?") + "format=csv"
    with page.expect_download() as info:
        page.evaluate("""href => { const a = document.createElement('a'); a.href = href;
                                   document.body.appendChild(a); a.click(); }""", csv_href)
    assert info.value.suggested_filename.endswith(".csv")
    raw = Path(info.value.path()).read_bytes()
    assert raw.startswith("\ufeff企业名称,统一社会信用代码".encode())
    assert "天津浏览器测试科技有限公司" in raw.decode("utf-8-sig")


def test_import_shows_old_and_new_values_and_waits_for_accepted_warnings(
        live_server, as_user, tmp_path):
    from decimal import Decimal

    from tracker.enterprises import services as enterprise_services

    app, base = live_server
    code = demo_uscc(9101)
    with app.app_context():
        firm = enterprise_services.create_enterprise(
            {"uscc": code, "name": "天津可疑数据科技有限公司", "zone": "hitech"})
        enterprise_services.save_metrics(firm, 2024, {"revenue": Decimal(1_000_000)})
        db.session.commit()
    upload = tmp_path / "更新企业.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["统一社会信用代码", "企业名称", "营业收入（万元）", "数据年度"])
    book.active.append([code, "天津可疑数据科技股份有限公司", 5000, 2025])
    book.save(upload)

    page = as_user(base, "bureau@demo.binhai")
    page.goto(f"{base}/imports/")
    page.select_option("select[name=kind]", "enterprises")
    page.set_input_files("input[name=file]", str(upload))
    page.click("button:has-text('上传并识别表头')")
    page.wait_for_url("**/mapping")
    page.click("button:has-text('试运行')")
    page.wait_for_url(re.compile(r"/imports/\d+$"))
    changes = page.locator("#preview-changes tbody tr").all_inner_texts()
    assert any("天津可疑数据科技有限公司" in r and "天津可疑数据科技股份有限公司" in r
               for r in changes)
    warnings = page.locator("#import-warnings tbody tr").all_inner_texts()
    assert len(warnings) == 1 and "营业收入（万元）" in warnings[0] and "5000" in warnings[0]

    page.click("button:has-text('正式导入')")  # warnings not accepted: nothing is written
    page.wait_for_load_state()
    assert "警告" in _flash(page)
    assert page.locator("#job-status").inner_text() == "未导入（有错误）"
    page.check("input[name=accept_warnings]")
    page.click("button:has-text('正式导入')")
    page.wait_for_load_state()
    assert page.locator("#job-status").inner_text() == "已导入"
    with app.app_context():
        assert db.session.scalar(select(AnnualMetrics.revenue).where(
            AnnualMetrics.fiscal_year == 2025,
            AnnualMetrics.enterprise_id == select(Enterprise.id).where(
                Enterprise.uscc == code).scalar_subquery())) == Decimal(50_000_000)


# --------------------------------------------------------------------------------------------
# Issue 5: reminders
# --------------------------------------------------------------------------------------------


def test_reminder_ledger_and_outbox_render(live_server, as_user):
    from tracker.reminders.models import Reminder
    from tracker.reminders.tasks import send_batch, sweep_now

    app, base = live_server
    with app.app_context():
        sweep_now()
        for _ in range(10):  # what `flask reminders send-due` does, in this process
            counts = send_batch.run()
            if not counts or set(counts) <= {"retry"}:
                break
        swept = db.session.scalar(select(db.func.count(Reminder.id)))
    assert swept > 0, "the demo data should make some reminders due"

    page = as_user(base, "bureau@demo.binhai")
    response = page.goto(f"{base}/reminders/")
    assert response.status == 200
    assert page.locator("h1:has-text('提醒台账')").is_visible()
    assert page.locator("#ledger tbody tr").count() >= 1
    response = page.goto(f"{base}/reminders/outbox")
    assert response.status == 200
    assert page.locator("h1:has-text('已发邮件')").is_visible()
    assert page.locator("#outbox tbody tr").count() >= 1
