"""The data step of c290763cc647: stored full results become the compact form recompute writes."""

from __future__ import annotations

import json

from sqlalchemy import select

from tests.migration_support import fill, upgrade_with_rows
from tracker.ladder.results import compact

FULL = {
    "kind": "hnte", "label": "高新技术企业", "rule_version": "国科发火〔2016〕32号",
    "verdict": "ineligible", "score": 62, "track": "score",
    "criteria": [
        {"code": "registered_one_year", "status": "pass", "label": "注册成立一年以上",
         "source": "第十一条(一)", "actual": "2018-05-01", "gap": None},
        {"code": "rd_ratio", "status": "fail", "label": "研究开发费用占比",
         "source": "第十一条(五)", "actual": 2.1, "gap": 0.9},
        {"code": "core_ip", "status": "unknown", "label": "核心知识产权", "source": "第十一条(二)"},
        {"code": "high_tech_income_ratio", "status": "fail", "label": "高新收入占比",
         "source": "第十一条(六)", "actual": 41.0, "gap": 19.0},
    ],
}
BROKEN = {"kind": "hnte", "label": "高新技术企业", "rule_version": None,
          "verdict": "insufficient_data", "score": None, "track": None, "criteria": [],
          "errors": [{"field": "years.2025.high_tech_income", "message": "大于总收入"}]}


def _rows(t):
    yield fill(t["enterprises"], id=1, uscc="1" * 18, name="天津北洋能源科技有限公司",
               zone="hitech")
    for i, result in enumerate([FULL, BROKEN, compact(FULL)], 1):
        yield fill(t["eligibility_results"], id=i, enterprise_id=1, kind=f"k{i}",
                   verdict=result.get("verdict", "ineligible"), result=result,
                   failed_count=0, candidate=False)


def _read(conn, t):
    rows = conn.execute(select(t["eligibility_results"].c.result)
                        .order_by(t["eligibility_results"].c.id)).scalars().all()
    return [json.loads(r) if isinstance(r, str) else r for r in rows]


def test_upgrade_stores_the_compact_results(tmp_path):
    stored = upgrade_with_rows(tmp_path, "80f5790c19eb", _rows, _read, end="c290763cc647")
    assert stored == [compact(FULL), compact(BROKEN), compact(FULL)]
    assert stored[0] == {"rule_version": "国科发火〔2016〕32号", "track": "score",
                         "failed": ["rd_ratio", "high_tech_income_ratio"]}
    assert stored[1]["errors"][0]["field"] == "years.2025.high_tech_income"
    assert all(len(json.dumps(r, ensure_ascii=False).encode()) < 300 for r in stored[::2])
