"""A worker that runs imports has the pinyin tables loaded before its first import.

Spelling firm names needs pypinyin's tables (~2 s to load): the worker consuming the default
queue (imports run there) loads them at start, before its pool forks; the sweeper, which
never spells a name, does not carry them.
"""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import config


def _worker_on(*queues: str) -> SimpleNamespace:
    """What the worker_init signal sends: the worker, its app and the queues it consumes."""
    consumed = {name: None for name in queues}
    return SimpleNamespace(app=SimpleNamespace(amqp=SimpleNamespace(
        queues=SimpleNamespace(consume_from=consumed))))


def test_the_import_worker_loads_the_name_tables_at_start_and_the_sweeper_does_not(
        monkeypatch):
    worker = importlib.import_module("worker")
    loaded: list[int] = []
    monkeypatch.setattr(worker, "preload_name_tables", lambda: loaded.append(1))
    worker._load_name_tables(sender=_worker_on(config.SWEEP_QUEUE))
    assert loaded == []
    worker._load_name_tables(sender=_worker_on(config.DELIVERY_QUEUE))
    assert loaded == [1]
    worker._load_name_tables(sender=_worker_on(config.DELIVERY_QUEUE, config.SWEEP_QUEUE))
    assert loaded == [1, 1]


def test_preloading_spells_a_name(monkeypatch):
    from tracker import names

    names.preload()
    assert names._pieces.cache_info().currsize == 1
    assert names.pinyin_keys("天津") == ("tianjin", "tj")
