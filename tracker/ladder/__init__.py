"""Gradient-growth ladder: qualifications, the rules engine, applications and the board."""


def init_app(app):
    pass
