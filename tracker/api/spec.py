"""The API's one library: flask-smorest builds the OpenAPI 3.1 document from the marshmallow
schemas that also parse every request; its error handler answers in our error shape."""

from __future__ import annotations

from flask import Flask, request
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from tracker.api.errors import ErrorSchema, http_error_response, is_api_path

#: the document's security scheme: every operation but the spec accepts a personal token
SECURITY_SCHEMES = {
    "bearerAuth": {"type": "http", "scheme": "bearer",
                   "description": "个人 API 令牌（账号页或 `flask tokens create` 生成）"},
    "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "session",
                      "description": "本系统页面的登录会话：只可读，不可写"},
}


class TrackerApi(Api):
    """flask-smorest's Api with our error shape, and the HTML error pages left alone."""

    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error: HTTPException):
        if is_api_path(request.path):
            return http_error_response(error)
        return error  # what Flask does without a handler: its own plain error page


api = TrackerApi()


def init_app(app: Flask) -> None:
    app.config.setdefault("API_TITLE", "Innovation Pipeline Tracker API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("API_SPEC_OPTIONS", {
        "info": {"description": (
            "科技型企业培育跟踪系统的 API。认证：`Authorization: Bearer <令牌>`；"
            "错误统一为 `{\"error\": {\"code\", \"message\", \"fields\"}}`；"
            "修改须带 `If-Match`（GET 返回的 ETag）；POST 可带 `Idempotency-Key`。")},
        "security": [{"bearerAuth": []}, {"sessionCookie": []}],
        "components": {"securitySchemes": SECURITY_SCHEMES},
    })
    api.init_app(app)
