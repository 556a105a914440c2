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


def profile_requests(client: Any, path: str, n: int = 200) -> None:
    """cProfile of `n` GETs of `path` after 5 warm ones; SORT and TOP (environment) pick the
    order and how many lines are printed."""
    import cProfile
    import os
    import pstats

    for _ in range(5):
        assert client.get(path).status_code == 200, path
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(n):
        client.get(path)
    profiler.disable()
    stats = pstats.Stats(profiler).sort_stats(os.environ.get("SORT", "cumulative"))
    stats.print_stats(int(os.environ.get("TOP", "70")))


def alternate(procs: dict[str, Any], rounds: int, n: int) -> dict[str, dict[str, list]]:
    """Side-by-side rounds: each child process (a checkout's code) reads `n` on stdin, answers
    one JSON line {label: sample}; the order flips every round so load drifts hit both sides.
    The children's stdin is closed and they are waited for at the end."""
    import json

    samples: dict[str, dict[str, list]] = {side: {} for side in procs}
    for round_no in range(rounds):
        order = list(procs) if round_no % 2 == 0 else list(reversed(procs))
        for side in order:
            procs[side].stdin.write(f"{n}\n")
            procs[side].stdin.flush()
            for label, sample in json.loads(procs[side].stdout.readline()).items():
                samples[side].setdefault(label, []).append(sample)
    for proc in procs.values():
        proc.stdin.close()
        proc.wait()
    return samples
