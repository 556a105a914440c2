"""Incubation chain: carriers (maker spaces, incubators, parks) and their tenants."""


def init_app(app):
    from tracker.incubation import models  # noqa: F401 - register the tables
