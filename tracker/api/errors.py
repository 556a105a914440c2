"""The one error shape of /api/v1: `{"error": {"code", "message", "fields"}}`.

Every refusal under /api/ comes out through `error_response`, whether a view, the token check,
the request parser (webargs) or Flask itself (404 for an unknown URL, 405) raised it.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.wrappers import Response

from tracker.messages import Message, render

#: status -> the stable machine-readable code clients branch on
CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 412: "precondition_failed",
    413: "too_large", 415: "unsupported_media_type", 422: "invalid", 428: "precondition_required",
    429: "rate_limited", 500: "server_error",
}


#: what Flask's own refusals say (an unknown URL, a record not there, a body too large …): its
#: descriptions are English-only; these go through the catalogue like every other API message
DEFAULT_MESSAGES = {
    400: "请求有误",
    401: "请先登录，或使用 API 令牌（Authorization: Bearer）",
    403: "您的角色无权进行此操作",
    404: "该地址或记录不存在",
    413: "请求体过大",
    415: "请求的内容类型不受支持",
    429: "请求过于频繁，请稍后再试。",
}


def is_api_path(path: str) -> bool:
    """/api and everything under it answers programs: JSON errors, never an HTML page."""
    return path == "/api" or path.startswith("/api/")


class ApiError(HTTPException):
    """Raised by API code to answer with the error shape (status, code, message, fields)."""

    def __init__(self, status: int, message: str, *, code: str | None = None,
                 fields: dict[str, Any] | None = None, headers: dict[str, str] | None = None):
        super().__init__(description=message)
        self.code = status
        self.error_code = code or CODES.get(status, "error")
        self.fields = fields or {}
        self.extra_headers = headers or {}


def _read(message: Any) -> Any:
    """A message in the caller's language (tracker.i18n picks it): a Message is already in
    it; plain text is looked up in the catalogue (exactly, or as a sentence it fills in)."""
    if isinstance(message, Message):
        return str(message)
    return render(message) if isinstance(message, str) else message


def error_response(status: int, message: str, *, code: str | None = None,
                   fields: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None) -> Response:
    response = jsonify({"error": {"code": code or CODES.get(status, "error"),
                                  "message": _read(message),
                                  "fields": {name: _read(text)
                                             for name, text in (fields or {}).items()}}})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _flatten(messages: Any) -> dict[str, Any]:
    """webargs' {location: {field: [msg]}} as {field: "msg; msg"} (nested names dotted)."""
    out: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            out[prefix or "_schema"] = "; ".join(value)
        else:
            out[prefix or "_schema"] = str(value)

    if isinstance(messages, dict):
        for location, fields in messages.items():
            if isinstance(fields, dict) and location in ("json", "query", "headers", "files",
                                                         "form", "path", "view_args"):
                walk("", fields)
            else:
                walk(str(location), fields)
    return out


def http_error_response(error: HTTPException) -> Response:
    """Any HTTPException raised under /api/ in the error shape."""
    status = error.code or 500
    if isinstance(error, ApiError):
        return error_response(status, error.description, code=error.error_code,
                              fields=error.fields, headers=error.extra_headers)
    data = getattr(error, "data", None) or {}
    fields = _flatten(data.get("messages") or data.get("errors") or {})
    message = data.get("message") or error.description or ""
    if status == 422 and fields and not data.get("message"):
        message = Message("请求数据有误")
    headers = dict(data.get("headers") or {})
    if isinstance(error, MethodNotAllowed):
        allowed = sorted(error.valid_methods or ())
        headers.setdefault("Allow", ", ".join(allowed))
        if not data.get("message") and error.description == type(error).description:
            message = Message("该地址不接受 %(method)s 请求，可用：%(allowed)s",
                              method=request.method, allowed=", ".join(allowed))
    elif not data.get("message") and error.description == type(error).description:
        message = DEFAULT_MESSAGES.get(status, message)  # werkzeug's own English wording
    if status == 429 and error.response is None and "Retry-After" not in headers:
        headers["Retry-After"] = "60"
    return error_response(status, message, fields=fields, headers=headers)


class ErrorBody(ma.Schema):
    code = ma.fields.String(required=True, metadata={"description": "stable error code"})
    message = ma.fields.String(required=True)
    fields = ma.fields.Dict(keys=ma.fields.String(), required=True,
                            metadata={"description": "field name -> what is wrong with it"})


class ErrorSchema(ma.Schema):
    """The one error document of the API (documentation; answers are built by error_response)."""

    error = ma.fields.Nested(ErrorBody, required=True)
