"""Translation catalogues (each feature may keep its own under <feature>/translations), and
the gettext templates and hot Python paths call.

Flask-Babel finds the request's catalogue anew on each call (the domain, the locale and the
catalogue cache through several context-local lookups): ~30 µs, and a list page calls it a few
hundred times. `translations()` keeps what it found on Flask-Babel's own per-request namespace
and reuses it while the request's locale and domain are the same objects (refresh() and
force_locale() replace them, so a switch is seen at once); the template's `_` also remembers
each message's escaped text on the catalogue (Flask-Babel loads a catalogue once per app and
locale and never changes it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import g
from flask.globals import _cv_app
from flask_babel import get_locale, get_translations
from jinja2 import pass_eval_context
from markupsafe import Markup

PACKAGE = Path(__file__).resolve().parent


#: Accept-Language tags the catalogues answer -> the locale (Chinese is the source language)
ACCEPTED = {"zh-CN": "zh_CN", "zh": "zh_CN", "en": "en"}


def accepted_locale(accept_languages: Any) -> str | None:
    """The locale a request's Accept-Language prefers among ours (None: none of ours, or no
    header). Werkzeug matches a region to its language: en-GB is en, zh-TW is zh."""
    match = accept_languages.best_match(list(ACCEPTED)) if accept_languages else None
    return ACCEPTED.get(match) if match else None


def translation_directories() -> list[str]:
    """Feature catalogues first, the main one last: Flask-Babel lets later ones win."""
    dirs = [*sorted(PACKAGE.glob("*/translations")), PACKAGE / "translations"]
    return [str(d) for d in dirs if d.is_dir()]


def compile_catalogs() -> int:
    """Compile every .po whose .mo is missing or older; returns how many were written."""
    written = 0
    for directory in translation_directories():
        for po_path in Path(directory).glob("*/LC_MESSAGES/*.po"):
            mo_path = po_path.with_suffix(".mo")
            if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
                continue
            with po_path.open("rb") as po_file:
                catalog = read_po(po_file)
            with mo_path.open("wb") as mo_file:
                write_mo(mo_file, catalog)
            written += 1
    return written


def translations() -> Any:
    """flask_babel.get_translations(), without its lookups when this request already asked.
    Flask-Babel's namespace is read off the app context's variable directly: `g` is a proxy,
    and a page asks a few hundred times."""
    try:
        ctx = _cv_app.get().g._flask_babel
        kept = ctx.tracker_translations
        if kept[0] is ctx.babel_locale and kept[1] is ctx.babel_domain:
            return kept[2]
    except (AttributeError, LookupError):  # not asked yet, locale refreshed, no app context
        pass
    found = get_translations()
    ctx = getattr(g, "_flask_babel", None) if g else None
    if ctx is not None and hasattr(ctx, "babel_locale") and hasattr(ctx, "babel_domain"):
        ctx.tracker_translations = (ctx.babel_locale, ctx.babel_domain, found)
    return found


def locale() -> Any:
    """flask_babel.get_locale(), read straight off the request once it has been chosen."""
    try:
        chosen = _cv_app.get().g._flask_babel.babel_locale
        if chosen is not None:
            return chosen
    except (AttributeError, LookupError):  # not chosen yet (or refreshed), no app context
        pass
    return get_locale()


def gettext(string: str, **variables: Any) -> str:
    """flask_babel.gettext, the same text."""
    text = translations().ugettext(string)
    return text % variables if variables else text


#: messages remembered per catalogue at most (the templates mark a few thousand)
_ESCAPED_LIMIT = 20_000


def escaped(string: str) -> Markup:
    """What a template's `_(string)` prints when autoescaping: the translation as Markup,
    %-formatted with no variables. Remembered on the catalogue object itself, so the memo
    lives exactly as long as the catalogue Flask-Babel keeps (per app, per locale)."""
    found = translations()
    memo = getattr(found, "_tracker_escaped", None)
    if memo is None:
        memo = found._tracker_escaped = {}
    try:
        return memo[string]
    except KeyError:
        text = Markup(found.ugettext(string)) % {}  # noqa: S704 - as Jinja trusts a catalogue
        if len(memo) < _ESCAPED_LIMIT:
            memo[string] = text
        return text


@pass_eval_context
def template_gettext(eval_ctx: Any, string: str, **variables: Any) -> Any:
    """Jinja's newstyle gettext (what `_()` and Flask-Babel's install give), the same output:
    the translation as Markup when autoescaping, always %-formatted.

    It takes the evaluation context (all it reads is whether output is escaped), not the
    template context: Jinja copies the whole context for a context function called inside a
    loop or a block that set variables, which most of a page's `_()` calls are."""
    if variables or type(string) is not str or not eval_ctx.autoescape:
        text = translations().ugettext(string)
        if eval_ctx.autoescape:
            text = Markup(text)  # noqa: S704 - a catalogue is trusted, as Jinja trusts it
        return text % variables
    return escaped(string)


def install_template_gettext(jinja_env: Any) -> None:
    """Replace the i18n extension's `_` and `gettext` (after Flask-Babel installed them)."""
    jinja_env.globals.update(_=template_gettext, gettext=template_gettext)


if __name__ == "__main__":
    print(f"compiled {compile_catalogs()} catalogue(s)")
