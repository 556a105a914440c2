"""PostgreSQL round trips a page view does not need: BEGIN and ROLLBACK around its reads, and
the pool's ping of a connection used moments ago (issue 12: the fixed cost of every request).

A signed-in page view used to cost four round trips before any of its own SQL: the pool's
pre-ping (`SELECT 1`), BEGIN, the user lookup, and ROLLBACK when the session let go.

Reads outside a transaction. In a request with a safe method (GET, HEAD: extensions.
begins_as_writer says reader), each plain SELECT runs on its own, in psycopg's autocommit,
until the request does anything else; from its first other statement (an UPDATE, a SAVEPOINT,
a SELECT ... FOR UPDATE, a textual statement, a server-side cursor) its transaction begins as
before and lasts until commit or rollback. Under READ COMMITTED (the server's default; the rule
stands down for any other isolation level) every statement of a transaction takes a snapshot
of its own anyway, so a read alone sees what it would have seen inside one; it holds no lock
beyond its own run (a page view's reads take none that matter), and nothing is left to roll
back, so handing the connection back costs no round trip (SQL's now() would be each read's
own time, not a shared one: the app takes its times from tracker.clock, never from SQL's
clock). Writes keep their transaction;
POSTs, tasks and commands begin theirs as before (SQLite keeps its own BEGINs: extensions).

Ping after idle (any database; SQLAlchemy's pool_pre_ping pinged every checkout). A connection
checked in less than DB_PING_IDLE_SECONDS ago is handed to a page
view without a ping; one idle longer, and every connection for anything else (a POST, a task,
a command), is pinged as SQLAlchemy's pool_pre_ping does. A page view that meets a dropped
connection it was not pinged for (a server restart in those few seconds) is run once more on
a fresh one (`RetryDropped`): a GET changes nothing a second run would not (RFC 9110), and
the first run's response, cookies included, is discarded whole.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, has_app_context, has_request_context, request
from sqlalchemy import Engine, event, exc
from sqlalchemy.sql import Select

from tracker.extensions import begins_as_writer, db

#: connection info: autocommit was turned on here (for reads), not by an isolation level
_OURS = "tracker.reads_alone"
#: connection info: time.monotonic() when the connection was last handed back to the pool
_CHECKED_IN = "tracker.checked_in_at"
#: environ: this request can be run again (RetryDropped); a ping was skipped; run it again
RETRYABLE, PING_SKIPPED, RUN_AGAIN = ("tracker.retryable", "tracker.ping_skipped",
                                      "tracker.run_again")
#: environ: this request has committed something (a second run would do it again)
COMMITTED = "tracker.committed"


def configure_connections(app: Flask, engine: Engine) -> None:
    """Reads alone on PostgreSQL (psycopg 3); the ping after idle (with the page views' second
    run) on any database, unless DB_PING_IDLE_SECONDS is unset."""
    if engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg":
        _reads_outside_transactions(engine)

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection, record) -> None:
        record.info[_CHECKED_IN] = time.monotonic()

    seconds = app.config.get("DB_PING_IDLE_SECONDS")
    if seconds is None:
        return

    @event.listens_for(engine, "checkout")
    def _ping_unless_recent(dbapi_connection, record, _proxy) -> None:
        checked_in = record.info.get(_CHECKED_IN)
        if checked_in is None:
            return  # just connected (info is cleared with every new connection)
        if (time.monotonic() - checked_in < seconds and _retryable()
                and not request.environ.get(COMMITTED)):
            request.environ[PING_SKIPPED] = True
            return
        _ping(engine, dbapi_connection)

    @event.listens_for(engine, "after_cursor_execute")
    def _answered(*_args) -> None:
        # A statement went through: a drop met later is not a stale pooled connection, and
        # a second run could repeat what the first did since (only a first statement may).
        if has_request_context() and request.environ.get(PING_SKIPPED):
            request.environ[PING_SKIPPED] = False

    @event.listens_for(engine, "commit")
    def _committed(_conn) -> None:
        if has_request_context():
            request.environ[COMMITTED] = True

    @event.listens_for(engine, "handle_error")
    def _dropped(context) -> None:
        if context.is_disconnect and has_request_context() and request.environ.get(PING_SKIPPED):
            request.environ[RUN_AGAIN] = True

    app.wsgi_app = RetryDropped(app.wsgi_app)  # type: ignore[method-assign]


def _reads_outside_transactions(engine: Engine) -> None:
    """A page view's plain SELECTs in autocommit until it does anything else (module doc)."""
    from psycopg import ServerCursor
    from psycopg.pq import TransactionStatus

    idle = TransactionStatus.IDLE

    @event.listens_for(engine, "before_cursor_execute")
    def _reads_alone(conn, cursor, statement, parameters, context, executemany) -> None:
        raw = cursor.connection
        if raw.info.transaction_status != idle:
            return  # a transaction is open: the statement joins it
        if "isolation_level" in conn.get_execution_options():
            return  # the caller chose its own (AUTOCOMMIT for VACUUM, REPEATABLE READ...)
        info = conn.info
        if raw.autocommit and not info.get(_OURS):
            return  # an AUTOCOMMIT isolation level of the caller's own
        alone = (not executemany and not isinstance(cursor, ServerCursor)
                 and _plain_select(context) and _read_committed(engine, raw)
                 and has_request_context() and not begins_as_writer())
        if alone != raw.autocommit:
            raw.autocommit = alone  # client-side: psycopg sends BEGIN before the next statement
            info[_OURS] = alone

    @event.listens_for(engine, "do_execute")
    def _unprepared(cursor, statement, parameters, context) -> bool | None:
        if not (cursor.connection.autocommit and context.root_connection.info.get(_OURS)):
            return None
        # Reads alone are not counted towards psycopg's server-side prepared statements: a
        # page view's reads used to end with ROLLBACK, which resets the counts, so they were
        # planned afresh each time; kept that way (a generic plan is not always as good).
        cursor.execute(statement, parameters, prepare=False)
        return True

    @event.listens_for(engine, "checkin")
    def _as_psycopg_made_it(dbapi_connection, record) -> None:
        if dbapi_connection is None:  # invalidated
            return
        if record.info.pop(_OURS, False) and not dbapi_connection.closed:
            # whoever takes it next (a raw connection, a task) finds it as psycopg made it
            dbapi_connection.autocommit = False


def _plain_select(context: Any) -> bool:
    """A compiled SELECT that takes no row locks (nor a DML CTE: it then starts with WITH),
    and calls none of the functions whose effect lasts until the transaction ends."""
    compiled = getattr(context, "compiled", None)
    statement = getattr(compiled, "statement", None)
    return (isinstance(statement, Select) and statement._for_update_arg is None
            and context.statement.lstrip()[:6].upper() == "SELECT"
            and not needs_transaction(context.statement))


#: a lock clause (a suffix the ORM does not know about) or a function whose effect lasts until
#: the transaction ends (a transaction-level advisory lock, a local setting, a sequence)
_NEEDS_TRANSACTION = re.compile(
    r"\bFOR\s+(?:NO\s+KEY\s+)?(?:UPDATE|SHARE)\b|\bFOR\s+KEY\s+SHARE\b"
    r"|pg_advisory|set_config|nextval|setval", re.IGNORECASE)

@functools.lru_cache(maxsize=4096)
def needs_transaction(statement: str) -> bool:
    """_NEEDS_TRANSACTION found in `statement`, searched once per distinct text (kept for the
    4,096 texts last seen: IN lists of each length count apart): the search reads the whole
    text, a few hundred microseconds for a SELECT of every column, and a page view runs the
    same few statements on every request."""
    return _NEEDS_TRANSACTION.search(statement) is not None


def _read_committed(engine: Engine, raw: Any) -> bool:
    """The connection runs READ COMMITTED (each statement its own snapshot) and read-write."""
    from psycopg import IsolationLevel

    level = raw.isolation_level
    if level is None:
        return engine.dialect.default_isolation_level == "READ COMMITTED" and raw.read_only is None
    return level == IsolationLevel.READ_COMMITTED and raw.read_only is None


def _retryable() -> bool:
    return has_request_context() and bool(request.environ.get(RETRYABLE))


def _ping(engine: Engine, dbapi_connection: Any) -> None:
    """pool_pre_ping's check: a dropped connection is replaced (the pool tries again, and
    every connection older than now is replaced on its next checkout)."""
    dialect = engine.dialect
    try:
        dialect.do_ping(dbapi_connection)
    except dialect.loaded_dbapi.Error as error:
        if dialect.is_disconnect(error, dbapi_connection, None):
            raise exc.InvalidatePoolError() from error
        raise


class RetryDropped:
    """WSGI: a GET or HEAD without a body that met a dropped connection it was not pinged for
    runs once more; the first run's response (status, headers, cookies, body) is thrown away.

    The response waits for the run to end before it is started: Flask starts it only once the
    view has returned, so nothing is held back that would have been sent earlier."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if (environ.get("REQUEST_METHOD") not in ("GET", "HEAD")
                or environ.get("CONTENT_LENGTH") not in (None, "", "0")
                or environ.get("HTTP_TRANSFER_ENCODING")):
            return self.wsgi_app(environ, start_response)
        first = {**environ, RETRYABLE: True}
        held: list[tuple] = []

        def hold(status: str, headers: list, exc_info: Any = None) -> Callable[[bytes], None]:
            held[:] = [(status, headers, exc_info)]
            return _no_write

        try:
            body = self.wsgi_app(first, hold)
        except exc.DBAPIError:
            if not first.get(RUN_AGAIN):
                raise
            return self._again(environ, start_response)
        if first.get(RUN_AGAIN) and held and held[0][0].startswith("5"):
            getattr(body, "close", lambda: None)()
            return self._again(environ, start_response)
        first[RETRYABLE] = False  # a streamed body's reads come too late for a second run
        start_response(*held[0])
        return body

    def _again(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if has_app_context():  # a shared app context (tests): its session met the error
            db.session.rollback()
        return self.wsgi_app(dict(environ), start_response)


def _no_write(_data: bytes) -> None:
    raise RuntimeError("write() is not supported; return the body instead")
