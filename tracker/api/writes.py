"""The API's one save edge: optimistic locks by ETag / If-Match, idempotent POSTs, one commit.

The API twin of forms_support.commit_or_report: the service flushes and raises FieldError or
StaleEdit; here the answer becomes 422 or 412 in the error shape. A POST with an
Idempotency-Key stores its first answer in the same transaction as what it created, so a retry
(or a racing twin, refused by the unique key at its commit) gets that answer again and never a
second record.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, TypeVar

from flask import g, jsonify, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from tracker.api.errors import ApiError
from tracker.api.models import IdempotencyKey
from tracker.errors import FieldError, StaleEdit
from tracker.extensions import db
from tracker.messages import Message

T = TypeVar("T")

#: the headers of a write, as the OpenAPI document states them (`@bp.doc(parameters=[...])`)
IF_MATCH = {"in": "header", "name": "If-Match", "required": True, "schema": {"type": "string"},
            "description": "the ETag of the GET this change is based on (412 stale, 428 missing)"}
IF_MATCH_ON_FILE = {**IF_MATCH, "required": False,
                    "description": "required when the record already exists (its ETag)"}
IDEMPOTENCY_KEY = {"in": "header", "name": "Idempotency-Key", "required": False,
                   "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                   "description": "a retry with the same key gets the first answer again"}
#: Location and ETag are replayed with the stored body
_REPLAYED_HEADERS = ("Location", "ETag")


def etag(record: Any) -> str:
    """The strong ETag of a versioned record: its version number, quoted."""
    return f'"{record.version}"'


def if_match_version(*, required: bool = True) -> int | None:
    """The version named by If-Match: 428 when missing (and required), 412 when unreadable."""
    header = (request.headers.get("If-Match") or "").strip()
    if not header:
        if not required:
            return None
        raise ApiError(428, "修改须带 If-Match 头：先 GET 该记录，把响应的 ETag 原样带回",
                       fields={"If-Match": "缺少"})
    value = header[2:] if header.startswith("W/") else header
    value = value.strip().strip('"')
    if not value.isdigit() or len(value) > 12:
        raise ApiError(412, "If-Match 不是该记录的 ETag（须为 GET 返回的版本号）",
                       fields={"If-Match": header[:40]})
    return int(value)


def _stale(current: int | None) -> ApiError:
    return ApiError(412, "该记录已被修改：请重新 GET 取得最新版本（ETag）后再提交",
                    fields={"If-Match": Message("当前版本 %(current)s", current=current)
                            if current is not None else "已过期"})


def _idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None or request.method != "POST" or g.get("api_token") is None:
        return None
    key = key.strip()
    if not key or len(key) > 255:
        raise ApiError(400, "Idempotency-Key 须为 1 至 255 个字符",
                       fields={"Idempotency-Key": "长度不符"})
    return key


def _request_hash() -> str:
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.path.encode(), request.get_data()):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _replay(key: str) -> Response | None:
    row = db.session.scalar(select(IdempotencyKey).where(
        IdempotencyKey.token_id == g.api_token.id, IdempotencyKey.key == key))
    if row is None:
        return None
    if row.request_hash != _request_hash():
        raise ApiError(422, "该 Idempotency-Key 已用于另一个请求", code="idempotency_key_reused",
                       fields={"Idempotency-Key": "已用于不同的请求"})
    response = jsonify(row.body)
    response.status_code = row.status
    for name, value in (row.headers or {}).items():
        response.headers[name] = value
    response.headers["Idempotent-Replayed"] = "true"
    return response


def commit_write(save: Callable[[], T],
                 respond: Callable[[T], tuple[dict[str, Any], int, dict[str, str]]], *,
                 current_version: Callable[[], int | None] | None = None) -> Response:
    """Run `save`, build the answer with `respond(result)`, remember it, commit once.

    FieldError -> 422 with its fields; StaleEdit (or a row changed under the flush) -> 412.
    """
    key = _idempotency_key()
    if key is not None:
        replayed = _replay(key)
        if replayed is not None:
            return replayed
    try:
        result = save()
        body, status, headers = respond(result)
        if key is not None:
            db.session.add(IdempotencyKey(
                token_id=g.api_token.id, key=key, request_hash=_request_hash(), status=status,
                body=body, headers={k: v for k, v in headers.items() if k in _REPLAYED_HEADERS}))
        db.session.commit()
    except StaleEdit as exc:
        db.session.rollback()
        raise _stale(exc.current_version) from None
    except StaleDataError:
        db.session.rollback()
        raise _stale(current_version() if current_version else None) from None
    except FieldError as exc:
        db.session.rollback()
        raise ApiError(422, "请求数据未通过校验", fields=exc.errors) from None
    except IntegrityError:
        db.session.rollback()
        if key is not None:  # the twin of this request committed first: answer as it did
            replayed = _replay(key)
            if replayed is not None:
                return replayed
        raise ApiError(409, "与已有记录冲突，请刷新后重试") from None
    response = jsonify(body)
    response.status_code = status
    for name, value in headers.items():
        response.headers[name] = value
    return response
