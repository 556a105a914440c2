"""An enterprise import spells names with pypinyin's tables (a million objects): they are
loaded before the run and, with the app, left out of the collector's full passes during it."""

from __future__ import annotations

import gc

from tests.imports.conftest import ENTERPRISE_HEADERS
from tests.imports.helpers import run_file
from tracker import names
from tracker.imports import engine


def test_an_enterprise_import_runs_with_the_long_lived_objects_frozen(write_xlsx, monkeypatch):
    seen: list[tuple[int, int]] = []
    run = engine._run

    def watching(*args, **kwargs):
        seen.append((gc.get_freeze_count(), names._pieces.cache_info().currsize))
        return run(*args, **kwargs)

    monkeypatch.setattr(engine, "_run", watching)
    path = write_xlsx([ENTERPRISE_HEADERS, ["天津冻结测试科技有限公司", "91120116MA05JXXX0A",
                                            "2019-03-05", "高新区", "电子信息", "", "", "", ""]])
    run_file(path, "enterprises", keep_valid=True)
    frozen, tables = seen[0]
    assert frozen > 0 and tables == 1  # the tables loaded, then frozen with the rest
    assert gc.get_freeze_count() == 0  # handed back to the collector afterwards
