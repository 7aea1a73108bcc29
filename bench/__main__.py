"""Run every ``bench/bench_*.py`` module's ``main()`` (or only those named: ``python -m bench rebalance``)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    names = sorted(p.stem for p in Path(__file__).parent.glob("bench_*.py"))
    wanted = [n if n.startswith("bench_") else f"bench_{n}" for n in argv]
    for name in wanted or names:
        if name not in names:
            print(f"no benchmark {name!r}; have {', '.join(names)}", file=sys.stderr)
            return 2
        print(f"== {name} ==")
        importlib.import_module(f"bench.{name}").main()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
