"""Incubation additions to the demo data: a chain move, a graduate, proposals and a report cycle.

Call load_incubation_demo() after tracker.demo.load_demo() (it reads the carriers and users that
one creates); it flushes and the caller commits. Safe to call on a database without the demo.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from tracker.accounts import services as accounts
from tracker.accounts.demo import DEMO_PASSWORD
from tracker.accounts.models import User
from tracker.clock import today
from tracker.enterprises.services import save_metrics
from tracker.extensions import db
from tracker.incubation import criteria, services
from tracker.incubation.models import Carrier, ReportingCycle, Tenancy

MAKER_MANAGER_EMAIL = "maker@demo.binhai"


def _previous_quarter():
    """(start, end) of the last completed calendar quarter."""
    now = today()
    first_month = (now.month - 1) // 3 * 3 + 1
    end = now.replace(month=first_month, day=1) - timedelta(days=1)
    start = end.replace(month=(end.month - 1) // 3 * 3 + 1, day=1)
    return start, end


def load_incubation_demo() -> dict[str, int]:
    """Add demo chain data; returns counts of what was added (empty without the base demo)."""
    carriers = {c.name: c for c in db.session.scalars(select(Carrier))}
    incubator, maker, park = (carriers.get(n) for n in ("滨海创新孵化器", "泰达创客空间",
                                                         "滨海高新区软件园"))
    bureau = db.session.scalar(select(User).where(User.email == "bureau@demo.binhai"))
    manager = db.session.scalar(select(User).where(User.email == "incubator@demo.binhai"))
    if not (incubator and maker and park and bureau and manager):
        return {}
    added = {"users": 0, "moves": 0, "graduates": 0, "proposals": 0, "reports": 0}
    maker.workstations = maker.workstations or 60
    maker_manager = db.session.scalar(select(User).where(User.email == MAKER_MANAGER_EMAIL))
    if maker_manager is None:
        maker_manager = accounts.create_user(MAKER_MANAGER_EMAIL, DEMO_PASSWORD,
                                             "carrier_manager", name="孙经理（泰达创客空间）",
                                             carrier_id=maker.id)
        added["users"] += 1

    def tenants(carrier: Carrier) -> list[Tenancy]:
        return list(db.session.scalars(select(Tenancy).where(
            Tenancy.carrier_id == carrier.id, Tenancy.status == "incubating")
            .order_by(Tenancy.moved_in_on, Tenancy.id)))

    # A maker-space graduate moves on to the incubator: the chain advances one step.
    maker_tenants = tenants(maker)
    if maker_tenants:
        first = maker_tenants[0]
        on = max(first.moved_in_on + timedelta(days=300), today() - timedelta(days=200))
        # The maker space's manager proposes and the bureau decides (maker-checker).
        proposal = services.propose(first, "move_on", {
            "effective_on": on, "next_carrier_note": incubator.name,
            "reason": "团队完成公司注册并获得首轮融资，转入孵化器继续孵化",
        }, user=maker_manager)
        services.approve(proposal, user=bureau, comment="同意转入", next_carrier=incubator)
        added["moves"] += 1

    incubating = tenants(incubator)
    # One incubator tenant graduates on investment (> 500万元 cumulative, domain.md §4.3).
    if incubating:
        grad = incubating[0]
        save_metrics(grad.enterprise, today().year - 1,
                     {"investment_raised": Decimal(3_200_000)}, source="demo")
        save_metrics(grad.enterprise, today().year - 2,
                     {"investment_raised": Decimal(2_000_000)}, source="demo")
        proposal = services.propose(grad, "graduate", {
            "effective_on": today() - timedelta(days=30), "graduation_basis": "investment",
            "evidence": "A轮、Pre-A轮投资协议（合计520万元）",
        }, user=manager)
        services.approve(proposal, user=bureau, comment="材料齐全，同意毕业")
        added["graduates"] += 1
    # One proposal waits in the bureau's review queue (revenue basis, checked on the data).
    for tenancy in incubating[1:]:
        facts = services.graduation_facts(tenancy.enterprise)
        if criteria.basis_met(facts, "revenue"):
            services.propose(tenancy, "graduate", {
                "effective_on": today(), "graduation_basis": "revenue",
                "evidence": "近两年审计报告",
            }, user=manager)
            added["proposals"] += 1
            break
    # A longer term for a biomedicine tenant, with the reason recorded.
    if len(incubating) > 2:
        t = incubating[-1]
        services.update_tenancy(t, {
            "term_ends_on": criteria.add_months(t.moved_in_on, 60),
            "term_override_reason": "生物医药领域，经区科技局同意延长孵化期至60个月",
        }, expected_version=None)

    # Last quarter's tenant report: a few submitted, the rest late once the due date passes.
    start, end = _previous_quarter()
    name = f"{end.year}年第{(end.month - 1) // 3 + 1}季度"
    cycle = db.session.scalar(select(ReportingCycle).where(ReportingCycle.name == name))
    if cycle is None:
        cycle = services.create_cycle({"name": name, "period_start": start, "period_end": end,
                                       "due_on": end + timedelta(days=20)}, user=bureau)
        for tenancy in tenants(incubator)[:3]:
            services.submit_report(cycle, tenancy, {
                "revenue": Decimal(1_800_000), "employees": 25, "rd_expense": Decimal(260_000),
                "class2_ip": 3, "investment_raised": Decimal(0),
            }, user=manager)
            added["reports"] += 1
    db.session.flush()
    return added
