"""Gradient-growth ladder: qualifications, the rules engine, applications and the board."""


def init_app(app):
    from tracker.ladder import models  # noqa: F401 - register the tables
