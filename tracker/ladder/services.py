"""Writing the ladder: qualifications, the derived rung with its transitions, applications.

Services flush; the caller (view, task, CLI, import) commits once. Every change is audited; what
follows a saved change (eligibility, reminders) is tracker.changes' pipeline.
"""

from __future__ import annotations

import secrets
from datetime import date
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from tracker.audit import services as audit
from tracker.clock import today
from tracker.enterprises.models import Enterprise
from tracker.errors import FieldError as FieldError  # re-exported for views
from tracker.errors import StaleEdit as StaleEdit
from tracker.errors import check_version
from tracker.extensions import db
from tracker.ladder import validity
from tracker.ladder.models import (
    APPLICATION_STATUSES,
    APPLICATION_TRANSITIONS,
    Application,
    LadderBatch,
    LocalThreshold,
    Qualification,
    StageTransition,
)
from tracker.ladder.rules import (
    KINDS,
    LOCAL_THRESHOLD_KEYS,
    LOCALLY_CONFIGURED_KINDS,
    ThresholdsError,
    _parse_thresholds,
)
from tracker.money import plain_number
from tracker.vocabulary import SOURCES

QUALIFICATION_FIELDS = (
    "kind", "number", "granted_on", "valid_until", "batch", "revoked_on", "revoked_reason",
    "evidence_name", "source",
)
APPLICATION_FIELDS = ("kind", "year", "batch", "status", "owner_id", "deadline", "notes",
                      "qualification_id")

#: evidence files: what we accept and how big (an official certificate scan is well below this)
EVIDENCE_TYPES = {
    "pdf": ("application/pdf", (b"%PDF-",)),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
}
DEFAULT_EVIDENCE_MAX_BYTES = 10 * 1024 * 1024


class LadderError(FieldError):
    """A qualification or application change refused, with a message per field."""


# --------------------------------------------------------------------------------------------
# The rung and its history
# --------------------------------------------------------------------------------------------


def qualifications_of(enterprise_id: int) -> list[Qualification]:
    """All qualifications of a firm, newest grant first."""
    return list(db.session.scalars(
        select(Qualification).where(Qualification.enterprise_id == enterprise_id)
        .order_by(Qualification.granted_on.desc(), Qualification.id.desc())
    ))


def qualifications_by_enterprise(enterprise_ids: list[int]) -> dict[int, list[Qualification]]:
    """The qualifications of many firms in one query (bulk recompute), keyed by firm id."""
    found: dict[int, list[Qualification]] = {i: [] for i in enterprise_ids}
    for q in db.session.scalars(select(Qualification).where(
            Qualification.enterprise_id.in_(enterprise_ids))):
        found[q.enterprise_id].append(q)
    return found


#: how a derived move is labelled when no caller explained it
_WHY_SOURCE = {"grant": "import", "expiry": "expiry", "revocation": "revocation"}


def _ladder_transitions(enterprise_id: int) -> list[StageTransition]:
    return list(db.session.scalars(
        select(StageTransition).where(StageTransition.enterprise_id == enterprise_id,
                                      StageTransition.chain == "ladder")
        .order_by(StageTransition.effective_on, StageTransition.id)))


def _step_text(effective_on: date, from_stage: str | None, to_stage: str | None) -> str:
    return f"{effective_on.isoformat()} {KINDS.get(from_stage, '无')}→{KINDS.get(to_stage, '无')}"


def _explained(step: validity.RungStep) -> tuple[str, str]:
    """A source and reason for a move nobody described (an expiry found by the nightly run)."""
    cause = step.cause
    label = KINDS.get(cause.kind, "") if cause is not None else ""
    if step.why == "revocation":
        return "revocation", f"撤销{label}" + (f"：{cause.revoked_reason}"
                                                if cause is not None and cause.revoked_reason
                                                else "")
    if step.why == "expiry":
        return "expiry", f"{label}有效期届满"
    source = cause.source if cause is not None and cause.source else _WHY_SOURCE["grant"]
    return source, f"获得{label}"


def rebuild_ladder_history(
    enterprise: Enterprise,
    *,
    source: str,
    on: date | None = None,
    cause: Qualification | None = None,
    reason: str | None = None,
    evidence: str | None = None,
    actor_id: int | None = None,
    qualifications: list[Qualification] | None = None,
) -> StageTransition | None:
    """Make the stored rung and ladder transitions equal the timeline the titles give.

    Called whenever a title is granted, corrected, revoked or runs out. A move that survives
    (same dates, or the same title's event re-dated) keeps who recorded it, why and the
    evidence; a move no title supports any more goes; the rebuild is audited. `source`,
    `reason`, `evidence` and `actor_id` describe new moves caused by `cause` (the title this
    call is about). Returns the newest move created, if any.
    """
    day = on or today()
    quals = qualifications if qualifications is not None else qualifications_of(enterprise.id)
    timeline = validity.rung_timeline(quals, day)
    stored = _ladder_transitions(enterprise.id)
    before = "；".join(_step_text(t.effective_on, t.from_stage, t.to_stage) for t in stored)
    unused = list(stored)
    kept: list[StageTransition] = []
    created: list[StageTransition] = []
    redated = False

    def take(match) -> StageTransition | None:
        found = next((t for t in unused if match(t)), None)
        if found is not None:
            unused.remove(found)
        return found

    for step in timeline:
        key = (step.effective_on, step.from_stage, step.to_stage)
        cause_id = step.cause.id if step.cause is not None else None
        row = take(lambda t, key=key: (t.effective_on, t.from_stage, t.to_stage) == key)
        if row is None and cause_id is not None:
            # the same title's event, re-dated or re-ordered: keep who and why
            row = take(lambda t, c=cause_id, s=step: t.qualification_id == c
                       and (t.to_stage == s.to_stage or t.from_stage == s.from_stage))
        if row is None:
            row = take(lambda t, s=step: (t.from_stage, t.to_stage) == (s.from_stage,
                                                                          s.to_stage))
        if row is not None:
            if (row.effective_on, row.from_stage, row.to_stage) != key:
                row.effective_on, row.from_stage, row.to_stage = key
                redated = True
            if row.qualification_id is None and cause_id is not None:
                row.qualification_id = cause_id
            kept.append(row)
            continue
        ours = cause is not None and step.cause is cause
        step_source, step_reason = _explained(step)
        row = StageTransition(
            enterprise_id=enterprise.id, chain="ladder", from_stage=step.from_stage,
            to_stage=step.to_stage, effective_on=step.effective_on,
            source=source if ours or step.cause is None else step_source,
            reason=(reason or step_reason) if ours else step_reason,
            evidence=evidence if ours else None, qualification_id=cause_id,
            actor_id=actor_id if actor_id is not None else audit.current_actor_id(),
        )
        db.session.add(row)
        created.append(row)
    for gone in unused:
        db.session.delete(gone)
    old, new = enterprise.current_rung, timeline[-1].to_stage if timeline else None
    enterprise.current_rung = new
    if not (created or unused or redated or old != new):
        return None
    db.session.flush()
    changes: dict[str, list[Any]] = {}
    if old != new:
        changes["current_rung"] = [old, new]
    if created or unused or redated:
        changes["ladder_history"] = [
            before or None,
            "；".join(_step_text(st.effective_on, st.from_stage, st.to_stage)
                     for st in timeline) or None,
        ]
    how = SOURCES.get(source, source)
    summary = (f"梯度：{KINDS.get(old, '无')} → {KINDS.get(new, '无')}（{how}）" if old != new
               else f"梯度历程按资质日期重排（{how}）")
    audit.record("enterprise", enterprise.id, "transition", changes,
                 enterprise_id=enterprise.id,
                 actor_id=actor_id if actor_id is not None else audit.current_actor_id(),
                 summary=summary)
    return created[-1] if created else None


def refresh_rung(
    enterprise: Enterprise,
    *,
    source: str,
    on: date | None = None,
    cause: Qualification | None = None,
    reason: str | None = None,
    evidence: str | None = None,
    actor_id: int | None = None,
    qualifications: list[Qualification] | None = None,
) -> StageTransition | None:
    """Re-derive the cached rung from valid qualifications; rebuild the history if it moved.

    The nightly run calls this for every firm: when the rung has not moved no title event
    happened today, so the stored history (rebuilt at the last event) still holds.
    `qualifications` may be passed when already loaded (the nightly run loads a chunk at once).
    """
    day = on or today()
    quals = qualifications if qualifications is not None else qualifications_of(enterprise.id)
    if validity.rung_on(quals, day) == enterprise.current_rung:
        return None
    return rebuild_ladder_history(enterprise, source=source, on=day, cause=cause, reason=reason,
                                  evidence=evidence, actor_id=actor_id, qualifications=quals)


def transition_order_problems(enterprise_id: int, on: date | None = None) -> list[str]:
    """What is wrong with a firm's stored ladder history; empty when it is sound.

    Sound means: moves ordered by effective date, one per day at most, each starting where the
    previous one ended, equal to the timeline the qualifications give on `on` (default today),
    and ending on the stored current rung. For the invariant checker; reads only.
    """
    return transition_order_problems_many([enterprise_id], on)[enterprise_id]


def transition_order_problems_many(enterprise_ids: list[int], on: date | None = None
                                   ) -> dict[int, list[str]]:
    """transition_order_problems for many firms in three queries (the nightly check)."""
    day = on or today()
    moves: dict[int, list[StageTransition]] = {i: [] for i in enterprise_ids}
    for t in db.session.scalars(
            select(StageTransition).where(StageTransition.enterprise_id.in_(enterprise_ids),
                                          StageTransition.chain == "ladder")
            .order_by(StageTransition.effective_on, StageTransition.id)):
        moves[t.enterprise_id].append(t)
    quals = qualifications_by_enterprise(enterprise_ids)
    rungs = dict(db.session.execute(select(Enterprise.id, Enterprise.current_rung)
                                    .where(Enterprise.id.in_(enterprise_ids))).all())
    return {i: _order_problems(moves[i], quals[i], rungs.get(i), day) for i in enterprise_ids}


def _order_problems(stored: list[StageTransition], quals: list[Qualification],
                    rung: str | None, day: date) -> list[str]:
    problems: list[str] = []
    previous: StageTransition | None = None
    for t in stored:
        if previous is not None:
            if t.effective_on == previous.effective_on:
                problems.append(f"两次梯度变化同日（{t.effective_on.isoformat()}）：停留为零天")
            if t.from_stage != previous.to_stage:
                problems.append(f"{_step_text(t.effective_on, t.from_stage, t.to_stage)} 未接上"
                                f"前一次变化（{previous.to_stage or '无'}）")
        elif t.from_stage is not None:
            problems.append(f"{_step_text(t.effective_on, t.from_stage, t.to_stage)} 是第一条，"
                            "却不是从无梯度开始")
        previous = t
    derived = [(s.effective_on, s.from_stage, s.to_stage)
               for s in validity.rung_timeline(quals, day)]
    actual = [(t.effective_on, t.from_stage, t.to_stage) for t in stored]
    if actual != derived:
        problems.append("梯度历程与资质日期不符：记录为 "
                        + ("；".join(_step_text(*a) for a in actual) or "无")
                        + "，按资质应为 " + ("；".join(_step_text(*d) for d in derived) or "无"))
    expected = derived[-1][2] if derived else None
    if rung != expected:
        problems.append(f"current_rung 为 {rung or '无'}，按有效资质应为 {expected or '无'}")
    return problems


def rebuild_all_histories(*, chunk: int = 500, actor_id: int | None = None) -> int:
    """Rebuild every firm's ladder history whose stored moves disagree with its titles.

    For histories written before moves were dated by the titles (typed-in order). Flushes per
    chunk; the caller commits. Returns how many firms were rebuilt.
    """
    ids = list(db.session.scalars(select(Enterprise.id).order_by(Enterprise.id)))
    rebuilt = 0
    for start in range(0, len(ids), chunk):
        part = ids[start:start + chunk]
        problems = transition_order_problems_many(part)
        quals = qualifications_by_enterprise(part)
        for enterprise_id in (i for i in part if problems[i]):
            enterprise = db.session.get(Enterprise, enterprise_id)
            rebuild_ladder_history(enterprise, source="manual", actor_id=actor_id,
                                   qualifications=quals[enterprise_id],
                                   reason="按资质日期重建梯度历程")
            rebuilt += 1
        db.session.flush()
    return rebuilt


def ladder_history(enterprise_id: int, on: date | None = None) -> list[dict[str, Any]]:
    """Rung transitions oldest first, each with the days spent on the rung it moved to."""
    transitions = list(db.session.scalars(
        select(StageTransition).where(StageTransition.enterprise_id == enterprise_id,
                                      StageTransition.chain == "ladder")
        .options(joinedload(StageTransition.actor))
    ))
    return validity.time_on_rungs(transitions, on or today())


# --------------------------------------------------------------------------------------------
# Qualifications
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Local thresholds for 瞪羚 / 科技领军(培育)
# --------------------------------------------------------------------------------------------


def local_thresholds() -> dict[str, dict[str, Any]]:
    """The admin-entered thresholds, in the shape rules.evaluate(local_thresholds=) takes."""
    rows = db.session.scalars(select(LocalThreshold))
    return {row.kind: dict(row.values) for row in rows if row.values}


def save_local_thresholds(kind: str, values: dict[str, Any], *, actor_id: int | None = None,
                          expected_version: int | None = None) -> LocalThreshold:
    """Store one rung's local thresholds (checked by the engine's own parser); audited."""
    if kind not in LOCALLY_CONFIGURED_KINDS:
        raise LadderError({"kind": _("该类型有官方阈值，不能本地配置")})
    clean = {k: plain_number(v) for k, v in values.items()
             if k in LOCAL_THRESHOLD_KEYS and v not in (None, "")}
    try:
        _parse_thresholds({kind: clean})
    except ThresholdsError as exc:
        raise LadderError({e["field"].rsplit(".", 1)[-1]: e["message"] for e in exc.errors}
                          ) from exc
    row = db.session.scalar(select(LocalThreshold).where(LocalThreshold.kind == kind))
    before: dict[str, Any] = {}
    if row is None:
        row = LocalThreshold(kind=kind, values={})
        db.session.add(row)
    else:
        check_version(row, expected_version)
        before = dict(row.values)
    row.values = clean
    row.updated_by_id = actor_id if actor_id is not None else audit.current_actor_id()
    db.session.flush()
    changes = audit.changed_fields(before, clean)
    changes.update({k: [v, None] for k, v in before.items() if k not in clean})
    if changes:
        audit.record("local_threshold", row.id, "update", changes, actor_id=actor_id,
                     summary=f"{KINDS[kind]} 本地阈值")
    return row


# --------------------------------------------------------------------------------------------
# Applications (申报)
# --------------------------------------------------------------------------------------------


def create_application(enterprise: Enterprise, data: dict[str, Any], *,
                       actor_id: int | None = None) -> Application:
    """Open a bid for a rung in a year and batch; audited."""
    errors = {}
    if data.get("kind") not in KINDS:
        errors["kind"] = _("请选择申报类型")
    year = data.get("year")
    if not isinstance(year, int) or not 2000 <= year <= today().year + 1:
        errors["year"] = _("申报年度应在 2000–%(latest)s 之间", latest=today().year + 1)
    if errors:
        raise LadderError(errors)
    application = Application(
        enterprise_id=enterprise.id, kind=data["kind"], year=year,
        batch=(data.get("batch") or "").strip() or None, status="planned",
        owner_id=data.get("owner_id"), deadline=data.get("deadline"),
        notes=(data.get("notes") or "").strip() or None,
    )
    db.session.add(application)
    db.session.flush()
    audit.record("application", application.id, "create",
                 audit.changed_fields({}, audit.snapshot(application, APPLICATION_FIELDS)),
                 enterprise_id=enterprise.id, actor_id=actor_id,
                 summary=f"{year} {KINDS[application.kind]}")
    return application


def update_application(application: Application, data: dict[str, Any], *,
                       expected_version: int | None = None,
                       actor_id: int | None = None) -> dict[str, list[Any]]:
    """Change batch, owner, deadline or notes (status moves go through move_application)."""
    check_version(application, expected_version)
    values = {k: data[k] for k in ("batch", "owner_id", "deadline", "notes") if k in data}
    for key in ("batch", "notes"):
        if key in values:
            values[key] = (values[key] or "").strip() or None
    changes = audit.apply_changes(application, values, APPLICATION_FIELDS)
    if changes:
        db.session.flush()
        audit.record("application", application.id, "update", changes,
                     enterprise_id=application.enterprise_id, actor_id=actor_id,
                     summary=f"{application.year} {KINDS[application.kind]}")
    return changes


def year_and_batch(year: int, batch: str | None) -> str:
    """"2026年第二批" from year 2026 and batch "第二批" or "2026年第二批" (the year said once)."""
    batch = (batch or "").strip()
    return batch if batch.startswith(str(year)) else f"{year}年{batch}"


def allowed_moves(application: Application) -> tuple[str, ...]:
    """Statuses this application may move to next."""
    return APPLICATION_TRANSITIONS.get(application.status, ())


def move_application(
    application: Application,
    to_status: str,
    *,
    expected_version: int | None = None,
    actor_id: int | None = None,
    note: str | None = None,
    number: str | None = None,
    granted_on: date | None = None,
    valid_until: date | None = None,
) -> Application:
    """Move along the pipeline; approving creates the qualification in the same step."""
    check_version(application, expected_version)
    if to_status not in APPLICATION_STATUSES:
        raise LadderError({"status": _("未知的申报状态")})
    if to_status not in allowed_moves(application):
        raise LadderError({"status": (
            _("不能从「%(old)s」变为「%(new)s」", old=_(APPLICATION_STATUSES[application.status]),
              new=_(APPLICATION_STATUSES[to_status])))})
    old = application.status
    enterprise = db.session.get(Enterprise, application.enterprise_id)
    changes: dict[str, list[Any]] = {"status": [old, to_status]}
    if to_status == "approved":
        qualification = grant_qualification(
            enterprise, application.kind, number, granted_on or today(), valid_until,
            application.batch, source="application", actor_id=actor_id,
            evidence=f"申报 #{application.id}"
                     f"（{year_and_batch(application.year, application.batch)}）",
        )
        application.qualification_id = qualification.id
        changes["qualification_id"] = [None, qualification.id]
    application.status = to_status
    if note:
        application.notes = ((application.notes or "") + f"\n{today().isoformat()} {note}").strip()
    db.session.flush()
    action = {"approved": "approve", "rejected": "reject"}.get(to_status, "update")
    audit.record("application", application.id, action, changes,
                 enterprise_id=enterprise.id, actor_id=actor_id,
                 summary=f"{KINDS[application.kind]}：{APPLICATION_STATUSES[old]} → "
                         f"{APPLICATION_STATUSES[to_status]}" + (f"（{note}）" if note else ""))
    return application
