"""`make bench`: run every bench script in turn (features add theirs to BENCHES)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = [["list_page.py"], ["import_50k.py"]]


def main() -> int:
    failed = 0
    for bench in BENCHES:
        print(f"== {' '.join(bench)}", flush=True)
        failed += subprocess.call([sys.executable, str(HERE / bench[0]), *bench[1:]]) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
