"""The chaos run's web part (bench/chaos.py): gunicorn, real HTTP, contacts saved while Redis
is stopped; every save must answer within the README's bar."""

from __future__ import annotations

import http.cookiejar
import re
import time
import urllib.error
import urllib.parse
import urllib.request

from bench.chaos_procs import Proc, bin_path, wait_port
from bench.smtpsink import free_port

#: saves made before Redis stops, so each gunicorn worker is past its first request
WARM_SAVES = 4
#: how long gunicorn's workers may take to boot before the web part starts
GUNICORN_BOOT_SECONDS = 180


class _Browser:
    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect())

    def request(self, path: str, data: dict | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, data=body, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")


def _first_page(browser: _Browser, path: str, within: float) -> str:
    """The first answer once gunicorn's workers have booted (the port opens before they can
    answer; on a loaded machine booting took over 30 s). Boot time is not the bar."""
    deadline = time.time() + within
    while True:
        try:
            status, page = browser.request(path)
            if status == 200:
                return page
        except (OSError, TimeoutError):
            if time.time() > deadline:
                raise
        if time.time() > deadline:
            raise SystemExit(f"gunicorn did not answer {path} within {within:g} s")
        time.sleep(1)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def web_with_redis_down(app, db, env, procs, firm_ids, workdir, restarts) -> dict:
    """Save contacts over HTTP while Redis is stopped; then bring it back."""
    port = free_port()
    web = Proc([bin_path("gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "tracker:create_app()"],
               env, workdir / "gunicorn.log")
    web.start()
    try:
        wait_port(port, 60)
        browser = _Browser(f"http://127.0.0.1:{port}")
        page = _first_page(browser, "/login", GUNICORN_BOOT_SECONDS)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        status, _ = browser.request("/login", {"email": "officer@chaos.example",
                                               "password": "chaos-pass-2026", "csrf_token": token})
        assert status == 302, status
        for eid in firm_ids[:4]:  # both gunicorn workers past their first request
            _status, detail = browser.request(f"/enterprises/{eid}")
        form_token = re.search(r'name="contact-csrf_token"[^>]*value="([^"]+)"', detail).group(1)
        # a first save per gunicorn worker while Redis is up: the bar is about Redis being down,
        # not about a cold process (these reminders are expected and accounted for too)
        for eid in firm_ids[:WARM_SAVES]:
            browser.request(f"/enterprises/{eid}/contacts", {
                "contact-csrf_token": form_token, "contact-name": f"预热联系人{eid}",
                "contact-email": f"webwarm{eid}@firm.chaos.example",
                "contact-receives_reminders": "y", "contact-locale": "zh_CN"})
        procs["redis"].stop()
        durations = []
        for eid in firm_ids:
            t0 = time.perf_counter()
            status, _ = browser.request(f"/enterprises/{eid}/contacts", {
                "contact-csrf_token": form_token, "contact-name": f"网页联系人{eid}",
                "contact-email": f"web{eid}@firm.chaos.example",
                "contact-receives_reminders": "y", "contact-locale": "zh_CN"})
            durations.append(time.perf_counter() - t0)
            assert status == 302, status
    finally:
        web.stop()
    slowest = sorted(range(len(durations)), key=durations.__getitem__)[-3:]
    print(f"redis down: {len(durations)} saves over HTTP, slowest "
          f"{', '.join(f'#{i} {durations[i]:.3f}s' for i in reversed(slowest))}", flush=True)
    procs["redis"].start()
    procs["worker"].kill()  # its broker connection went away with Redis; start afresh
    procs["worker"].start()
    if not procs["beat"].alive():
        restarts["beat"] += 1
        procs["beat"].start()
    return {"requests": len(durations), "max_request_seconds": round(max(durations), 3),
            "mean_request_seconds": round(sum(durations) / len(durations), 3)}
