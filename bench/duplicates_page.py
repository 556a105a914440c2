"""Likely-duplicates page: time and SQL statements per page as the register grows.

Builds SQLite registers of two sizes where one firm in a hundred was typed twice (another
legal-form ending, ASCII brackets), then times `/bulk/duplicates` (first and next page) and
the legacy-code tab. The GROUP BY reads the stored, indexed name key, so the statements per
page stay the same and the time grows with the index, not with pairs of names.
Run with `python bench/duplicates_page.py --sizes 1000 50000`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert  # noqa: E402

from bench import app_for  # noqa: E402
from bench.list_page import timed  # noqa: E402
from tracker.accounts.services import create_user  # noqa: E402
from tracker.demo import demo_uscc  # noqa: E402
from tracker.enterprises.models import Enterprise  # noqa: E402
from tracker.extensions import db  # noqa: E402
from tracker.names import name_key  # noqa: E402


def build(size: int, folder: Path):
    app = app_for(f"sqlite:///{folder / f'dup-{size}.db'}", base="TestConfig",
                  WTF_CSRF_ENABLED=False, SERVER_NAME=None)
    with app.app_context():
        db.create_all()
        user = create_user("timer@example.com", "bench-password-1", "bureau")
        rows = []
        for i in range(size):
            name = (f"天津基准{i // 2:06d}(滨海)科技有限责任公司" if i % 100 == 1
                    else f"天津基准{i:06d}（滨海）科技有限公司")
            rows.append({"uscc": demo_uscc(i), "name": name, "name_key": name_key(name),
                         "uscc_valid": i % 500 != 7, "zone": "hitech", "industry_tags": [],
                         "honours": []})
        for start in range(0, size, 5000):
            db.session.execute(insert(Enterprise), rows[start:start + 5000])
        db.session.commit()
        email = user.email
    return app, email


def measure(size: int, folder: Path) -> dict[str, tuple[float, int]]:
    app, email = build(size, folder)
    client = app.test_client()
    client.post("/login", data={"email": email, "password": "bench-password-1"})
    first = client.get("/bulk/duplicates").get_data(as_text=True)
    results = {"first page": timed(client, "/bulk/duplicates")}
    if "after=" in first:
        cursor = first.split("after=")[-1].split('"')[0]
        results["next page"] = timed(client, f"/bulk/duplicates?after={cursor}")
    results["legacy codes"] = timed(client, "/bulk/duplicates?tab=legacy")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", nargs=2, type=int, default=[1000, 50000])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        small, large = (measure(n, Path(tmp)) for n in args.sizes)
    print(f"likely-duplicates page, SQLite, median of 15 requests ({args.sizes[0]} vs "
          f"{args.sizes[1]} firms)")
    for name in small:
        (ms_small, q_small), (ms_large, q_large) = small[name], large.get(name, (0.0, 0))
        print(f"  {name:12s} {ms_small:7.1f} ms  {ms_large:7.1f} ms  "
              f"queries {q_small}/{q_large}")


if __name__ == "__main__":
    main()
