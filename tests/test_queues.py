"""Beat's sweeps have a queue of their own, so that a sweep or a reap never waits behind the
delivery workers' backlog (thousands of sends after an outage): published through the real
brokers (Redis, and the embedded SQLite file `make run` uses) and read back from the queue."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

import config
from tests.conftest import REDIS_URL, require_service
from tests.scratch_databases import app_on

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.live


def _broker_url(kind: str, tmp_path: Path) -> str:
    if kind == "redis":
        return require_service("Redis", REDIS_URL, 6379)
    return f"sqla+sqlite:///{tmp_path / 'celery-broker.db'}"


def _take(celery, queue: str) -> list[str]:
    """The task names waiting in `queue`, taken off it."""
    names = []
    with celery.connection_for_read() as connection:
        waiting = connection.SimpleQueue(queue)
        try:
            while True:
                try:
                    message = waiting.get(timeout=0.5)
                except waiting.Empty:
                    return names
                names.append(message.headers["task"])
                message.ack()
        finally:
            waiting.close()


def _sweep_tasks(celery) -> set[str]:
    """The registered tasks whose decorator names beat's sweeps' queue."""
    return {name for name, task in celery.tasks.items()
            if getattr(task, "queue", None) == config.SWEEP_QUEUE}


@pytest.mark.parametrize("broker", ["redis", "embedded"])
def test_beat_sweeps_go_to_their_own_queue_and_sends_to_the_delivery_queue(app, tmp_path,
                                                                           broker):
    from tracker.reminders import tasks as reminders
    from tracker.webhooks import tasks as webhooks

    celery_settings = {**config.TestConfig.CELERY, "broker_url": _broker_url(broker, tmp_path)}
    with app_on(f"sqlite:///{tmp_path / 'tracker.db'}", CELERY=celery_settings) as own:
        celery = own.extensions["celery"]
        for queue in (config.SWEEP_QUEUE, config.DELIVERY_QUEUE):
            _take(celery, queue)  # what an earlier run may have left
        with own.app_context():
            for task in (reminders.sweep, reminders.reap, webhooks.sweep, reminders.send_batch,
                         webhooks.deliver):
                task.apply_async(args=[1] if task is webhooks.deliver else [])
        assert sorted(_take(celery, config.SWEEP_QUEUE)) == [
            "tracker.reminders.reap", "tracker.reminders.sweep", "tracker.webhooks.sweep"]
        assert sorted(_take(celery, config.DELIVERY_QUEUE)) == [
            "tracker.reminders.send_batch", "tracker.webhooks.deliver"]


def test_every_scheduled_sweep_is_routed_and_a_plain_worker_consumes_both_queues(app):
    celery = app.extensions["celery"]
    scheduled = {entry["task"] for entry in celery.conf.beat_schedule.values()}
    assert scheduled <= set(celery.tasks)  # beat names no task that is not there (renamed)
    assert _sweep_tasks(celery) == {
        "tracker.reminders.sweep", "tracker.reminders.reap", "tracker.webhooks.sweep"}
    assert _sweep_tasks(celery) <= scheduled
    # `celery worker` without -Q (the tests' and the chaos run's workers) takes both
    assert set(celery.amqp.queues) == {config.DELIVERY_QUEUE, config.SWEEP_QUEUE}


def test_the_procfile_workers_consume_every_queue_under_distinct_names():
    queues, names = set(), []
    for line in (ROOT / "Procfile").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        argv = shlex.split(line.split(":", 1)[1])
        if not argv[1].endswith("celery") or argv[argv.index("-A") + 2] != "worker":
            continue  # web, beat
        option = dict(re.match(r"(--queues|-Q)=?(.*)", arg).groups() for arg in argv
                      if re.match(r"(--queues|-Q)=", arg))
        assert option, f"{line!r}: name its queues (-Q=...)"
        queues |= set(next(iter(option.values())).split(","))
        names += [arg.split("=", 1)[1] for arg in argv if arg.startswith(("--hostname=", "-n="))]
    assert queues == {config.DELIVERY_QUEUE, config.SWEEP_QUEUE}
    assert len(names) == len(set(names)) >= 2  # two workers on one host need two node names
