"""Are the pages the same? Each role's main pages, in both languages, from two checkouts.

Every role (a user of each is created on first use) signs in, and its pages (tests/english_pages
plus the dashboard, its charts and a search) are fetched in Chinese and in English through
Flask's test client, on the same database, by this checkout and by `--against DIR` (each in a
Python process of its own). CSRF tokens are masked; any other difference is printed. For a
change that must not change what pages show (issue 12's per-request floor).

  DATABASE_URL=postgresql://…/scratch_… python bench/page_diff.py --against /work/main
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, os.environ.get("PAGE_DIFF_CODE") or str(ROOT))
PASSWORD = "compare-pages-2026"  # noqa: S105 - a scratch database's users
ROLES = ("admin", "bureau", "zone", "carrier_manager", "viewer")
EXTRA = ["/", "/search/?q=%E7%A7%91%E6%8A%80", "/enterprises/?q=%E7%A7%91%E6%8A%80",
         "/ladder/board?view=near", "/api/v1/enterprises",
         *(f"/dashboard/charts/{name}.json"
           for name in ("trends", "funnel", "zones", "incubation", "workload"))]
_TOKENS = re.compile(r'(name="csrf_token"[^>]*value=")[^"]+(")')
#: clock times (figures' age, sessions' times): the two runs are minutes apart
_TIMES = re.compile(r"\d{2}:\d{2}(:\d{2})?(\.\d+)?")
#: lists every login of the user, the runs' own included: differs by construction
SKIP = ("/account/sessions",)


def _app():
    from config import Config
    from tracker import create_app

    class DiffConfig(Config):
        SQLALCHEMY_DATABASE_URI = os.environ["DATABASE_URL"]
        FAST_PASSWORD_HASHES = True
        WTF_CSRF_ENABLED = False

    return create_app(DiffConfig)


def _user(role: str):
    from sqlalchemy import select

    from tracker.accounts import services as accounts
    from tracker.accounts.models import User
    from tracker.extensions import db
    from tracker.incubation.models import Carrier

    email = f"diff-{role}@bench.example"
    if not db.session.scalar(select(User.id).where(User.email == email)):
        extra = {}
        if role == "zone":  # the zone of the first zone user, whose firms pages_for picks
            extra["zone"] = db.session.scalar(select(User.zone).where(User.role == "zone")
                                              .order_by(User.id)) or "hitech"
        if role == "carrier_manager":
            extra["carrier_id"] = db.session.scalar(select(Carrier.id).order_by(Carrier.id))
        accounts.create_user(email, PASSWORD, role, name=f"diff {role}", **extra)
        db.session.commit()
    return email


def dump() -> None:
    """Print {role/locale/url: masked body} as JSON."""
    from tests.english_pages import pages_for
    from tracker.extensions import db

    app = _app()
    out: dict[str, str] = {}
    for role in ROLES:
        with app.app_context():
            email = _user(role)
            # pages_for picks the role's first user: make it this one for every role
            urls = [url for url in pages_for(role) if "/edit" not in url or role != "viewer"]
            db.session.remove()
        for locale in ("zh_CN", "en"):
            client = app.test_client()
            answer = client.post("/login", data={"email": email, "password": PASSWORD})
            assert answer.status_code == 302, (role, answer.status_code)
            client.post(f"/language/{locale}", data={"next": "/"})
            for url in [*urls, *EXTRA]:
                if url in SKIP:
                    continue
                response = client.get(url)
                body = _TIMES.sub("hh:mm", _TOKENS.sub(r"\1…\2", response.get_data(as_text=True)))
                out[f"{role} {locale} {url}"] = f"{response.status_code}\n{body}"
    print(json.dumps(out, ensure_ascii=False))


def _run(code: Path) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(code), PAGE_DIFF_CODE=str(code))
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "page_diff.py"), "--dump"],
                          cwd=code, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dump", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--against", type=Path, default=Path("/work/main"))
    args = parser.parse_args()
    if args.dump:
        dump()
        return
    base, this = _run(args.against), _run(ROOT)
    differ = [key for key in base if base[key] != this.get(key)]
    print("differ:", *differ, sep="\n  ")
    for key in differ[:10]:
        print(f"--- {key}")
        diff = difflib.unified_diff(base[key].splitlines(), this.get(key, "").splitlines(),
                                    lineterm="", n=1)
        print("\n".join(list(diff)[:20]))
    statuses = sorted({body.split("\n", 1)[0] for body in this.values()})
    print(f"{len(base)} pages ({len(base) - len(differ)} identical, {len(differ)} differ); "
          f"statuses {', '.join(statuses)}")


if __name__ == "__main__":
    main()
