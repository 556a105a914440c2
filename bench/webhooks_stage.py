"""What the webhooks stage adds to a save, and how fast one worker delivers (a benchmark).

A SQLite file database with FIRMS firms (three titles, a stay, two applications each) and one
subscribed endpoint on a loopback receiver. Prints: the stage's queries and time for one
firm's commit, for a commit at the inline limit (200 firms), and sequential deliveries/s.
Run: .venv/bin/python bench/webhooks_stage.py [--firms N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, select  # noqa: E402

from bench import app_for  # noqa: E402
from tests.factories import make_carrier, make_enterprise, make_tenancy  # noqa: E402
from tracker.extensions import db  # noqa: E402
from tracker.ladder import services as ladder  # noqa: E402
from tracker.webhooks import events, services, tasks  # noqa: E402
from tracker.webhooks.models import EVENT_TYPES, WebhookDelivery  # noqa: E402


class Ok(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--firms", type=int, default=400)
    args = parser.parse_args()
    folder = tempfile.mkdtemp()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    Thread(target=server.serve_forever, daemon=True).start()
    app = app_for(f"sqlite:///{folder}/bench.db", base="TestConfig")
    with app.app_context():
        db.create_all()
        services.create_endpoint({"url": f"http://127.0.0.1:{server.server_address[1]}/",
                                  "events": list(EVENT_TYPES)})
        carrier = make_carrier()
        firms = []
        for n in range(args.firms):
            firm = make_enterprise()
            for k, kind in enumerate(("tech_sme", "chuying", "hnte")):
                ladder.grant_qualification(firm, kind, f"N{n:05d}{k}", date(2024, 1, 1 + k))
            make_tenancy(firm, carrier)
            for kind in ("dengling", "leader"):
                ladder.create_application(firm, {"kind": kind, "year": 2026})
            firms.append(firm.id)
            if n % 100 == 99:
                db.session.commit()
        db.session.commit()
        statements: list[str] = []
        event.listen(db.engine, "before_cursor_execute",
                     lambda *a: statements.append(a[2]))
        one = []
        for firm_id in firms[:50]:
            statements.clear()
            started = time.perf_counter()
            events.observe([firm_id])
            one.append(time.perf_counter() - started)
        queries_one = len(statements)
        db.session.rollback()
        statements.clear()
        started = time.perf_counter()
        events.observe(firms[:200])
        two_hundred = time.perf_counter() - started
        queries_200 = len(statements)
        db.session.rollback()
        ids = list(db.session.scalars(select(WebhookDelivery.id).where(
            WebhookDelivery.status == "pending").limit(300)))
        started = time.perf_counter()
        for delivery_id in ids:
            tasks.deliver(delivery_id)
        rate = len(ids) / (time.perf_counter() - started)
    server.shutdown()
    print(f"stage, one firm unchanged: p50 {statistics.median(one) * 1000:.2f} ms, "
          f"{queries_one} queries")
    print(f"stage, 200 firms unchanged: {two_hundred * 1000:.1f} ms, {queries_200} queries")
    print(f"deliveries, one worker, loopback: {rate:.0f}/s over {len(ids)}")


if __name__ == "__main__":
    main()
