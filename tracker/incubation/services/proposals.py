"""Status proposals: the manager proposes, the bureau decides; closing a stay with its move."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from tracker.accounts.roles import EDITOR_ROLES, Role
from tracker.accounts.scope import carrier_scope
from tracker.audit import services as audit
from tracker.clock import now_utc, today
from tracker.enterprises.models import Enterprise
from tracker.errors import FieldError, check_version
from tracker.extensions import db
from tracker.incubation import criteria
from tracker.incubation.models import (
    ACTION_STATUS,
    GRADUATION_BASES,
    PROPOSAL_ACTIONS,
    TENANCY_STATUSES,
    Carrier,
    StatusProposal,
    Tenancy,
)
from tracker.incubation.services.checks import graduation_facts
from tracker.incubation.services.common import _clean_text
from tracker.incubation.services.tenancies import TENANCY_FIELDS, _transition, open_tenancy
from tracker.messages import Message

PROPOSAL_FIELDS = (
    "tenancy_id", "action", "effective_on", "graduation_basis", "evidence", "reason",
    "next_carrier_id", "next_carrier_note", "status", "decision_comment", "new_tenancy_id",
)


def pending_proposal(tenancy: Tenancy) -> StatusProposal | None:
    return db.session.scalar(select(StatusProposal).where(
        StatusProposal.tenancy_id == tenancy.id, StatusProposal.status == "pending"))


def _check_basis(enterprise: Enterprise, basis: str | None, evidence: str | None,
                 *, required: bool) -> None:
    if not basis:
        if required:
            raise FieldError({"graduation_basis": _("请选择毕业依据")})
        return
    if basis not in GRADUATION_BASES:
        raise FieldError({"graduation_basis": _("未知的毕业依据")})
    facts = graduation_facts(enterprise)
    check = next(c for c in criteria.graduation_checks(facts) if c.basis == basis)
    if check.met is None and basis == "listed":
        if not evidence:
            raise FieldError({"evidence": _("以兼并收购或上市作为毕业依据时，请填写证明材料")})
        return
    if not check.met:
        raise FieldError({"graduation_basis": (
            _("企业数据不满足「%(label)s」：%(actual)s（要求 %(required)s）",
              label=_(check.label), actual=check.actual, required=check.required))})


def propose(tenancy: Tenancy, action: str, data: Mapping[str, Any], *, user: Any
            ) -> StatusProposal:
    """Record a proposed graduation, exit or move for the bureau to decide; nothing else changes."""
    errors: dict[str, str] = {}
    if action not in PROPOSAL_ACTIONS:
        raise FieldError({"action": _("请选择变更类型")})
    if tenancy.status != "incubating" and not (action == "move_on"
                                               and tenancy.status == "graduated"):
        raise FieldError({"action": _("该入驻记录已结束，不能再变更状态")})
    if pending_proposal(tenancy) is not None:
        raise FieldError({"action": _("该企业已有待审核的状态变更，请等待审核结果或先撤回")})
    effective = data.get("effective_on")
    if not isinstance(effective, date):
        errors["effective_on"] = _("请填写生效日期")
    elif effective < tenancy.moved_in_on:
        errors["effective_on"] = _("生效日期不能早于入驻日期")
    elif effective > today() + timedelta(days=366):
        errors["effective_on"] = _("生效日期不能晚于一年以后")
    reason = _clean_text(data.get("reason"))
    evidence = _clean_text(data.get("evidence"))
    basis = data.get("graduation_basis") or None
    if action == "move_on" and tenancy.status == "graduated":
        basis = basis or tenancy.graduation_basis
    next_id, note = data.get("next_carrier_id") or None, _clean_text(data.get("next_carrier_note"))
    if action == "exit" and not reason:
        errors["reason"] = _("请填写退出原因")
    if action == "move_on":
        if next_id is not None:
            target = db.session.scalar(select(Carrier).where(
                carrier_scope(user), Carrier.id == next_id, Carrier.archived.is_(False)))
            if target is None:
                errors["next_carrier_id"] = _("请选择有效的目标载体")
            elif target.id == tenancy.carrier_id:
                errors["next_carrier_id"] = _("目标载体不能是当前载体")
        elif not note:
            errors["next_carrier_note"] = _("请填写拟转入的载体")
    if errors:
        raise FieldError(errors)
    if action == "graduate" or (action == "move_on" and basis and tenancy.status != "graduated"):
        _check_basis(tenancy.enterprise, basis, evidence, required=action == "graduate")
    proposal = StatusProposal(
        tenancy_id=tenancy.id, action=action, effective_on=effective,
        graduation_basis=basis if action != "exit" else None, evidence=evidence, reason=reason,
        next_carrier_id=next_id if action == "move_on" else None,
        next_carrier_note=note if action == "move_on" else None,
        status="pending", proposed_by_id=getattr(user, "id", None),
    )
    db.session.add(proposal)
    db.session.flush()
    audit.record("tenancy_proposal", proposal.id, "create",
                 audit.changed_fields({}, audit.snapshot(proposal, PROPOSAL_FIELDS)),
                 enterprise_id=tenancy.enterprise_id, actor_id=getattr(user, "id", None),
                 summary=f"提议{PROPOSAL_ACTIONS[action]}")
    return proposal


def may_decide(user: Any, proposal: StatusProposal | None = None) -> bool:
    """Bureau, zone staff (within scope) and admins decide; managers and viewers do not.

    Maker-checker: whoever proposed a change does not decide it, except an admin (the audit
    event then says so).
    """
    if getattr(user, "role", None) not in EDITOR_ROLES:
        return False
    if proposal is not None and _self_decided(proposal, user):
        return user.role == Role.ADMIN
    return True


def _self_decided(proposal: StatusProposal, user: Any) -> bool:
    return proposal.proposed_by_id is not None and proposal.proposed_by_id == getattr(
        user, "id", None)


def _require_pending(proposal: StatusProposal, user: Any) -> None:
    if not may_decide(user, proposal):
        raise PermissionError("only bureau staff other than the proposer decide on status changes")
    if proposal.status != "pending":
        raise FieldError({"status": _("该申请已处理，不能重复审核")})


def close_tenancy(
    tenancy: Tenancy,
    action: str,
    effective_on: date,
    *,
    graduation_basis: str | None = None,
    evidence: str | None = None,
    reason: str | None = None,
    source: str = "manual",
    official_list: bool = False,
    actor_id: int | None = None,
) -> Tenancy:
    """End a stay (graduate, exit, or the closing half of move_on) with its stage transition.

    The one way a tenancy is closed, whether a bureau officer approved a proposal or an
    official list says so (`official_list`: the list is the approval and the evidence, so the
    basis is recorded as listed rather than re-checked against our figures). The audit event
    names the channel (`source`) and whether an official list was the approval. Moving on
    writes no closing transition: opening the next stay records the move.
    """
    if action not in PROPOSAL_ACTIONS:
        raise FieldError({"action": _("请选择变更类型")})
    if tenancy.status != "incubating" and not (action == "move_on"
                                               and tenancy.status == "graduated"):
        raise FieldError({"status": (
            Message("该入驻记录已结束（%(status)s），不能再变更状态",
                    status=Message(TENANCY_STATUSES.get(tenancy.status, tenancy.status))))})
    if not isinstance(effective_on, date):
        raise FieldError({"effective_on": _("请填写生效日期")})
    if effective_on < tenancy.moved_in_on:
        raise FieldError({"effective_on": _("生效日期不能早于入驻日期")})
    reason, evidence = _clean_text(reason), _clean_text(evidence)
    if action == "exit" and not reason:
        raise FieldError({"reason": _("请填写退出原因")})
    basis = graduation_basis or None
    if basis and tenancy.status != "graduated":
        if official_list:
            if basis not in GRADUATION_BASES:
                raise FieldError({"graduation_basis": _("未知的毕业依据")})
        else:  # the data may have changed since a proposal: graduate on what holds today
            _check_basis(tenancy.enterprise, basis, evidence, required=True)
    elif action == "graduate":
        raise FieldError({"graduation_basis": _("请选择毕业依据")})
    before = audit.snapshot(tenancy, TENANCY_FIELDS)
    tenancy.status = ACTION_STATUS[action]
    if tenancy.ended_on is None:
        tenancy.ended_on = effective_on
    if basis and action != "exit":
        tenancy.graduation_basis = basis
        tenancy.graduation_evidence = evidence or tenancy.graduation_evidence
    tenancy.end_reason = reason or tenancy.end_reason
    db.session.flush()
    changes = audit.changed_fields(before, audit.snapshot(tenancy, TENANCY_FIELDS))
    changes["channel"] = [None, source]
    if official_list:
        changes["official_list"] = [None, True]
    how = {"proposal": "审核通过", "import": "导入名单"}.get(source, "登记")
    audit.record("tenancy", tenancy.id, "update", changes,
                 enterprise_id=tenancy.enterprise_id, actor_id=actor_id,
                 summary=f"{PROPOSAL_ACTIONS[action]}（{how}"
                         + ("，按官方名单批准" if official_list else "") + "）")
    if action != "move_on":
        _transition(tenancy.enterprise_id, tenancy.carrier.kind, tenancy.status,
                    tenancy.ended_on, source="import" if source == "import" else "tenancy",
                    tenancy_id=tenancy.id,
                    reason=reason or GRADUATION_BASES.get(basis or ""),
                    evidence=evidence or ("官方名单" if official_list else None),
                    actor_id=actor_id)
        db.session.flush()
    return tenancy


def _decision_changes(proposal: StatusProposal, user: Any, status: str) -> dict[str, list]:
    changes: dict[str, list] = {"status": ["pending", status]}
    if _self_decided(proposal, user):
        changes["self_decided"] = [None, True]  # an admin deciding their own proposal
    return changes


def approve(proposal: StatusProposal, *, user: Any, comment: str | None = None,
            next_carrier: Carrier | None = None, next_moved_in_on: date | None = None,
            expected_version: int | None = None) -> StatusProposal:
    """Apply an approved change: close the tenancy, record the move; open the next on move_on."""
    _require_pending(proposal, user)
    check_version(proposal, expected_version)
    tenancy = proposal.tenancy
    if tenancy.status != "incubating" and not (proposal.action == "move_on"
                                               and tenancy.status == "graduated"):
        raise FieldError({"status": _("该入驻记录已结束")})
    actor_id = getattr(user, "id", None)
    if proposal.action == "move_on":
        next_carrier = next_carrier or proposal.next_carrier
        if next_carrier is None:
            raise FieldError({"next_carrier_id": _("请选择转入的载体")})
        if next_carrier.id == tenancy.carrier_id:
            raise FieldError({"next_carrier_id": _("目标载体不能是当前载体")})
    close_tenancy(tenancy, proposal.action, proposal.effective_on,
                  graduation_basis=proposal.graduation_basis, evidence=proposal.evidence,
                  reason=proposal.reason, source="proposal", actor_id=actor_id)
    if proposal.action == "move_on":
        new = open_tenancy(tenancy.enterprise, next_carrier,
                           next_moved_in_on or proposal.effective_on, source="move_on",
                           previous=tenancy, actor_id=actor_id, user=user)
        proposal.new_tenancy_id = new.id
        proposal.next_carrier_id = next_carrier.id
        proposal.warnings = new.warnings
    else:
        proposal.warnings = []
    proposal.status = "approved"
    proposal.decided_by_id, proposal.decided_at = actor_id, now_utc()
    proposal.decision_comment = _clean_text(comment)
    db.session.flush()
    audit.record("tenancy_proposal", proposal.id, "approve",
                 _decision_changes(proposal, user, "approved"),
                 enterprise_id=tenancy.enterprise_id,
                 actor_id=actor_id, summary=proposal.decision_comment)
    return proposal


def reject(proposal: StatusProposal, *, user: Any, comment: str | None,
           expected_version: int | None = None) -> StatusProposal:
    """Turn a proposal down with the reason the manager will read; the tenancy is untouched."""
    _require_pending(proposal, user)
    check_version(proposal, expected_version)
    comment = _clean_text(comment)
    if not comment:
        raise FieldError({"comment": _("驳回时请填写意见，载体管理员将看到该意见")})
    proposal.status = "rejected"
    proposal.decided_by_id, proposal.decided_at = getattr(user, "id", None), now_utc()
    proposal.decision_comment = comment
    db.session.flush()
    audit.record("tenancy_proposal", proposal.id, "reject",
                 _decision_changes(proposal, user, "rejected"),
                 enterprise_id=proposal.tenancy.enterprise_id,
                 actor_id=getattr(user, "id", None), summary=comment)
    return proposal


def withdraw(proposal: StatusProposal, *, user: Any) -> StatusProposal:
    """The proposer takes a pending proposal back."""
    if proposal.status != "pending":
        raise FieldError({"status": _("只能撤回待审核的申请")})
    if proposal.proposed_by_id != getattr(user, "id", None) and not may_decide(user):
        raise PermissionError("only the proposer withdraws")
    proposal.status = "withdrawn"
    db.session.flush()
    audit.record("tenancy_proposal", proposal.id, "withdraw",
                 {"status": ["pending", "withdrawn"]},
                 enterprise_id=proposal.tenancy.enterprise_id, actor_id=getattr(user, "id", None))
    return proposal
