"""Benchmarks (`make bench` and one script per question); `app_for` is the app they all build."""

from __future__ import annotations

from typing import Any


def app_for(url: str | None = None, *, base: str = "Config", **settings: Any) -> Any:
    """The product's app as a bench script runs it: `config.<base>` (Config, or TestConfig for
    a scratch database the script builds) with the database `url` and `settings` on top.

    `config` and `tracker` are imported here, when called, from the tree first on sys.path by
    then: a script measuring another checkout (BENCH_ROOT) imports this helper from its own
    tree before putting the measured one first, so an older checkout without it is measured
    all the same, with its own code.
    """
    import config
    from tracker import create_app

    if url is not None:
        settings["SQLALCHEMY_DATABASE_URI"] = url
    return create_app(type(f"Bench{base}", (getattr(config, base),), settings))
