"""Every message the templates and code mark for translation has an English text."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from tracker import ROOT
from tracker.i18n import translation_directories

KEYWORDS = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None, "ngettext": (1, 2)}


def _english() -> set[str]:
    known = set()
    for directory in translation_directories():
        po = Path(directory) / "en" / "LC_MESSAGES" / "messages.po"
        if po.exists():
            with po.open("rb") as handle:
                known |= {m.id if isinstance(m.id, str) else m.id[0]
                          for m in read_po(handle) if m.id and m.string}
    return known


def test_every_marked_message_has_an_english_translation():
    method_map = [("tracker/**.py", "python"), ("templates/**.html", "jinja2")]
    missing = set()
    known = _english()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map=method_map, keywords=KEYWORDS):
        msgid = message if isinstance(message, str) else message[0]
        if msgid and msgid not in known:
            missing.add(msgid)
    assert not missing, sorted(missing)
