"""Writing carriers: the carrier record with its field checks, audited."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from tracker.audit import services as audit
from tracker.enterprises.zones import ZONES
from tracker.errors import FieldError, check_version
from tracker.extensions import db
from tracker.incubation import criteria
from tracker.incubation.models import CARRIER_KINDS, CARRIER_SCHEMES, Carrier
from tracker.incubation.services.common import _clean_text

CARRIER_FIELDS = (
    "name", "kind", "scheme", "operator", "zone", "address", "area_m2", "workstations",
    "recognised_on", "default_term_months", "specialised", "archived",
)


def save_carrier(data: Mapping[str, Any], carrier: Carrier | None = None, *,
                 expected_version: int | None = None) -> Carrier:
    """Create or update a carrier record, refusing bad values with field-named messages."""
    values = {k: data[k] for k in CARRIER_FIELDS if k in data}
    for key in ("name", "operator", "address"):
        if key in values:
            values[key] = _clean_text(values[key])
    errors: dict[str, str] = {}
    if not values.get("name") and (carrier is None or "name" in values):
        errors["name"] = _("请填写载体名称")
    if ("kind" in values or carrier is None) and values.get("kind") not in CARRIER_KINDS:
        errors["kind"] = _("请选择载体类型")
    if values.get("zone") and values["zone"] not in ZONES:
        errors["zone"] = _("请选择所属区域")
    if values.get("scheme", "none") not in CARRIER_SCHEMES:
        errors["scheme"] = _("请选择认定体系")
    for key, label in (("area_m2", "孵化场地面积"), ("workstations", "创业工位数")):
        if values.get(key) is not None and values[key] < 0:
            errors[key] = _("%(label)s不能为负数", label=label)
    months = values.get("default_term_months")
    if months is not None and not 1 <= months <= 120:
        errors["default_term_months"] = _("默认孵化期限应在 1–120 个月之间")
    if "default_term_months" in values and months is None:
        values["default_term_months"] = criteria.ENTRY_RULES["max_term_months"]
    if values.get("name"):
        clash = select(Carrier.id).where(Carrier.name == values["name"])
        if carrier is not None:
            clash = clash.where(Carrier.id != carrier.id)
        if db.session.scalar(clash):
            errors["name"] = _("已有同名载体")
    if errors:
        raise FieldError(errors)
    if carrier is None:
        carrier = Carrier(**values)
        db.session.add(carrier)
        db.session.flush()
        audit.record("carrier", carrier.id, "create",
                     audit.changed_fields({}, audit.snapshot(carrier, CARRIER_FIELDS)),
                     summary=carrier.name)
        return carrier
    check_version(carrier, expected_version)
    changes = audit.apply_changes(carrier, values, CARRIER_FIELDS)
    if changes:
        db.session.flush()
        audit.record("carrier", carrier.id, "update", changes, summary=carrier.name)
    return carrier
