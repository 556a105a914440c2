"""Who is calling the API: a personal token (Bearer) or, for reads only, the page's session.

Runs before every /api/ request. A token replaces any session cookie for that request; writes
need a token (a cookie could be replayed by another site's form, and a system should not act
as a person's browser); a read-only token writes nothing; each token has a rate limit.
"""

from __future__ import annotations

import threading

from flask import Flask, current_app, g, request
from flask_login import current_user
from sqlalchemy import update

from tracker.accounts import api_tokens
from tracker.accounts.models import UserToken
from tracker.api.errors import ApiError
from tracker.clock import now_utc
from tracker.extensions import db
from tracker.messages import Message

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: POST endpoints that compute and store nothing: a page's session may call them
READ_ONLY_POSTS = frozenset({"api.eligibility_evaluate"})
#: served to anyone: the document and its viewer describe the API, they hold no data
PUBLIC_ENDPOINTS = frozenset({"api-docs.openapi_json", "api_docs_page.docs"})

_BEARER = 'Bearer realm="tracker-api"'


def _refuse_token(message: str) -> ApiError:
    return ApiError(401, message, headers={"WWW-Authenticate": f'{_BEARER}, error="invalid_token"'})


def _token_from_header() -> str | None:
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise _refuse_token("Authorization 头须为 Bearer <令牌>")
    return value.strip()


def is_write() -> bool:
    return request.method not in SAFE_METHODS and request.endpoint not in READ_ONLY_POSTS


def _record_use(row: UserToken) -> None:
    """Write the token's last use in a transaction of its own, begun by that write.

    On SQLite a GET's transaction begins deferred (it never waits for a writer), and once it
    has read, a write fails at once if another connection committed since ("database is
    locked", extensions.configure_sqlite); an UPDATE that begins a transaction waits for the
    lock like any writer. So the lookup's transaction ends first, with nothing written.
    """
    row_id, used_at = row.id, row.last_used_at
    db.session.expire(row, ["last_used_at"])  # not flushed by the commit that ends the read
    db.session.commit()
    db.session.execute(update(UserToken).where(UserToken.id == row_id)
                       .values(last_used_at=used_at)
                       .execution_options(synchronize_session=False))
    db.session.commit()


def authenticate() -> None:
    """The before-request hook for /api/: token, cookie rules, read-only tokens, rate limit."""
    g.api_token = None
    if not request.path.startswith("/api/") or request.endpoint in PUBLIC_ENDPOINTS:
        return
    token = _token_from_header()
    if token is not None:
        found = api_tokens.authenticate(token)
        if found is None:
            db.session.rollback()
            raise _refuse_token("API 令牌无效、已过期或已吊销")
        user, row = found
        if db.session.is_modified(row):
            _record_use(row)  # last_used_at, at most once a minute
        g._login_user = user  # Flask-Login's per-request user: the token's owner
        g.api_token = row
        check_rate(row.key[:32])
    if not current_user.is_authenticated:
        raise ApiError(401, "请先登录，或使用 API 令牌（Authorization: Bearer）",
                       headers={"WWW-Authenticate": _BEARER})
    if is_write():
        if g.api_token is None:
            raise ApiError(403, "写入须使用 API 令牌（Authorization: Bearer），不接受登录会话",
                           code="token_required")
        if g.api_token.read_only:
            raise ApiError(403, "只读令牌不能写入", code="read_only_token")


# -- rate limit: a fixed window per token -----------------------------------------------------

_local_lock = threading.Lock()
_local_counts: dict[tuple[str, int], int] = {}
_redis_clients: dict[str, object] = {}


def _redis(url: str):
    client = _redis_clients.get(url)
    if client is None:
        import redis

        client = _redis_clients.setdefault(url, redis.Redis.from_url(
            url, socket_timeout=1, socket_connect_timeout=1))
    return client


def _count(token_id: str, slot: int, window: int) -> int:
    url = current_app.config.get("API_RATE_REDIS_URL") or current_app.config.get("REDIS_URL")
    if url:
        key = f"tracker:api-rate:{token_id}:{slot}"
        pipe = _redis(url).pipeline()
        pipe.incr(key)
        pipe.expire(key, window + 1)
        count, _ = pipe.execute()
        return int(count)
    with _local_lock:
        for old in [k for k in _local_counts if k[1] < slot]:
            del _local_counts[old]
        _local_counts[(token_id, slot)] = _local_counts.get((token_id, slot), 0) + 1
        return _local_counts[(token_id, slot)]


def check_rate(token_id: str) -> None:
    """At most API_RATE_LIMIT requests per token per window; 429 with Retry-After beyond.

    The token is named by the start of its stored hash, never reused the way a row id
    (rolled back, or deleted on SQLite) can be.
    """
    limit = int(current_app.config.get("API_RATE_LIMIT", 600))
    window = max(int(current_app.config.get("API_RATE_WINDOW_SECONDS", 60)), 1)
    if limit <= 0:
        return
    now = now_utc().timestamp()
    slot = int(now // window)
    if _count(token_id, slot, window) > limit:
        retry = max(int((slot + 1) * window - now) + 1, 1)
        raise ApiError(429, Message("请求过于频繁：每个令牌每 %(window)s 秒最多 %(limit)s 次",
                                    window=window, limit=limit),
                       headers={"Retry-After": str(retry)})


def init_app(app: Flask) -> None:
    app.before_request(authenticate)
