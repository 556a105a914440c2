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


def editor_required(view):
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.can_edit:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def tenant_editor_required(view):
    """Contacts, yearly figures, activities, tenancies, reports: editors and carrier managers."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.can_edit_tenant_data:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def safe_next(target: str | None, default: str) -> str:
    """Only same-site relative paths are followed after login."""
    if not target:
        return default
    target = target.strip().replace("\\", "/")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target
