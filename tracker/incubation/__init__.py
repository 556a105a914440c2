"""Incubation chain: carriers (maker spaces, incubators, parks) and their tenants."""


def init_app(app):
    from tracker import labels
    from tracker.dashboard import cards
    from tracker.enterprises import panels
    from tracker.incubation import models  # noqa: F401 - register the tables
    from tracker.incubation.cli import incubation_cli
    from tracker.incubation.models import FIELD_NAMES
    from tracker.incubation.panels import card_context, chain_context
    from tracker.incubation.views import bp, incubation_labels

    app.register_blueprint(bp)
    app.context_processor(incubation_labels)
    app.cli.add_command(incubation_cli)
    panels.register("incubation_chain", 30, "incubation/_panel.html", chain_context)
    cards.register("incubation", 30, "incubation/_card.html", card_context, cacheable=True)
    labels.AUDIT_LABELS.update({"tenancy_proposal": "状态变更申请",
                                "tenant_report": "在孵企业报送",
                                "reporting_cycle": "报送周期"})
    labels.ACTION_LABELS.update({"withdraw": "撤回"})
    labels.FIELD_NAMES.update(FIELD_NAMES)
