"""Celery entry point: `celery -A worker worker` and `celery -A worker beat`."""

from tracker import create_app

flask_app = create_app()
celery_app = flask_app.extensions["celery"]
# Workers and beat block on Redis by design (BRPOP); only web requests need the 1 s timeout.
if flask_app.config["REDIS_URL"]:
    celery_app.conf.broker_transport_options = {
        **celery_app.conf.broker_transport_options, "socket_timeout": 10,
    }
