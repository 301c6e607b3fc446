"""The sidebar's TypeScript answers to the server's contract and to its own unit tests.

Both checks use the ``node_modules`` that ``pip install -e .`` (``make .venv/.installed-test``)
installs for the lab extension build, and run with the system ``node``: the API types in
``labextension/src/openapi.ts`` must be what openapi-typescript makes of ``openapi.yaml`` today
(so a changed route cannot leave the sidebar reading fields that are gone), and the jest tests
of the pure functions (Python quoting, event paging, formatters, the paged-list reducer) pass.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
GENERATED = REPO / "labextension" / "src" / "openapi.ts"
SCRIPT = "build:api-types"
REGENERATE = f"PATH=$PWD/.venv/bin:$PATH jlpm {SCRIPT}"

pytestmark = pytest.mark.slow


def node_tool(name: str) -> Path:
    """``node_modules/.bin/<name>``, or a failure that says how to get it (never a skip)."""
    tool = REPO / "node_modules" / ".bin" / name
    if not tool.exists() or shutil.which("node") is None:
        pytest.fail(
            f"{tool.relative_to(REPO)} (or node) is missing: run `PATH=$PWD/.venv/bin:$PATH "
            "jlpm install` (or `make .venv/.installed-test` on a fresh clone)"
        )
    return tool


def generator_arguments(output: Path) -> list[str]:
    """The ``build:api-types`` script of package.json, writing to ``output`` instead.

    Read from package.json so that the check runs exactly the command developers run."""
    scripts = json.loads((REPO / "package.json").read_text())["scripts"]
    words = shlex.split(scripts[SCRIPT])
    assert words[0] == "openapi-typescript" and "-o" in words, scripts[SCRIPT]
    at = words.index("-o")
    assert Path(words[at + 1]) == GENERATED.relative_to(REPO), "the script writes elsewhere"
    return [str(node_tool(words[0])), *words[1:at], "-o", str(output), *words[at + 2 :]]


def test_the_generated_api_types_are_those_of_openapi_yaml(tmp_path: Path) -> None:
    fresh = tmp_path / "openapi.ts"
    run = subprocess.run(
        generator_arguments(fresh), cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stdout + run.stderr
    committed = GENERATED.read_text() if GENERATED.exists() else ""
    assert fresh.read_text() == committed, (
        f"{GENERATED.relative_to(REPO)} is not what openapi.yaml generates: run `{REGENERATE}`, "
        "fix the sidebar where it no longer compiles (`jlpm build`), and commit openapi.ts"
    )


def test_the_jest_unit_tests_of_the_sidebar_pass() -> None:
    env = {**os.environ, "PYTHON": sys.executable, "CI": "true", "FORCE_COLOR": "0"}
    run = subprocess.run(
        [str(node_tool("jest")), "--ci"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    report = run.stdout + run.stderr
    assert run.returncode == 0, report
    summary = next(line for line in report.splitlines() if line.startswith("Tests:"))
    assert " passed" in summary and " failed" not in summary, summary
