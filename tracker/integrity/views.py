"""The admin's view of the last invariant check: when, what was checked, what was wrong."""

from __future__ import annotations

from flask import Blueprint, render_template, url_for
from flask_babel import lazy_gettext as _l

from tracker.accounts.access import roles_required
from tracker.accounts.roles import Role
from tracker.integrity.services import last_run

bp = Blueprint("integrity", __name__, url_prefix="/admin/integrity")

#: what each invariant promises, for people (the names are for machines)
INVARIANT_LABELS = {
    "rung_matches_qualifications": _l("当前梯度与有效资质一致"),
    "ladder_history_matches_qualifications": _l("梯度历史与资质生效日期一致"),
    "transitions_ordered": _l("阶段变更按生效日期连续、无重叠"),
    "eligibility_fresh": _l("资格评估结果不早于所依据的数据（或已标记待重算）"),
    "tenancies_disjoint": _l("同一企业的入驻记录互不重叠"),
    "tenancy_moves_recorded": _l("每条入驻记录的入驻与毕业/退出均有阶段变更"),
    "reminders_not_stuck": _l("没有长时间停留在“发送中”的提醒"),
    "jobs_not_stuck": _l("没有长时间排队或处理中的导入任务"),
    "enterprise_in_zone": _l("每家企业都属于一个区域"),
}

#: where a subject kind is shown; anything else is listed without a link
SUBJECT_ENDPOINTS = {
    "enterprise": ("enterprises.detail", "enterprise_id"),
    "import_job": ("imports.job", "job_id"),
}


def subject_link(subject: str) -> str | None:
    """The page of a violation's subject ("enterprise:42"), when there is one."""
    kind, _sep, ident = subject.partition(":")
    target = SUBJECT_ENDPOINTS.get(kind)
    if target is None or not ident.isdigit():
        return None
    endpoint, arg = target
    return url_for(endpoint, **{arg: int(ident)})


@bp.get("/")
@roles_required(Role.ADMIN)
def last():
    return render_template("integrity/last.html", run=last_run(), labels=INVARIANT_LABELS,
                           subject_link=subject_link)
