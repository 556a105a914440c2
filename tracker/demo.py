"""Demo data for a first look: one user per role and a few dozen real-looking firms.

The passwords below are for the demo database only and are documented in the README.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from tracker.accounts import services as accounts
from tracker.accounts.demo import DEMO_PASSWORD, DEMO_USERS
from tracker.accounts.models import User
from tracker.clock import today
from tracker.dashboard import history
from tracker.enterprises import services as enterprises
from tracker.enterprises.models import Enterprise
from tracker.enterprises.uscc import make_code
from tracker.enterprises.zones import TECH_FIELDS, ZONES
from tracker.extensions import db
from tracker.incubation.demo import load_incubation_demo
from tracker.incubation.models import Carrier
from tracker.incubation.services import open_tenancy
from tracker.indicators.demo import load_indicators_demo
from tracker.ladder.demo import load_ladder_demo
from tracker.ladder.rules import fiscal_years_needed
from tracker.reminders.defaults import seed_demo

NAME_PARTS = (
    ["海河", "渤海", "泰达", "津滨", "华创", "中科", "云帆", "北洋",
     "鲲鹏", "蓝海", "星辰", "瀚海"],
    ["智能", "生物", "新材料", "信息", "医药", "能源", "装备", "数据", "海洋", "芯片", "环境"],
    ["科技有限公司", "技术有限公司", "科技股份有限公司", "研究院有限公司"],
)


#: demo firms are numbered far above the serials tests and bench use, so codes never collide
DEMO_SERIALS = 31**8


def demo_uscc(serial: int) -> str:
    """A code that passes the GB 32100 check, registered in 滨海新区 (120116)."""
    return make_code(DEMO_SERIALS + serial)


def load_demo(n_enterprises: int = 60, seed: int = 7) -> dict[str, dict[str, int]]:
    """Demo users, carriers and firms, then each feature's demo additions (what they added)."""
    rng = random.Random(seed)
    carriers = [
        Carrier(name="滨海创新孵化器", kind="incubator", scheme="most_2018_national",
                operator="天津滨海创新发展有限公司", zone="hitech", area_m2=16000,
                recognised_on=date(2019, 12, 1)),
        Carrier(name="泰达创客空间", kind="maker_space", scheme="national_maker_space",
                operator="泰达创业服务中心", zone="teda", area_m2=1200,
                recognised_on=date(2018, 6, 1)),
        Carrier(name="滨海高新区软件园", kind="science_park", scheme="tianjin_municipal",
                zone="hitech", area_m2=80000),
    ]
    db.session.add_all(carriers)
    db.session.flush()
    users = {}
    for email, name, role, zone in DEMO_USERS:
        users[role] = accounts.create_user(
            email, DEMO_PASSWORD, role, name=name, zone=zone,
            carrier_id=carriers[0].id if role == "carrier_manager" else None,
        )
    officers = [users["bureau"], users["zone"]]
    zone_codes = list(ZONES)
    # As many fiscal years as the rules can read (瞪羚's growth rule, once configured, reads
    # four), ending with the last complete one, so every rung can be evaluated on demo firms.
    needed = fiscal_years_needed({"dengling": {"min_revenue_cagr_pct": 0}})
    years = range(today().year - needed, today().year)
    for i in range(n_enterprises):
        name = (rng.choice(NAME_PARTS[0]) + rng.choice(NAME_PARTS[1])
                + rng.choice(NAME_PARTS[2]))
        name = f"天津{name[:2]}{i:02d}{name[2:]}" if i % 3 else f"天津{name}"
        if i == 0:  # the firm the search help names: "tjbyny" finds it by pinyin initials
            name = "天津北洋能源科技有限公司"
        zone = "hitech" if i % 4 == 0 else rng.choice(zone_codes)
        founded = date(2012, 1, 1) + timedelta(days=rng.randint(0, 4800))
        enterprise = enterprises.create_enterprise({
            "uscc": demo_uscc(i), "name": name, "zone": zone,
            "founded_on": founded, "tech_field": rng.choice(list(TECH_FIELDS)),
            "officer_id": officers[i % 2].id if zone == "hitech" else users["bureau"].id,
            "honours": rng.sample(["provincial_rd_institution", "sci_project",
                                   "drafted_standard", "software_certified"], rng.randint(0, 2)),
        })
        enterprises.save_contact(enterprise, {
            "name": rng.choice("张王李赵陈") + rng.choice("伟芳磊静"),
            "title": "总经理", "phone": f"022-6{rng.randint(1000000, 9999999)}",
            "email": f"contact{i}@example.com", "receives_reminders": True,
        })
        employees = rng.randint(8, 450)
        base_revenue = Decimal(rng.randint(50, 40000)) * 10000
        for index, year in enumerate(years):
            if year < founded.year:
                continue
            growth = Decimal(1 + index * rng.randint(5, 30) / 100)
            revenue = (base_revenue * growth).quantize(Decimal("1"))
            enterprises.save_metrics(enterprise, year, {
                "employees": employees,
                "tech_staff": max(1, employees * rng.randint(5, 45) // 100),
                "revenue": revenue, "total_income": revenue + 100000,
                "total_assets": revenue * Decimal("1.4"), "net_assets": revenue * Decimal("0.6"),
                "total_cost": revenue * Decimal("0.8"),
                "rd_expense": (revenue * Decimal(rng.randint(1, 12)) / 100).quantize(Decimal("1")),
                "rd_expense_domestic": (revenue * Decimal(1) / 100).quantize(Decimal("1")),
                "high_tech_income": revenue * Decimal(rng.randint(30, 90)) / 100,
                "class1_ip": rng.randint(0, 3), "class2_ip": rng.randint(0, 8),
            }, source="demo")
        if i < 12:
            carrier = carriers[0] if i < 8 else carriers[1]
            # rented floor area, so the dashboard's occupancy means something
            area = Decimal(400 + 150 * i) if i < 8 else Decimal(80 + 30 * (i - 8))
            open_tenancy(enterprise, carrier, date(2023, 1, 1) + timedelta(days=30 * i),
                         source="demo", area_m2=area)
    db.session.flush()
    added = {"ladder": load_ladder_demo(rng), "incubation": load_incubation_demo(),
             "indicators": load_indicators_demo()}
    seed_demo(today().year)  # reminder rules and this year's official cycles
    # the trend charts' past months, as the beat job would write them on its first run
    added["dashboard"] = {"months": len(history.backfill())}
    return added


def database_is_empty() -> bool:
    return not db.session.scalar(select(func.count(User.id)))


demo_cli = AppGroup("demo", help="Demo data.")


@demo_cli.command("load")
@click.option("--if-empty", is_flag=True, help="do nothing when the database has users")
@click.option("--enterprises", "n", default=60, show_default=True)
def load(if_empty: bool, n: int) -> None:
    """Load demo users, carriers and enterprises."""
    if if_empty and not database_is_empty():
        click.echo("database already has data; demo not loaded")
        return
    load_demo(n)
    db.session.commit()
    count = db.session.scalar(select(func.count(Enterprise.id)))
    click.echo(f"demo loaded: {len(DEMO_USERS)} users, {count} enterprises; "
               f"password for every demo user: {DEMO_PASSWORD}")


@demo_cli.command("generate")
@click.option("--firms", "n", type=click.IntRange(min=1), required=True,
              help="how many enterprises to generate")
@click.option("--seed", default=1, show_default=True, help="same seed, same data")
@click.option("--chunk", default=2000, show_default=True, help="firms written per round")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="processes computing the eligibility results (PostgreSQL; default: one "
                   "per CPU)")
def generate_command(n: int, seed: int, chunk: int, workers: int | None) -> None:
    """Fill an empty migrated database with N realistic synthetic firms (benchmarks)."""
    import os
    import time

    from tracker.generate import GenerateError, generate

    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if done == total or done % (chunk * 10) == 0:
            click.echo(f"  {done:,}/{total:,} firms, {time.perf_counter() - started:.0f}s",
                       err=True)

    try:
        summary = generate(n, seed, chunk=chunk, progress=progress,
                           workers=workers or os.cpu_count() or 1)
    except GenerateError as exc:
        raise click.ClickException(str(exc)) from exc
    rows = ", ".join(f"{table} {count:,}" for table, count in sorted(summary.rows.items()))
    elapsed = time.perf_counter() - started
    phases = ", ".join(f"{phase} {seconds:.1f}s" for phase, seconds in summary.seconds.items())
    click.echo(f"generated {summary.firms:,} firms in {elapsed:.1f}s "
               f"({summary.firms / elapsed:,.0f} firms/s; {phases}): {rows}")
    # the dashboard's month ends, as beat's first run would write them
    began = time.perf_counter()
    months = history.backfill()
    db.session.commit()
    click.echo(f"dashboard: {len(months)} month-end counts back-filled in "
               f"{time.perf_counter() - began:.1f}s (total {time.perf_counter() - started:.1f}s)",
               err=True)
