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
    _register_labels()


def _register_labels() -> None:
    """Tenancy, proposal and carrier codes by their labels; carriers and stays by name."""
    from tracker import labels
    from tracker.extensions import db
    from tracker.incubation.models import (
        CARRIER_KINDS,
        CARRIER_SCHEMES,
        GRADUATION_BASES,
        PROPOSAL_ACTIONS,
        PROPOSAL_STATUSES,
        Carrier,
        Tenancy,
    )

    def carrier_name(carrier_id: int) -> str | None:
        carrier = db.session.get(Carrier, carrier_id)
        return carrier.name if carrier else None

    def stay_name(tenancy_id: int) -> str | None:
        stay = db.session.get(Tenancy, tenancy_id)
        return f"{stay.carrier.name} {stay.moved_in_on.isoformat()}" if stay else None

    labels.register_values("graduation_basis", GRADUATION_BASES)
    labels.register_values("status", PROPOSAL_STATUSES, entity_type="tenancy_proposal")
    labels.register_values("action", PROPOSAL_ACTIONS, entity_type="tenancy_proposal")
    labels.register_values("channel", labels.SOURCES, entity_type="tenancy")
    labels.register_values("kind", CARRIER_KINDS, entity_type="carrier")
    labels.register_values("scheme", CARRIER_SCHEMES)
    labels.register_reference("carrier_id", carrier_name)
    for field in ("tenancy_id", "previous_tenancy_id"):
        labels.register_reference(field, stay_name)
