"""The templates' `_` and tracker.i18n.gettext, which keep the request's catalogue, print what
Jinja's and Flask-Babel's own gettext print, and follow a locale switched mid-request."""

from __future__ import annotations

import pytest
from flask import render_template_string, session
from flask_babel import force_locale, get_locale, get_translations
from flask_babel import gettext as babel_gettext
from flask_babel import refresh as refresh_locale
from jinja2.ext import _make_new_gettext
from markupsafe import Markup

from tracker import i18n

MESSAGES = ["企业", "下一步：%(step)s", "共 %(n)s 家", "no such message <b>&", "100%%", "概览"]


def _jinja_gettext(app):
    """The gettext Flask-Babel installs through Jinja's i18n extension (what `_` called)."""
    return _make_new_gettext(lambda s: get_translations().ugettext(s))


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_template_underscore_prints_what_jinjas_gettext_printed(app, language):
    source = "{{ _(m, step='<i>x</i>', n=3) if '%(' in m else _(m) }}|{{ _(m, step='<b>', n=3) }}"
    plain = app.jinja_env.from_string(source)
    original = app.jinja_env.from_string(source.replace("_(", "g_("))
    with app.test_request_context():
        session["locale"] = language
        for message in MESSAGES:
            for _ in range(2):  # the second answer comes from the remembered text
                ours = plain.render(m=message)
                theirs = original.render(m=message, g_=_jinja_gettext(app))
                assert ours == theirs, message
        assert "<i>" not in plain.render(m="下一步：%(step)s")
        assert plain.render(m="100%%").startswith("100%|")  # variables still escaped
        # outside autoescaping the text is plain, as Jinja's was
        unescaped = app.jinja_env.overlay(autoescape=False).from_string("{{ _(m) }}")
        assert unescaped.render(m="a <b>") == "a <b>"


def test_python_gettext_is_flask_babels(app):
    with app.test_request_context():
        session["locale"] = "en"
        for message in MESSAGES:
            variables = {"step": "x", "n": 2} if "%(" in message else {}
            assert i18n.gettext(message, **variables) == babel_gettext(message, **variables)


def test_a_locale_switched_mid_request_is_seen_at_once(app):
    with app.test_request_context():
        session["locale"] = "zh_CN"
        assert i18n.gettext("企业") == "企业"
        assert str(render_template_string("{{ _('企业') }}")) == "企业"
        assert i18n.locale() is get_locale()
        with force_locale("en"):
            assert i18n.locale() is get_locale() and str(i18n.locale()) == "en"
            assert i18n.gettext("企业") == babel_gettext("企业") != "企业"
            assert render_template_string("{{ _('企业') }}") == babel_gettext("企业")
        assert i18n.gettext("企业") == "企业"
        session["locale"] = "en"  # what the language switch does, then refresh()
        refresh_locale()
        assert str(i18n.locale()) == "en" and i18n.locale() is get_locale()
        assert i18n.gettext("企业") == babel_gettext("企业") != "企业"
        assert render_template_string("{{ _('企业') }}") == babel_gettext("企业")


def test_each_request_chooses_its_own_catalogue(app):
    for language in ("en", "zh_CN", "en"):
        with app.test_request_context():
            session["locale"] = language
            assert i18n.translations() is get_translations()
            assert isinstance(render_template_string("{{ _('概览') }}"), Markup | str)
            expected = babel_gettext("概览")
            assert render_template_string("{{ _('概览') }}") == expected


def test_underscore_in_a_loop_or_block_copies_no_template_context(app, monkeypatch):
    """Jinja copies the whole template context for each call of a context function made in a
    loop, or in a block that set variables; `_` reads only whether output is escaped."""
    from jinja2.runtime import Context

    copies = []
    derived = Context.derived
    monkeypatch.setattr(Context, "derived", lambda self, *a, **k: copies.append(1)
                        or derived(self, *a, **k))
    source = ("{% for m in ms %}{% set n = loop.index %}{{ _(m) }}|{% endfor %}"
              "{% block b %}{% set w = 1 %}{% autoescape false %}{{ _(ms[0]) }}|{{ _(ms[1]) }}|"
              "{% endautoescape %}{% endblock %}")
    with app.test_request_context():
        session["locale"] = "en"
        out = app.jinja_env.from_string(source).render(ms=["企业", "a <b>"])
        english = babel_gettext("企业")
    assert english != "企业"
    assert out == f"{english}|a <b>|{english}|a <b>|"  # a catalogue's text is trusted markup
    assert copies == []
