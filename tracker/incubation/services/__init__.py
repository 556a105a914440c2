"""Writing the incubation chain: carriers, tenancies, status proposals and tenant reports.

Services flush; the caller (view, task, CLI, import) commits once. Every change is audited.
The work lives in one module per area; this package re-exports their public names, so
``from tracker.incubation import services`` and ``services.close_tenancy(...)`` keep working.
Modules inside the package import each other directly, never this package (no import loop).
"""

from __future__ import annotations

from tracker.errors import FieldError as FieldError  # re-exported for views
from tracker.errors import StaleEdit as StaleEdit
from tracker.incubation import criteria as criteria
from tracker.incubation.models import TenantReport as TenantReport
from tracker.incubation.services.carriers import CARRIER_FIELDS as CARRIER_FIELDS
from tracker.incubation.services.carriers import save_carrier as save_carrier
from tracker.incubation.services.checks import CarrierCheck as CarrierCheck
from tracker.incubation.services.checks import carrier_check as carrier_check
from tracker.incubation.services.checks import carrier_stats as carrier_stats
from tracker.incubation.services.checks import graduation_facts as graduation_facts
from tracker.incubation.services.common import GRADUATE_CLAUSE as GRADUATE_CLAUSE
from tracker.incubation.services.dashboard import dashboard_counts as dashboard_counts
from tracker.incubation.services.dashboard import graduated_then_hnte as graduated_then_hnte
from tracker.incubation.services.dashboard import resident_on as resident_on
from tracker.incubation.services.proposals import PROPOSAL_FIELDS as PROPOSAL_FIELDS
from tracker.incubation.services.proposals import approve as approve
from tracker.incubation.services.proposals import close_tenancy as close_tenancy
from tracker.incubation.services.proposals import may_decide as may_decide
from tracker.incubation.services.proposals import pending_proposal as pending_proposal
from tracker.incubation.services.proposals import propose as propose
from tracker.incubation.services.proposals import reject as reject
from tracker.incubation.services.proposals import withdraw as withdraw
from tracker.incubation.services.reports import covered_months as covered_months
from tracker.incubation.services.reports import create_cycle as create_cycle
from tracker.incubation.services.reports import expected_clause as expected_clause
from tracker.incubation.services.reports import is_late as is_late
from tracker.incubation.services.reports import report_progress as report_progress
from tracker.incubation.services.reports import reports_progress as reports_progress
from tracker.incubation.services.reports import reports_query as reports_query
from tracker.incubation.services.reports import submit_report as submit_report
from tracker.incubation.services.tenancies import TENANCY_EDITABLE as TENANCY_EDITABLE
from tracker.incubation.services.tenancies import TENANCY_FIELDS as TENANCY_FIELDS
from tracker.incubation.services.tenancies import default_term_end as default_term_end
from tracker.incubation.services.tenancies import entry_warnings as entry_warnings
from tracker.incubation.services.tenancies import forget_closing as forget_closing
from tracker.incubation.services.tenancies import forget_stay as forget_stay
from tracker.incubation.services.tenancies import open_tenancy as open_tenancy
from tracker.incubation.services.tenancies import redate_entry as redate_entry
from tracker.incubation.services.tenancies import update_tenancy as update_tenancy

__all__ = [
    "FieldError", "StaleEdit", "open_tenancy", "entry_warnings", "default_term_end",
    "update_tenancy", "save_carrier", "propose", "approve", "close_tenancy", "reject", "withdraw",
    "create_cycle", "submit_report", "graduation_facts", "carrier_stats", "carrier_check",
    "forget_stay", "redate_entry", "forget_closing",
]
