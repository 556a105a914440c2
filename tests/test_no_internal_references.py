"""People read official documents, not our design notes: no domain.md, design.md or attributes.

Scans templates, catalogues, the seeded reminder rules and rendered pages for references to the
project's own documents (domain.md, design.md, eligibility.md, style.md) and for code-like names
such as ``User.wants_digest`` that would leak into what people read.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from tests.conftest import login
from tests.factories import make_user
from tracker import ROOT
from tracker.extensions import db
from tracker.i18n import translation_directories
from tracker.reminders.defaults import DEFAULT_RULES, seed_rules

INTERNAL = re.compile(r"\b(domain|design|eligibility|style)\.md\b|\b[A-Z][a-z]+\.[a-z]+_[a-z_]+\b")


def _template_messages() -> list[tuple[str, str]]:
    found = []
    for path in (ROOT / "templates").rglob("*.*"):
        text = path.read_text(encoding="utf-8")
        # comments are for us; everything else may reach a page or an email
        text = re.sub(r"\{#.*?#\}", "", text, flags=re.S)
        found += [(str(path.relative_to(ROOT)), m.group(0)) for m in INTERNAL.finditer(text)]
    return found


def test_templates_cite_no_internal_documents():
    assert not _template_messages()


def test_catalogues_cite_no_internal_documents():
    """Every message the code uses, and its English text, names no internal document."""
    english = {}
    for directory in translation_directories():
        po = Path(directory) / "en" / "LC_MESSAGES" / "messages.po"
        with po.open("rb") as handle:
            english.update({m.id: m.string for m in read_po(handle) if isinstance(m.id, str)})
    found = [(msgid, english.get(msgid, "")) for msgid in _live_messages()
             if INTERNAL.search(msgid) or INTERNAL.search(english.get(msgid) or "")]
    assert not found


def _live_messages() -> set[str]:
    from babel.messages.extract import extract_from_dir

    method_map = [("tracker/**.py", "python"), ("templates/**.html", "jinja2")]
    keywords = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None}
    return {m[2] if isinstance(m[2], str) else m[2][0]
            for m in extract_from_dir(str(ROOT), method_map=method_map, keywords=keywords)}


def test_reminder_rules_cite_official_documents_or_nothing():
    bad = {r["code"]: r["basis"] for r in DEFAULT_RULES if INTERNAL.search(r.get("basis") or "")}
    assert not bad


@pytest.mark.parametrize("url", ["/reminders/rules", "/ladder/admin/thresholds"])
def test_admin_pages_cite_no_internal_documents(client, url):
    seed_rules()
    db.session.commit()
    login(client, make_user("admin"))
    response = client.get(url)
    assert response.status_code == 200
    assert not INTERNAL.search(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))
