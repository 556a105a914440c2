"""Celery entry point: `celery -A worker worker` and `celery -A worker beat`."""

from celery.signals import worker_init

from config import DELIVERY_QUEUE
from tracker import create_app
from tracker.names import preload as preload_name_tables

flask_app = create_app()
celery_app = flask_app.extensions["celery"]
# Workers and beat block on Redis by design (BRPOP); only web requests need the 1 s timeout.
if flask_app.config["REDIS_URL"]:
    celery_app.conf.broker_transport_options = {
        **celery_app.conf.broker_transport_options, "socket_timeout": 10,
    }


@worker_init.connect
def _load_name_tables(sender=None, **_kwargs) -> None:
    """The worker that runs imports (the default queue) loads the pinyin tables once, in the
    main process before its pool forks: the first import after a start no longer spends ~2 s
    on them, and the children share them. The sweeper and beat never spell names: not there."""
    if sender is not None and DELIVERY_QUEUE in sender.app.amqp.queues.consume_from:
        preload_name_tables()
