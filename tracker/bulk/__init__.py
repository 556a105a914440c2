"""Working with many firms at once: bulk actions on the list, likely duplicates, merge and undo."""

#: what a merge moves, by table, as the merge record page and the audit history name it
MOVED_LABELS = {
    "contacts": "联系人", "annual_metrics": "年度数据", "activities": "跟进记录",
    "qualifications": "资质", "applications": "申报", "tenancies": "入驻记录",
    "stage_transitions": "阶段变化", "reminders": "提醒", "reminder_outbox": "已发邮件",
    "reminder_filings": "报送记录", "audit_events": "审计记录", "merged_into_id": "并入企业",
}
#: audit actions this feature records
ACTION_LABELS = {"merge": "合并", "unmerge": "撤销合并", "export": "导出"}


def init_app(app):
    from tracker import labels
    from tracker.bulk import checks, models  # noqa: F401 - register the tables and invariant
    from tracker.bulk.views import bp

    labels.FIELD_NAMES.update(MOVED_LABELS)
    labels.ACTION_LABELS.update(ACTION_LABELS)
    app.register_blueprint(bp)
