"""The five roles of design.md and what each may do."""

from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l


class Role(StrEnum):
    ADMIN = "admin"
    BUREAU = "bureau"
    ZONE = "zone"
    CARRIER_MANAGER = "carrier_manager"
    VIEWER = "viewer"


ROLE_LABELS = {
    Role.ADMIN: _l("系统管理员"),
    Role.BUREAU: _l("区科技局"),
    Role.ZONE: _l("开发区/街镇"),
    Role.CARRIER_MANAGER: _l("载体管理员"),
    Role.VIEWER: _l("领导查看"),
}

#: roles that may change enterprise records, qualifications and applications
EDITOR_ROLES = frozenset({Role.ADMIN, Role.BUREAU, Role.ZONE})
#: roles that see every enterprise without a zone or carrier filter
GLOBAL_READ_ROLES = frozenset({Role.ADMIN, Role.BUREAU, Role.VIEWER})
