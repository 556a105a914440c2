"""JSON endpoints; session-authenticated, scoped like every page."""

from flask import Blueprint, jsonify, request
from flask_login import current_user

from tracker.inputs import BadJson, json_body
from tracker.ladder.rules import FactsError

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _error(status: int, error: str, message: str, **extra):
    return jsonify({"error": error, "message": message, **extra}), status


@bp.post("/eligibility/evaluate")
def eligibility_evaluate():
    """eligibility.md over HTTP: 200 with the result, 422 with field errors."""
    from tracker.ladder.results import evaluate_facts

    if not current_user.is_authenticated:
        return _error(401, "unauthorized", "请先登录")
    if not request.is_json:
        return _error(415, "unsupported_media_type", "请求须为 Content-Type: application/json")
    try:
        facts = json_body()
    except BadJson as exc:
        if exc.too_deep:
            return _error(400, "bad_request", f"请求体嵌套过深：{exc}")
        return _error(422, "invalid_facts", "请求体不是有效的 JSON",
                      errors=[{"field": "", "message": str(exc)}])
    try:
        return jsonify(evaluate_facts(facts))
    except FactsError as exc:
        return _error(422, "invalid_facts", "事实数据有误", errors=exc.errors)
