"""Gradient-growth ladder: qualifications, the rules engine, applications and the board."""


def init_app(app):
    from tracker import labels
    from tracker.dashboard import cards
    from tracker.enterprises import panels
    from tracker.ladder import models  # noqa: F401 - register the tables
    from tracker.ladder.cards import card_context
    from tracker.ladder.cli import eligibility_cli, ladder_cli
    from tracker.ladder.panel import panel_context
    from tracker.ladder.views import bp

    app.register_blueprint(bp)
    from tracker.ladder import gaps, wording

    app.jinja_env.globals.update(engine_result=wording.localise_result,
                                 engine_text=wording.localise, amount_text=wording.amount,
                                 near_line=gaps.near_miss_line, audit_summary=wording.audit_summary)
    app.cli.add_command(eligibility_cli)
    app.cli.add_command(ladder_cli)
    panels.register("ladder", 10, "ladder/_panel.html", panel_context)
    from functools import partial

    from tracker.dashboard import aggregates

    cards.register("ladder", 20, "ladder/_card.html",
                   partial(card_context, kept_candidates=aggregates.candidates), cacheable=True)
    from tracker.ladder import queries

    # the board's column counts from the dashboard's maintained firms per zone, rung and field
    queries.keep_firm_counts_from(partial(aggregates.read, measure="firms"))
    labels.AUDIT_LABELS.update({"local_threshold": "本地阈值", "ladder_batch": "梯度批次"})
    labels.ACTION_LABELS.update({"revoke": "撤销"})
    from tracker.ladder.models import APPLICATION_STATUSES, QUALIFICATION_STATUSES

    labels.register_values("status", APPLICATION_STATUSES, entity_type="application")
    labels.register_values("status", QUALIFICATION_STATUSES, entity_type="qualification")
    labels.FIELD_NAMES.update({
        "kind": "类型", "number": "编号", "granted_on": "认定日期", "valid_until": "有效期至",
        "batch": "批次", "revoked_on": "撤销日期", "revoked_reason": "撤销原因",
        "evidence_name": "证明文件", "source": "来源", "current_rung": "当前梯度",
        "year": "年度", "owner_id": "负责人", "deadline": "截止日期", "notes": "备注",
        "qualification_id": "资质",
    })
