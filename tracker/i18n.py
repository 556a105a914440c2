"""Translation catalogues: each feature may keep its own under <feature>/translations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

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


if __name__ == "__main__":
    print(f"compiled {compile_catalogs()} catalogue(s)")
