"""The table `make bench` prints from its report (bench/out/bench.json)."""

from __future__ import annotations


def table(report: dict, pages: list[str]) -> str:
    """The run's figures as the table `make bench` prints (pages in the order given)."""
    lines = []
    for backend, runs in report["backends"].items():
        sizes = sorted(runs, key=int)
        small, large = sizes[0], sizes[-1]
        head = " ".join(f"{int(s) // 1000:>6}k ms" for s in sizes)
        lines.append(f"\n{backend}: pages (single-request p50; ratios at {int(large) // 1000}k)")
        lines.append(f"  {'page':16s} {head}  {'big/small':>9s}  {'page/SQL':>8s}  "
                     f"{'floor/SQL':>9s}  {'page/main':>9s}  {'req/s÷trivial':>13s}")
        for label in pages:
            cells = " ".join(f"{runs[s]['pages'][label]['p50_ms']:9.1f}" for s in sizes)
            growth = (runs[large]["pages"][label]["p50_ms"]
                      / runs[small]["pages"][label]["p50_ms"])
            at = runs[large]["pages"][label]
            lines.append(f"  {label:16s} {cells}  {growth:9.2f}  {at['page_over_sql']:8.2f}  "
                         f"{at.get('floor_over_sql', 0):9.2f}  "
                         f"{at.get('page_over_main_sql', 0):9.2f}  "
                         f"{at['req_s_over_trivial']:13.3f}")
        trivial = " ".join(f"{runs[s]['pages']['trivial route']['p50_ms']:9.1f}" for s in sizes)
        rps = " ".join(f"{runs[s]['pages']['trivial route']['req_s']:.0f}" for s in sizes)
        lines.append(f"  {'trivial route':16s} {trivial}  (req/s {rps})")
        lines.append("  floor/SQL: (trivial route + the page's SQL) ÷ its SQL, the least "
                     "page/SQL could be if the page's own work cost no more than the trivial "
                     "route")
        if all("sweep" in runs[s]["jobs"] for s in sizes):
            cells = "  ".join(f"{int(s) // 1000}k {runs[s]['jobs']['sweep']['seconds']:.1f}s "
                              f"{runs[s]['jobs']['sweep']['peak_rss_mb']:.0f}MB" for s in sizes)
            lines.append(f"  job {'sweep':12s} {cells}")
        for s in sizes:
            if "recompute" in runs[s]["jobs"]:
                lines.append(f"  job recompute at {int(s) // 1000}k: "
                             + recompute_line(runs[s]["jobs"]["recompute"]))
        if all("sweep_due" in runs[s]["jobs"] for s in sizes):
            due = {s: runs[s]["jobs"]["sweep_due"] for s in sizes}
            cells = "  ".join(f"{int(s) // 1000}k {due[s]['seconds'] * 1000:.0f}ms "
                              f"{due[s]['sweep_peak_rss_mb']:.0f}MB ({due[s]['inserted']} rows)"
                              for s in sizes)
            lines.append(f"  job sweep, same {due[small]['k']} due: {cells}  big/small "
                         f"{sweep_due_ratio(due[small], due[large]):.2f}")
        for s in sizes:
            lines.append(f"  load average at {int(s) // 1000}k: {runs[s].get('load', 'n/a')}")
            if runs[s].get("load_seconds"):
                lines.append(f"  generated {int(s):,} firms in {runs[s]['load_seconds']:.0f}s")
    for backend, found in report.get("import", {}).items():
        lines.append(f"\nimport ({backend}): {found['rows']:,} rows in {found['seconds']:.1f}s = "
                     f"{found['rows_s']:.0f} rows/s; openpyxl read-only parse "
                     f"{found['openpyxl_parse_rows_s']:.0f} rows/s; ratio "
                     f"{found['over_parse']:.3f} (CPU {found['cpu_over_parse']:.3f}); "
                     f"peak RSS {found['peak_rss_mb']:.0f}MB")
    return "\n".join(lines)


def sweep_due_ratio(small: dict, large: dict) -> float:
    """The same-due sweep at the largest size over the smallest."""
    return large["seconds"] / max(small["seconds"], 0.001)


def recompute_line(found: dict) -> str:
    """The nightly recompute's figures against its targets (bench/recompute)."""
    return (f"first run {found['first_s']:.1f}s = {found['first_per_s']:,.0f} firms/s, "
            f"{found['first_over_evaluate']:.2f}× pure evaluate (≥ 0.5); "
            f"second {found['second_over_first']:.1%} of the first, next day "
            f"{found['next_day_over_first']:.1%} (≤ 5%); {found['row_bytes']:.0f} B a result "
            f"row (≤ 300); runs' peak RSS {found['runs_peak_rss_mb']:.0f}MB")
