"""Browser-test fixtures shared by every `browser` module (registered in tests/conftest.py).

One Chromium per session instead of one per module; each test's pages live in contexts of
their own, signed in as a demo user, and closed when the test ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser_support import launch_chromium, login


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One headless Debian Chromium for the whole session (skips without it, fails under CI)."""
    with launch_chromium() as instance:
        yield instance


@pytest.fixture
def signed_in(chromium: Any) -> Iterator[Callable[..., Any]]:
    """Open a page signed in as a demo user, in a fresh context; all are closed afterwards.

    `signed_in(base, email, viewport=..., accept_downloads=..., locale=..., watch=...,
    **context_options)` returns the page; `email=None` opens an anonymous page. With
    `watch` (a dict of watch_problems options, `{}` for CSP only) the page's `problems`
    list records from before the login on.
    """
    contexts: list[Any] = []

    def _open(base: str, email: str | None, *, viewport: dict | None = None,
              accept_downloads: bool = False, locale: str | None = None,
              watch: dict[str, Any] | None = None, **context_options: Any) -> Any:
        if viewport is not None:
            context_options["viewport"] = viewport
        if locale is not None:
            context_options["locale"] = locale
        context = chromium.new_context(accept_downloads=accept_downloads, **context_options)
        contexts.append(context)
        page = context.new_page()
        if watch is not None:
            page.problems = watch_problems(page, **watch)
        if email is not None:
            login(page, base, email)
        return page

    yield _open
    for context in contexts:
        context.close()


def watch_problems(page: Any, *, csp: bool = True, console_errors: bool = False,
                   failed_responses: bool = False, page_errors: bool = False,
                   outside_of: str | None = None) -> list[str]:
    """Start recording what a page does wrong; returns the (growing) list of problems.

    csp: Content-Security-Policy violations reported on the console;
    console_errors: other console errors (not Chromium's "Failed to load resource", which
    failed_responses reports with the URL); failed_responses: responses >= 400 (a missing
    favicon is the browser's business); page_errors: uncaught script errors;
    outside_of: a base URL — any request to another host (data: URLs aside) is a problem.
    """
    problems: list[str] = []

    def on_console(message: Any) -> None:
        violation = csp and "Content Security Policy" in message.text
        error = (console_errors and message.type == "error"
                 and not message.text.startswith("Failed to load resource"))
        if violation or error:
            problems.append(message.text)

    page.on("console", on_console)
    if failed_responses:
        page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
                if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    if page_errors:
        page.on("pageerror", lambda error: problems.append(str(error)))
    if outside_of is not None:
        origin = urlsplit(outside_of).netloc
        page.on("request", lambda r: problems.append(f"outside request {r.url}")
                if urlsplit(r.url).netloc not in (origin, "")
                and not r.url.startswith("data:") else None)
    return problems
