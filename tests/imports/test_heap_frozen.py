"""An enterprise import spells names with pypinyin's tables (a million objects): they are
loaded before the run and, with the app, left out of the collector's full passes during it."""

from __future__ import annotations

import gc

from tests.imports.conftest import ENTERPRISE_HEADERS
from tests.imports.helpers import run_file
from tracker import heap, names
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


def test_an_import_spaces_the_young_passes_out_and_restores_them(write_xlsx, monkeypatch):
    """A young pass every few rows cost a fifth of the import's CPU; after it, as before."""
    seen: list[tuple[int, int, int]] = []
    run = engine._run

    def watching(*args, **kwargs):
        seen.append(gc.get_threshold())
        return run(*args, **kwargs)

    monkeypatch.setattr(engine, "_run", watching)
    before = gc.get_threshold()
    path = write_xlsx([ENTERPRISE_HEADERS, ["天津回收测试科技有限公司", "91120116MA05JXXX0A",
                                            "2019-03-05", "高新区", "电子信息", "", "", "", ""]])
    run_file(path, "enterprises", keep_valid=True)
    assert seen == [(heap.YOUNG_THRESHOLD, *before[1:])]
    assert before[0] < heap.YOUNG_THRESHOLD
    assert gc.get_threshold() == before
