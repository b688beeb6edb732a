"""Run the benchmarks: ``python3 -m benchmarks [--quick] [NAME ...]`` (names: the
``bench_NAME.py`` modules, all by default). Prints one table of ratios."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import benchmarks
from benchmarks._harness import print_table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="shorter runs, rougher figures")
    args = parser.parse_args(argv)
    available = sorted(
        m.name.removeprefix("bench_") for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_")
    )
    names = args.names or available
    unknown = sorted(set(names) - set(available))
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; available: {available}")
    results = []
    for name in names:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        print(f"running {name}…", file=sys.stderr, flush=True)
        results.extend(module.run(quick=args.quick))
    print_table(results)
    return 0 if all(r.met for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
