"""Qualifications: granting, correcting, revoking titles, their evidence and batch validity.

Each change rebuilds the firm's rung and dated history (services.history).
"""

from __future__ import annotations

import secrets
from datetime import date
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from tracker.audit import services as audit
from tracker.clock import today
from tracker.enterprises.models import Enterprise
from tracker.errors import check_version
from tracker.extensions import db
from tracker.ladder import validity
from tracker.ladder.models import LadderBatch, Qualification
from tracker.ladder.rules import KINDS
from tracker.ladder.services.common import QUALIFICATION_FIELDS, LadderError
from tracker.ladder.services.history import rebuild_ladder_history

#: evidence files: what we accept and how big (an official certificate scan is well below this)
EVIDENCE_TYPES = {
    "pdf": ("application/pdf", (b"%PDF-",)),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
}
DEFAULT_EVIDENCE_MAX_BYTES = 10 * 1024 * 1024




def batch_valid_until(kind: str, batch: str | None) -> date | None:
    """The admin-set valid-until of a Tianjin ladder batch, if any."""
    if kind not in validity.TIANJIN_KINDS or not batch:
        return None
    return db.session.scalar(
        select(LadderBatch.valid_until).where(LadderBatch.kind == kind, LadderBatch.batch == batch)
    )


def valid_until_for(kind: str, granted_on: date, batch: str | None) -> date | None:
    """The validity a title gets when its list or certificate does not print one."""
    return validity.default_valid_until(kind, granted_on, batch_valid_until(kind, batch))


def _clean_qualification(kind: str, number: str | None, granted_on: Any,
                         valid_until: Any) -> dict[str, str]:
    errors: dict[str, str] = {}
    if kind not in KINDS:
        errors["kind"] = _("请选择资质类型")
    if not isinstance(granted_on, date):
        errors["granted_on"] = _("请填写认定（发证）日期")
    elif granted_on > today():
        errors["granted_on"] = _("认定日期不能晚于今天")
    if isinstance(valid_until, date) and isinstance(granted_on, date) and valid_until < granted_on:
        errors["valid_until"] = _("有效期至不能早于认定日期")
    if number is not None and len(number) > 60:
        errors["number"] = _("编号过长（最多60个字符）")
    return errors


def grant_qualification(
    enterprise: Enterprise,
    kind: str,
    number: str | None,
    granted_on: date,
    valid_until: date | None = None,
    batch: str | None = None,
    source: str = "import",
    evidence: str | None = None,
    *,
    actor_id: int | None = None,
) -> Qualification:
    """Record a rung held (valid-until derived by kind unless given); audited, rung refreshed.

    Granting the same kind, number and date again returns the existing record unchanged, so
    re-running an import is harmless.

    `evidence` is a note for the stage transition (e.g. "2023年第一批高企认定名单"); the
    certificate file itself is attached with store_evidence().
    """
    number = (number or "").strip().upper() or None
    batch = (batch or "").strip() or None
    errors = _clean_qualification(kind, number, granted_on, valid_until)
    if errors:
        raise LadderError(errors)
    if number is not None:
        # The same official list imported twice must not hold the title twice.
        existing = db.session.scalar(select(Qualification).where(
            Qualification.enterprise_id == enterprise.id, Qualification.kind == kind,
            Qualification.number == number, Qualification.granted_on == granted_on))
        if existing is not None:
            return existing
    if valid_until is None:
        valid_until = valid_until_for(kind, granted_on, batch)
    qualification = Qualification(
        enterprise_id=enterprise.id, kind=kind, number=number, granted_on=granted_on,
        valid_until=valid_until, batch=batch, source=source,
    )
    db.session.add(qualification)
    db.session.flush()
    audit.record(
        "qualification", qualification.id, "create",
        audit.changed_fields({}, audit.snapshot(qualification, QUALIFICATION_FIELDS)),
        enterprise_id=enterprise.id, actor_id=actor_id,
        summary=f"{KINDS[kind]} {number or ''}".strip(),
    )
    rebuild_ladder_history(enterprise, source=source, cause=qualification, evidence=evidence,
                           actor_id=actor_id, reason=f"获得{KINDS[kind]}")
    return qualification


def update_qualification(
    qualification: Qualification, data: dict[str, Any], *, expected_version: int | None,
    actor_id: int | None = None, source: str = "manual", evidence: str | None = None,
) -> dict[str, list[Any]]:
    """Correct number, dates or batch; the rung and the dated history follow.

    `source` says through which channel the correction came (manual, import).
    """
    check_version(qualification, expected_version)
    values = {k: data[k] for k in ("number", "granted_on", "valid_until", "batch") if k in data}
    if "number" in values:
        values["number"] = (values["number"] or "").strip().upper() or None
    if "batch" in values:
        values["batch"] = (values["batch"] or "").strip() or None
    errors = _clean_qualification(
        qualification.kind, values.get("number", qualification.number),
        values.get("granted_on", qualification.granted_on),
        values.get("valid_until", qualification.valid_until),
    )
    if errors:
        raise LadderError(errors)
    if "valid_until" in values and values["valid_until"] is None:
        granted = values.get("granted_on", qualification.granted_on)
        values["valid_until"] = valid_until_for(
            qualification.kind, granted, values.get("batch", qualification.batch))
    changes = audit.apply_changes(qualification, values, QUALIFICATION_FIELDS)
    if changes:
        db.session.flush()
        enterprise = db.session.get(Enterprise, qualification.enterprise_id)
        audit.record("qualification", qualification.id, "update", changes,
                     enterprise_id=enterprise.id, actor_id=actor_id,
                     summary=KINDS[qualification.kind]
                     + ("（导入名单更正）" if source == "import" else ""))
        rebuild_ladder_history(enterprise, source=source, cause=qualification,
                               actor_id=actor_id, evidence=evidence,
                               reason=f"修改{KINDS[qualification.kind]}资质")
    return changes


def revoke_qualification(
    qualification: Qualification,
    revoked_on: date | None = None,
    reason: str = "",
    source: str = "manual",
    evidence: str | None = None,
    *,
    actor_id: int | None = None,
    expected_version: int | None = None,
    mistaken: bool = False,
) -> Qualification:
    """Record a revocation (撤销/取消) with why; audited, rung and history rebuilt.

    `mistaken`: the title was entered in error and never held, so it is revoked as of its
    grant day and leaves no stay on the ladder history.
    """
    check_version(qualification, expected_version)
    reason = (reason or "").strip()
    revoked_on = qualification.granted_on if mistaken else (revoked_on or today())
    errors = {}
    if not reason:
        errors["reason"] = _("请填写撤销原因")
    if qualification.revoked_on is not None:
        errors["revoked_on"] = _("该资质已撤销")
    elif revoked_on < qualification.granted_on:
        errors["revoked_on"] = _("撤销日期不能早于认定日期")
    if errors:
        raise LadderError(errors)
    qualification.revoked_on = revoked_on
    qualification.revoked_reason = reason
    qualification.revoked_by_id = actor_id if actor_id is not None else audit.current_actor_id()
    db.session.flush()
    enterprise = db.session.get(Enterprise, qualification.enterprise_id)
    audit.record(
        "qualification", qualification.id, "revoke",
        {"revoked_on": [None, revoked_on.isoformat()], "revoked_reason": [None, reason]},
        enterprise_id=enterprise.id, actor_id=actor_id, summary=KINDS[qualification.kind],
    )
    rebuild_ladder_history(enterprise, source="revocation" if source == "manual" else source,
                           cause=qualification, reason=reason, evidence=evidence,
                           actor_id=actor_id)
    return qualification


def _evidence_limit() -> int:
    return int(current_app.config.get("LADDER_EVIDENCE_MAX_BYTES", DEFAULT_EVIDENCE_MAX_BYTES))


def store_evidence(qualification: Qualification, filename: str, stream: Any,
                   *, actor_id: int | None = None) -> None:
    """Save a certificate scan (pdf/jpg/png, size-limited, content checked) under UPLOAD_DIR."""
    name = Path(filename or "").name
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in EVIDENCE_TYPES:
        raise LadderError({"evidence": _("证明文件只接受 PDF、JPG 或 PNG 格式")})
    limit = _evidence_limit()
    data = stream.read(limit + 1)
    if not data:
        raise LadderError({"evidence": _("证明文件为空")})
    if len(data) > limit:
        raise LadderError({"evidence": _("证明文件不能超过 %(limit)s MB",
                                         limit=limit // (1024 * 1024) or 1)})
    mime, magics = EVIDENCE_TYPES[ext]
    if not data.startswith(magics):
        raise LadderError({"evidence": _(
            "文件内容与扩展名不符，请上传真实的 PDF、JPG 或 PNG 文件")})
    relative = Path("qualifications") / str(qualification.id) / f"{secrets.token_hex(8)}.{ext}"
    target = Path(current_app.config["UPLOAD_DIR"]) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    before = qualification.evidence_name
    qualification.evidence_path = str(relative)
    qualification.evidence_name = name[:200]
    qualification.evidence_type = mime
    qualification.evidence_size = len(data)
    db.session.flush()
    audit.record("qualification", qualification.id, "update",
                 {"evidence_name": [before, qualification.evidence_name]},
                 enterprise_id=qualification.enterprise_id, actor_id=actor_id,
                 summary="上传证明文件")


def evidence_file(qualification: Qualification) -> Path | None:
    """Absolute path of the stored evidence, refusing anything outside UPLOAD_DIR."""
    if not qualification.evidence_path:
        return None
    root = Path(current_app.config["UPLOAD_DIR"]).resolve()
    path = (root / qualification.evidence_path).resolve()
    if root not in path.parents or not path.is_file():
        return None
    return path


def set_batch_validity(kind: str, batch: str, valid_until: date | None,
                       note: str | None = None, *, actor_id: int | None = None) -> int:
    """Admin sets a Tianjin batch's valid-until; its qualifications follow. Returns how many."""
    batch = (batch or "").strip()
    if kind not in validity.TIANJIN_KINDS:
        raise LadderError({"kind": _("只有天津市雏鹰、瞪羚、科技领军（培育）企业按批次设置有效期")})
    if not batch:
        raise LadderError({"batch": _("请填写批次")})
    row = db.session.scalar(select(LadderBatch).where(LadderBatch.kind == kind,
                                                      LadderBatch.batch == batch))
    if row is None:
        row = LadderBatch(kind=kind, batch=batch)
        db.session.add(row)
    changes = audit.apply_changes(row, {"valid_until": valid_until, "note": note},
                                  ("valid_until", "note"))
    db.session.flush()
    if changes:
        audit.record("ladder_batch", row.id, "update", changes, actor_id=actor_id,
                     summary=f"{KINDS[kind]} {batch}")
    quals = list(db.session.scalars(select(Qualification).where(
        Qualification.kind == kind, Qualification.batch == batch)))
    for q in quals:
        changes = audit.apply_changes(q, {"valid_until": valid_until}, ("valid_until",))
        if not changes:
            continue
        db.session.flush()
        audit.record("qualification", q.id, "update", changes,
                     enterprise_id=q.enterprise_id, actor_id=actor_id,
                     summary=f"批次有效期：{batch}")
        enterprise = db.session.get(Enterprise, q.enterprise_id)
        rebuild_ladder_history(enterprise, source="expiry", cause=q, actor_id=actor_id,
                               reason=f"{batch} 批次有效期调整")
    return len(quals)
