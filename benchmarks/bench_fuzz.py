"""The longer fuzz run: the decoders that read what a peer sends (Hessian calls and
replies, XML-RPC calls, HTTP request streams) over many more seeded mutations than
the test suite's 50,000 (``tests/remoting/test_fuzz.py``, whose generator this
uses, from ``tests/fuzzing.py``). Each row is the slowest single input against a 100 ms budget (lower is
better); an exception outside the documented ones stops the run."""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType

from benchmarks._harness import Result

GROUP = "fuzz"
BUDGET_MS = 100.0


def _fuzz_module() -> ModuleType:
    tests = Path(__file__).resolve().parent.parent / "tests"
    if str(tests) not in sys.path:  # the test module's shared generator (tests/fuzzing.py)
        sys.path.insert(0, str(tests))
    path = tests / "remoting" / "test_fuzz.py"
    spec = importlib.util.spec_from_file_location("springpython_fuzz_inputs", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(quick: bool = False) -> list[Result]:
    fuzz = _fuzz_module()
    count = 50_000 if quick else 500_000
    cases = [
        ("Hessian call and reply", fuzz.HESSIAN_SEEDS, fuzz.HESSIAN_TOKENS, fuzz.hessian_decode,
         (fuzz.ProtocolError,)),
        ("XML-RPC call", fuzz.XMLRPC_SEEDS, fuzz.XMLRPC_TOKENS, fuzz.xmlrpc_decode,
         (fuzz.UnsafeXMLError, fuzz.MalformedCallError)),
        ("HTTP request stream", fuzz.HTTP_SEEDS, fuzz.HTTP_TOKENS, fuzz.http_read, (fuzz.HTTPRequestError,)),
    ]
    rows = []
    for offset, (name, seeds, tokens, decode, allowed) in enumerate(cases):
        slowest = 0.0
        for i, data in enumerate(fuzz.mutants(seeds, tokens, count, fuzz.SEED + 1000 + offset)):
            start = time.perf_counter()
            try:
                decode(data)
            except allowed:
                pass
            except BaseException as exc:
                raise AssertionError(f"{name}: input {i} {data[:200]!r} raised {type(exc).__name__}: {exc}") from exc
            slowest = max(slowest, time.perf_counter() - start)
        rows.append(Result(GROUP, f"{name}, slowest of {count:,} inputs", slowest * 1000, BUDGET_MS, "ms", 1.0,
                           higher_is_better=False, baseline_name="budget per input"))
    return rows
