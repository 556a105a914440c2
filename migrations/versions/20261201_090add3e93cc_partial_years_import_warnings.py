"""Partial years on annual metrics; import warnings and preview; firm names folded.

- annual_metrics.period_months: 12 for a full year; rows a tenant's quarterly report wrote
  are marked with the months their year-to-date figures cover, so they stop counting as
  full years.
- import_jobs.warnings / preview: plausibility warnings and the fields a (dry) run changes.
- Existing firm names get the full-width letters and digits folded that the enterprise
  service now folds on every save, so a search for "ABC" finds firms stored before. This part
  cannot be reversed (the original spelling is in the audit history of manual edits only).

Revision ID: 090add3e93cc
Revises: 1a050880dbbc
Create Date: 2026-12-01 04:29:21.350540

"""
import re
import unicodedata

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '090add3e93cc'
down_revision = '1a050880dbbc'
branch_labels = None
depends_on = None

# Frozen copy of tracker.names.fold_name as of this revision (migrations import no app code).
_SIGNS = set("＆＋－．＿／＃＠")


def _fold_name(text):
    if not text:
        return text
    folded = "".join(
        unicodedata.normalize("NFKC", c)
        if "\uff10" <= c <= "\uff19" or "\uff21" <= c <= "\uff3a" or "\uff41" <= c <= "\uff5a"
        or c in _SIGNS else c
        for c in text)
    return re.sub(r"\s+", " ", folded.replace("\u3000", " ")).strip()


def upgrade():
    with op.batch_alter_table('annual_metrics', schema=None) as batch_op:
        batch_op.add_column(sa.Column('period_months', sa.Integer(), server_default='12',
                                      nullable=False))

    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('warnings', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('preview', sa.JSON(), nullable=True))

    bind = op.get_bind()
    metrics = sa.table("annual_metrics", sa.column("id"), sa.column("enterprise_id"),
                       sa.column("fiscal_year"), sa.column("source"),
                       sa.column("period_months"))
    tenancies = sa.table("tenancies", sa.column("id"), sa.column("enterprise_id"))
    reports = sa.table("tenant_reports", sa.column("cycle_id"), sa.column("tenancy_id"))
    cycles = sa.table("reporting_cycles", sa.column("id"), sa.column("fiscal_year"),
                      sa.column("period_end", sa.Date))
    latest_end = {}
    for enterprise_id, fiscal_year, period_end in bind.execute(
            sa.select(tenancies.c.enterprise_id, cycles.c.fiscal_year, cycles.c.period_end)
            .select_from(reports.join(tenancies, tenancies.c.id == reports.c.tenancy_id)
                         .join(cycles, cycles.c.id == reports.c.cycle_id))):
        key = (enterprise_id, fiscal_year)
        if key not in latest_end or period_end > latest_end[key]:
            latest_end[key] = period_end
    for row_id, enterprise_id, fiscal_year in bind.execute(
            sa.select(metrics.c.id, metrics.c.enterprise_id, metrics.c.fiscal_year)
            .where(metrics.c.source == "tenant_report")).all():
        end = latest_end.get((enterprise_id, fiscal_year))
        if end is None or end.year > fiscal_year:
            continue
        months = min(max(end.month, 1), 12)
        if months < 12:
            bind.execute(sa.update(metrics).where(metrics.c.id == row_id)
                         .values(period_months=months))

    enterprises = sa.table("enterprises", sa.column("id"), sa.column("name"))
    for row_id, name in bind.execute(sa.select(enterprises.c.id, enterprises.c.name)).all():
        folded = _fold_name(name)
        if folded and folded != name:
            bind.execute(sa.update(enterprises).where(enterprises.c.id == row_id)
                         .values(name=folded))


def downgrade():
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.drop_column('preview')
        batch_op.drop_column('warnings')

    with op.batch_alter_table('annual_metrics', schema=None) as batch_op:
        batch_op.drop_column('period_months')
