"""Generate a 50,000-row enterprise list and import it; prints seconds, rows/s and peak RSS.

Three runs, each against the plain openpyxl read-only parse of its file timed in the same run
(issue 12's target: import rows/s >= 0.25x that parse): a fresh import (every firm new), the
same file again (every firm on file, nothing to change) and a corrected file (every firm on
file with a changed technology field and changed figures: one update of the firm and one of
its year's figures per row).

Usage: python bench/import_50k.py [--rows N] [--database-url URL]
Runs against a throwaway SQLite file unless --database-url (an empty database) is given.
BENCH_ROOT runs another checkout's code (before/after figures side by side in one session).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(os.environ.get("BENCH_ROOT") or Path(__file__).resolve().parent.parent)
sys.path.insert(0, str(ROOT))

HEADERS = ["企业名称", "统一社会信用代码", "成立日期", "所属区域", "技术领域", "联系人", "联系邮箱",
           "从业人数", "科技人员数", "营业收入（万元）", "研发费用（万元）"]
ZONES = ["经开区", "保税区", "高新区", "东疆", "生态城", "其他街镇"]
FIELDS = ["电子信息", "生物与新医药", "新材料", "高技术服务", "先进制造与自动化"]


def generate(path: Path, rows: int, corrected: bool = False) -> None:
    """Write-only workbook: the generator itself stays small.

    corrected: the same firms with another technology field and other figures.
    """
    from openpyxl import Workbook

    from tracker.enterprises.uscc import make_code

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("企业名单")
    sheet.append(HEADERS)
    shift = 1 if corrected else 0
    for i in range(1, rows + 1):
        sheet.append([f"天津基准测试科技有限公司{i}", make_code(100000 + i),
                      f"2018年{i % 12 + 1}月{i % 28 + 1}日",
                      ZONES[i % 6], FIELDS[(i + shift) % 5], f"联系人{i}", f"c{i}@bench.example",
                      f"{50 + i % 400 + shift:,}", 10 + i % 40,
                      f"{1000 + i % 9000 + shift:,}.25", "88.5"])
    workbook.save(path)


def parse_seconds(path: Path) -> tuple[float, float]:
    """The plain openpyxl read-only parse of every cell: what the import is measured against.

    (wall seconds, CPU seconds of this process): on a shared machine the CPU ratio is the
    steadier one for SQLite, which runs in this process; PostgreSQL's work is not in it.
    """
    from openpyxl import load_workbook

    started, cpu = time.perf_counter(), time.process_time()
    workbook = load_workbook(path, read_only=True, data_only=True)
    for _row in workbook.worksheets[0].iter_rows(values_only=True):
        pass
    workbook.close()
    return time.perf_counter() - started, time.process_time() - cpu


def cpu_seconds() -> float:
    """CPU seconds of this process and of its children that have ended: the import's reader
    is a child process (reader.read_ahead), reaped before the import returns."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def against_parse(found: dict, rows: int, *parses: tuple[float, float]) -> dict[str, float]:
    """An import's figures (`found`: rows, seconds, cpu_seconds, peak_rss_mb) beside the parse of
    its file, the fastest of `parses` (a load spike during one must not flatter the ratio): rows/s
    over parse rows/s, and the same in CPU seconds of the importing process (steadier on a
    shared machine; PostgreSQL's own work is not in it, SQLite's is)."""
    parse_s = min(wall for wall, _cpu in parses)
    parse_cpu = min(cpu for _wall, cpu in parses)
    rate, parse_rate = found["rows"] / found["seconds"], rows / parse_s
    cpu_ratio = parse_cpu / rows * found["rows"] / max(found["cpu_seconds"], 0.01)
    return {"rows": found["rows"], "seconds": found["seconds"], "rows_s": round(rate, 1),
            "openpyxl_parse_rows_s": round(parse_rate, 1),
            "over_parse": round(rate / parse_rate, 3), "cpu_over_parse": round(cpu_ratio, 3),
            "peak_rss_mb": found["peak_rss_mb"]}


def _in_child(work) -> None:
    pid = os.fork()
    if pid == 0:  # in a child so its memory does not count against the import
        work()
        os._exit(0)
    os.waitpid(pid, 0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--runs", default="fresh,same file,corrected",
                        help="which of the three runs, comma-separated (in this order)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="import-bench-"))
    os.environ.setdefault("INSTANCE_DIR", str(work))
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{work / 'bench.db'}"
    os.environ["UPLOAD_DIR"] = str(work / "uploads")

    source, corrected = work / "bench.xlsx", work / "corrected.xlsx"
    started = time.perf_counter()
    _in_child(lambda: generate(source, args.rows))
    wanted = {r.strip() for r in args.runs.split(",")}
    if "corrected" in wanted:
        _in_child(lambda: generate(corrected, args.rows, corrected=True))
    generated = time.perf_counter() - started

    from tracker import create_app
    from tracker.extensions import db
    from tracker.imports import services

    app = create_app()
    with app.app_context():
        db.create_all()
        from tracker import names

        if hasattr(names, "preload"):  # as the import worker does at start (worker.py)
            names.preload()
        print(f"import_50k: rows={args.rows} generate={generated:.1f}s "
              f"database={db.engine.dialect.name} "
              f"name_tables_preloaded={hasattr(names, 'preload')}", flush=True)
        for label, path in (("fresh", source), ("same file", source),
                            ("corrected", corrected)):
            if label not in wanted:
                continue
            parsed, parsed_cpu = parse_seconds(path)
            with path.open("rb") as stream:
                stored = services.store_upload(stream, path.name)
            job = services.create_job("enterprises", stored, path.name, user_id=None)
            db.session.commit()
            started, cpu = time.perf_counter(), cpu_seconds()
            job = services.run_job(job.id, dry_run=False)
            db.session.commit()
            seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
            counts = job.counts()
            peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
            rate, parse_rate = counts["rows"] / seconds, counts["rows"] / parsed
            print(f"  {label:9} rows={counts['rows']} created={counts['created']} "
                  f"updated={counts['updated']} unchanged={counts['unchanged']} "
                  f"errors={len(counts['errors'])} import={seconds:.1f}s rows/s={rate:.0f} "
                  f"parse={parsed:.1f}s ratio={rate / parse_rate:.3f} "
                  f"cpu_ratio={parsed_cpu / cpu:.3f} peak_rss={peak_mb:.0f}MB", flush=True)


if __name__ == "__main__":
    main()
