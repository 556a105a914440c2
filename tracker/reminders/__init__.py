"""Reminders: rules, the sweep, delivery over SMTP and the ledger."""


def init_app(app):
    pass
