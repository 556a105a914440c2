"""Spreadsheet import and export."""


def init_app(app):
    pass
