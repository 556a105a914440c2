"""View decorators for role checks and the safe `next=` redirect."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit

from flask import abort
from flask_login import current_user, login_required


def roles_required(*roles: str):
    """Only these roles may call the view; others get 403 (the page exists, the right does not)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def _user_may(permission: str):
    """A decorator: the view needs a login and `current_user.<permission>`, else 403."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not getattr(current_user, permission):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


#: changing firms, qualifications and applications: editor roles only
editor_required = _user_may("can_edit")
#: contacts, yearly figures, activities, tenancies, reports: editors and carrier managers
tenant_editor_required = _user_may("can_edit_tenant_data")


def safe_next(target: str | None, default: str) -> str:
    """Only same-site relative paths are followed after login."""
    if not target:
        return default
    target = target.strip().replace("\\", "/")
    if any(ord(char) < 32 or ord(char) == 127 for char in target):
        return default  # CR/LF and friends would split the Location header
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target
