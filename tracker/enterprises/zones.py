"""Binhai New Area sub-areas (domain.md §5.1) and the eight HNTE technology fields (§2.1)."""

from __future__ import annotations

from flask_babel import gettext

from tracker.ladder import rules

#: code -> (short Chinese name, full Chinese name); order is the bureau's reporting order
ZONES: dict[str, tuple[str, str]] = {
    "teda": ("经开区", "天津经济技术开发区"),
    "bonded": ("保税区", "天津港保税区"),
    "hitech": ("高新区", "滨海高新技术产业开发区"),
    "dongjiang": ("东疆", "东疆综合保税区"),
    "ecocity": ("生态城", "中新天津生态城"),
    "towns": ("其他街镇", "其他街镇"),
}

#: the eight HNTE fields (国科发火〔2016〕32号), defined once beside the rules
TECH_FIELDS = rules.TECH_FIELDS


def zone_label(code: str | None) -> str:
    return gettext(ZONES[code][0]) if code in ZONES else "—"


def field_label(code: str | None) -> str:
    return gettext(TECH_FIELDS[code]) if code in TECH_FIELDS else "—"


def zone_from_text(text: str | None) -> str | None:
    """Accept a code, a short name or a full name; None when nothing matches."""
    value = (text or "").strip()
    if not value:
        return None
    for code, (short, full) in ZONES.items():
        if value in (code, short, full):
            return code
    return None
