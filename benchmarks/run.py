"""Run the benchmarks: ``python benchmarks/run.py [NAME ...]`` (``make bench``, ``make bench BENCH=fitness``).

Each benchmark is ``benchmarks/<name>.py`` with a ``main()`` that measures junheng and a
baseline in the same run and prints the ratio. Figures are printed, never asserted.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    names = argv or os.environ.get("BENCH", "").split() or sorted(
        p.stem for p in HERE.glob("*.py") if p.stem not in {"run", "__init__"} and not p.stem.startswith("_")
    )
    for name in names:
        path = HERE / f"{name}.py"
        spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
        module = importlib.util.module_from_spec(spec)
        assert spec.loader is not None
        spec.loader.exec_module(module)
        print(f"\n=== benchmarks/{name}.py", flush=True)
        t0 = time.perf_counter()
        module.main()
        print(f"(benchmark {name} took {time.perf_counter() - t0:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
