"""Enterprise list page: time and SQL statements per page as the table grows.

Prints, for 1,000 and 20,000 firms, the median time of the first page, a deep keyset page and a
filtered search, and the ratio between the sizes: keyset pages should stay flat.
Run with `make bench` (or `python bench/list_page.py --sizes 1000 20000`).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, insert  # noqa: E402

from bench import app_for  # noqa: E402
from tracker.accounts.services import create_user  # noqa: E402
from tracker.demo import demo_uscc  # noqa: E402
from tracker.enterprises.models import Enterprise  # noqa: E402
from tracker.extensions import db  # noqa: E402


def build(size: int, folder: Path):
    app = app_for(f"sqlite:///{folder / f'bench-{size}.db'}", base="TestConfig",
                  WTF_CSRF_ENABLED=False, SERVER_NAME=None)
    with app.app_context():
        db.create_all()
        user = create_user("timer@example.com", "bench-password-1", "bureau")
        zones = ["teda", "bonded", "hitech", "dongjiang", "ecocity", "towns"]
        rows = [{"uscc": demo_uscc(i), "name": f"天津基准测试{i:06d}科技有限公司",
                 "zone": zones[i % 6], "industry_tags": [], "honours": []}
                for i in range(size)]
        for start in range(0, size, 5000):
            db.session.execute(insert(Enterprise), rows[start:start + 5000])
        db.session.commit()
        email = user.email
    return app, email


def timed(client, url: str, repeat: int = 15) -> tuple[float, int]:
    counter = {"n": 0}

    def count(*_args):
        counter["n"] += 1

    samples = []
    with client.application.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        for _ in range(repeat):
            counter["n"] = 0
            start = time.perf_counter()
            response = client.get(url)
            samples.append(time.perf_counter() - start)
            assert response.status_code == 200, response.status_code
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return statistics.median(samples) * 1000, counter["n"]


def measure(size: int, folder: Path) -> dict[str, tuple[float, int]]:
    app, email = build(size, folder)
    client = app.test_client()
    client.post("/login", data={"email": email, "password": "bench-password-1"})
    first = client.get("/enterprises/?size=25").get_data(as_text=True)
    assert "after=" in first
    results = {"first page": timed(client, "/enterprises/?size=25")}
    # walk ten pages deep, then time that page
    url = "/enterprises/?size=25"
    for _ in range(10):
        html = client.get(url).get_data(as_text=True)
        cursor = html.split("after=")[-1].split('"')[0].replace("&amp;", "&")
        url = f"/enterprises/?size=25&after={cursor}"
    results["11th page"] = timed(client, url)
    results["name search"] = timed(client, "/enterprises/?q=基准测试0001")
    results["zone filter"] = timed(client, "/enterprises/?zone=hitech&sort=-updated")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", nargs=2, type=int, default=[1000, 20000])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        small, large = (measure(n, Path(tmp)) for n in args.sizes)
    print(f"enterprise list page, SQLite, median of 15 requests ({args.sizes[0]} vs "
          f"{args.sizes[1]} firms)")
    for name in small:
        (ms_small, q_small), (ms_large, q_large) = small[name], large[name]
        ratio = ms_large / ms_small
        print(f"  {name:12s} {ms_small:7.1f} ms  {ms_large:7.1f} ms  ratio {ratio:5.2f}"
              f"  queries {q_small}/{q_large}")


if __name__ == "__main__":
    main()
