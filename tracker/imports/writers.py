"""How imported rows become qualifications and tenancies: through the features' own services.

Every write goes through the call the web form uses, so an imported change has the same
consequences (rung, dated history, stage transitions, audit, reminders) as a typed one:
granting, correcting and revoking titles through tracker.ladder.services; moving in, correcting
move-in details and closing stays through tracker.incubation.services.

A listed graduation or exit closes the stay only when the import says the list is official
(the bureau's published list is the approval); otherwise it becomes a pending proposal for a
bureau officer to decide, exactly as a carrier manager's request would. All flush, never commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tracker.audit import services as audit
from tracker.enterprises.models import Enterprise
from tracker.errors import FieldError
from tracker.incubation import services as incubation_services
from tracker.incubation.models import TENANCY_STATUSES, Carrier, StatusProposal, Tenancy
from tracker.ladder import services as ladder_services
from tracker.ladder.models import Qualification

#: why an imported term differs from the carrier's default (the list is the record)
IMPORTED_TERM_REASON = "孵化期按导入名单登记"
#: the reason kept on an imported revocation or exit whose list gives none
IMPORTED_REASON = "按导入名单登记"

QUALIFICATION_FIELDS = ("kind", "number", "granted_on", "valid_until", "batch", "source",
                        "revoked_on", "revoked_reason")
TENANCY_FIELDS = ("carrier_id", "moved_in_on", "term_ends_on", "status", "ended_on",
                  "graduation_basis", "graduation_evidence", "end_reason", "area_m2")
PROPOSAL_FIELDS = ("tenancy_id", "action", "effective_on", "graduation_basis", "reason",
                   "status")
#: what a listed status asks for (in process: nothing to close)
STATUS_ACTION = {"graduated": "graduate", "exited": "exit", "moved_on": "move_on"}


@dataclass
class TenancyWrite:
    """What an imported tenancy row did: fields changed and a proposal made, if any."""

    changes: dict[str, list[Any]] = field(default_factory=dict)
    proposal: StatusProposal | None = None
    #: the stay itself (set when the row opened it)
    tenancy: Tenancy | None = None


def grant_qualification(enterprise: Enterprise, data: dict[str, Any]) -> Qualification:
    """Record a qualification from an official list, as the ladder does for any grant."""
    qualification = ladder_services.grant_qualification(
        enterprise, data["kind"], data.get("number"), data["granted_on"],
        valid_until=data.get("valid_until"), batch=data.get("batch"), source="import",
        evidence=data.get("batch"),
    )
    if data.get("revoked_on") and qualification.revoked_on is None:
        _revoke(qualification, data)
    return qualification


def _revoke(qualification: Qualification, data: dict[str, Any]) -> None:
    ladder_services.revoke_qualification(
        qualification, data["revoked_on"], data.get("revoked_reason") or IMPORTED_REASON,
        source="import", evidence=data.get("batch"))


def update_qualification(qualification: Qualification, data: dict[str, Any]) -> dict:
    """Bring number, dates and batch in line with the list, and revoke what it revokes.

    Returns the changes (old and new value per field), as the import notes them for undo.
    """
    before = audit.snapshot(qualification, QUALIFICATION_FIELDS)
    values = {k: data[k] for k in ("number", "granted_on", "valid_until", "batch") if k in data}
    if values:  # the service records nothing when nothing differs
        ladder_services.update_qualification(qualification, values, expected_version=None,
                                             source="import", evidence=data.get("batch"))
    if data.get("revoked_on"):
        if qualification.revoked_on is None:
            _revoke(qualification, data)
        elif qualification.revoked_on != data["revoked_on"]:
            raise FieldError({"revoked_on": (
                f"该资质已于 {qualification.revoked_on.isoformat()} 撤销，与名单的撤销日期不同："
                "请在资质页面核对")})
    return audit.changed_fields(before, audit.snapshot(qualification, QUALIFICATION_FIELDS))


def open_tenancy(enterprise: Enterprise, carrier: Carrier, data: dict[str, Any], *,
                 official_list: bool = False, user: Any = None) -> TenancyWrite:
    """Record a firm moving into a carrier; a listed end goes the way update_tenancy says."""
    # the service keeps the reason only when the listed term differs from the carrier's default;
    # a stay an official list closes at once is judged for overlap on its listed end
    closes_now = official_list and data.get("status") in ("graduated", "exited")
    tenancy = incubation_services.open_tenancy(
        enterprise, carrier, data["moved_in_on"], term_ends_on=data.get("term_ends_on"),
        term_override_reason=IMPORTED_TERM_REASON, source="import", area_m2=data.get("area_m2"),
        user=user, ends_on=data.get("ended_on") if closes_now else None,
    )
    write = _close_as_listed(tenancy, data, official_list=official_list, user=user)
    write.changes = {}
    write.tenancy = tenancy
    return write


def update_tenancy(tenancy: Tenancy, data: dict[str, Any], *, official_list: bool = False,
                   user: Any = None) -> TenancyWrite:
    """Apply the listed move-in details and status; returns what changed and any proposal."""
    before = audit.snapshot(tenancy, TENANCY_FIELDS)
    details = {k: data[k] for k in ("moved_in_on", "term_ends_on", "area_m2")
               if k in data and data[k] != getattr(tenancy, k)}
    if details:
        if "moved_in_on" in details or "term_ends_on" in details:
            details.setdefault("moved_in_on", tenancy.moved_in_on)
            if "term_ends_on" in data:  # the service keeps the reason only if it differs
                details["term_ends_on"] = data["term_ends_on"]
                details["term_override_reason"] = IMPORTED_TERM_REASON
            elif tenancy.term_override_reason:  # keep a term set on purpose
                details["term_ends_on"] = tenancy.term_ends_on
                details["term_override_reason"] = tenancy.term_override_reason
        incubation_services.update_tenancy(tenancy, details, expected_version=None,
                                           user=user)
    write = _close_as_listed(tenancy, data, official_list=official_list, user=user)
    write.changes = audit.changed_fields(before, audit.snapshot(tenancy, TENANCY_FIELDS))
    return write


def _close_as_listed(tenancy: Tenancy, data: dict[str, Any], *, official_list: bool,
                     user: Any) -> TenancyWrite:
    """Close the stay as the list says, propose it, or refuse what a list cannot change."""
    write = TenancyWrite()
    status = data.get("status")
    if status is None or status == tenancy.status:
        if status is not None and status != "incubating":
            _refuse_redating(tenancy, data)
        return write
    if tenancy.status != "incubating":
        raise FieldError({"status": (
            f"该入驻记录已结束（{TENANCY_STATUSES[tenancy.status]}），名单状态为"
            f"「{TENANCY_STATUSES[status]}」：已结束的入驻不能通过导入变更，请在入驻记录上核对")})
    action = STATUS_ACTION[status]
    if action == "move_on":
        raise FieldError({"status": (
            "“已转入下一载体”不能由导入直接登记：请导入新载体的入驻记录，或在入驻记录上提交转入申请")})
    if not data.get("ended_on"):
        raise FieldError({"ended_on": "名单中已毕业或已退出的企业需要填写毕业/退出日期"})
    reason = IMPORTED_REASON if action == "exit" else None
    if official_list:
        if user is not None and not incubation_services.may_decide(user):
            raise FieldError({"status": "只有局审核人员可以按官方名单直接登记毕业或退出"})
        incubation_services.close_tenancy(
            tenancy, action, data["ended_on"], graduation_basis=data.get("graduation_basis"),
            reason=reason, source="import", official_list=True,
            actor_id=getattr(user, "id", None))
        return write
    pending = incubation_services.pending_proposal(tenancy)
    if pending is not None and (pending.action, pending.effective_on) == (action,
                                                                          data["ended_on"]):
        return write  # the same list again: its request is already waiting
    write.proposal = incubation_services.propose(
        tenancy, action, {"effective_on": data["ended_on"],
                          "graduation_basis": data.get("graduation_basis"),
                          "reason": reason}, user=user)
    return write


def _refuse_redating(tenancy: Tenancy, data: dict[str, Any]) -> None:
    """A closed stay's end date and basis are history: a list cannot quietly rewrite them."""
    for key, label in (("ended_on", "毕业/退出日期"), ("graduation_basis", "毕业依据")):
        if key in data and data[key] != getattr(tenancy, key):
            raise FieldError({key: (
                f"该入驻记录已结束，名单中的{label}与记录不同：已结束的入驻不能通过导入变更，"
                "请在入驻记录上核对")})
