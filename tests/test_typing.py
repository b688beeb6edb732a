"""The package passes ``mypy --strict`` with the configuration in pyproject.toml,
and mypy catches misused bean constructors."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from support import ROOT

SNIPPETS = Path(__file__).resolve().parent / "snippets"
_EXPECT = re.compile(r"#\s*expect:\s*([\w-]+)")


@pytest.fixture(scope="module")
def mypy(tmp_path_factory):
    """Run ``python3 -m mypy`` from the checkout root with the project's configuration."""
    cache = tmp_path_factory.mktemp("mypy-cache")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
             "--cache-dir", str(cache), "--no-color-output", "--no-error-summary", *args],
            cwd=ROOT, capture_output=True, text=True, timeout=600,
        )

    return run


def test_package_passes_mypy_strict(mypy):
    """mypy (strict, per pyproject.toml) reports no error in any module of springpython."""
    result = mypy("--error-summary")
    assert result.returncode == 0, f"mypy found errors:\n{result.stdout}{result.stderr}"
    checked = len(list((ROOT / "springpython").rglob("*.py")))
    assert f"Success: no issues found in {checked} source files" in result.stdout, result.stdout


def test_mypy_flags_misused_bean_constructors(mypy):
    """A misspelt or wrongly typed bean keyword is a mypy error with the expected code; a correct use is not."""
    snippet = SNIPPETS / "bean_misuse.py"
    expected = {
        n: match.group(1)
        for n, line in enumerate(snippet.read_text(encoding="utf-8").splitlines(), start=1)
        if (match := _EXPECT.search(line))
    }
    assert expected, f"{snippet} marks no line with '# expect: CODE'"
    result = mypy(str(snippet))
    found = {
        (int(m.group(1)), m.group(2))
        for m in re.finditer(rf"^{re.escape(str(snippet.relative_to(ROOT)))}:(\d+): error: .*\[([\w-]+)\]$",
                             result.stdout, re.MULTILINE)
    }
    missing = {(n, code) for n, code in expected.items() if (n, code) not in found}
    assert not missing, f"mypy did not report {sorted(missing)} (line, code); it said:\n{result.stdout}"
    unexpected = {(n, code) for n, code in found if n not in expected}
    assert not unexpected, f"mypy flagged correct uses {sorted(unexpected)} (line, code):\n{result.stdout}"
