"""official rule bases: seeded reminder rules cite official documents, not the project's notes

Revision ID: f3a1c0de2b51
Revises: a75977cb2c07
Create Date: 2026-12-01

Data only. The first seeds stored "domain.md §2.3", "design.md（申报）", "User.wants_digest" and the
like as a rule's basis, which the rules page shows to admins. A row still carrying its seeded
basis gets the official citation (or none); a basis an admin typed is left alone.
"""

import sqlalchemy as sa
from alembic import op

revision = "f3a1c0de2b51"
down_revision = "a75977cb2c07"
branch_labels = None
depends_on = None

HNTE = "《高新技术企业认定管理办法》（国科发火〔2016〕32号）"
INCUBATOR = "《科技企业孵化器管理办法》（国科发区〔2018〕300号）"

#: code -> (basis the first seed stored, the official one or None)
CHANGES = {
    "hnte_expiry": ("domain.md §2.3", HNTE + " 第九条"),
    "hnte_annual_report": ("domain.md §2.5", HNTE),
    "hnte_annual_report_escalation": ("domain.md §2.5", HNTE),
    "tech_sme_refile": ("domain.md §1.4, §1.6", "国科火字〔2019〕87号；国科发火〔2018〕11号"),
    "tenancy_term_ending": ("domain.md §4.2", INCUBATOR + " 第九条"),
    "tenant_report_overdue": ("domain.md §4.10", INCUBATOR),
    "tenant_report_late": ("design.md（孵化：报表周期）", None),
    "application_deadline": ("design.md（申报）", None),
    "newly_eligible": ("eligibility.md; domain.md §6", None),
    "digest": ("User.wants_digest", None),
}

rules = sa.table("reminder_rules", sa.column("code", sa.String), sa.column("basis", sa.Text))


def _apply(pairs):
    for code, (old, new) in pairs:
        op.execute(rules.update().where(rules.c.code == code, rules.c.basis == old)
                   .values(basis=new))


def upgrade():
    _apply(CHANGES.items())


def downgrade():
    op.execute(rules.update().where(rules.c.code.in_([c for c, (_o, n) in CHANGES.items()
                                                       if n is None]),
                                    rules.c.basis.is_(None))
               .values(basis=sa.case({c: o for c, (o, _n) in CHANGES.items()},
                                     value=rules.c.code)))
    _apply((code, (new, old)) for code, (old, new) in CHANGES.items() if new is not None)
