"""The documentation builds without a warning, and what it names exists: every environment variable,
server setting and command option the docs mention is checked against the code, and the documented
defaults against what the code does. Docs that drift from the code fail here."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
DOCS = [*sorted((REPO / "docs").glob("*.md")), REPO / "README.md"]
SERVER = REPO / "jupyter_server_ext" / "ddas_server"
CODE = [*(REPO / "ddas").rglob("*.py"), *SERVER.rglob("*.py")]


def doc_text() -> str:
    return "\n".join(p.read_text() for p in DOCS)


@pytest.mark.slow
def test_mkdocs_build_strict_publishes_the_openapi_contract(tmp_path: Path) -> None:
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    print(f"mkdocs build --strict: {time.monotonic() - started:.1f} s")
    assert run.returncode == 0, run.stderr[-3000:]
    assert "WARNING" not in run.stderr, run.stderr[-3000:]

    site = tmp_path / "site"
    spec_file = REPO / "jupyter_server_ext" / "ddas_server" / "openapi.yaml"
    assert (site / "openapi.yaml").read_bytes() == spec_file.read_bytes()
    reference = (site / "rest-reference" / "index.html").read_text()
    spec = yaml.safe_load(spec_file.read_text())
    for path, item in spec["paths"].items():
        for method in item:
            assert f"{method.upper()} {path}" in reference
    assert 'href="../openapi.yaml"' in (site / "rest-api" / "index.html").read_text()
    for page in ("concepts", "user-guide", "admin-guide", "quickstart", "troubleshooting", "cli"):
        assert (site / page / "index.html").exists()


def test_every_documented_environment_variable_is_read_by_the_code() -> None:
    code = "\n".join(p.read_text() for p in CODE)
    named = set(re.findall(r"\bDDAS_[A-Z][A-Z0-9_]*\b", doc_text()))
    assert {"DDAS_REGISTRY", "DDAS_STORE", "DDAS_USER", "DDAS_POLICY"} <= named
    assert sorted(v for v in named if f'"{v}"' not in code) == []


def test_documented_defaults_of_environment_variables_are_the_codes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ddas import config

    for name in ("DDAS_POLICY", "DDAS_LINK_MODE", "DDAS_LEASE_TTL", "DDAS_LEASE_WAIT"):
        monkeypatch.delenv(name, raising=False)
    actual = {
        "DDAS_POLICY": config.default_policy(),
        "DDAS_LINK_MODE": config.link_mode(),
        "DDAS_LEASE_TTL": config.lease_ttl(),
        "DDAS_LEASE_WAIT": config.lease_wait(),
    }
    table = (REPO / "docs" / "user-guide.md").read_text()
    for name, value in actual.items():
        row = re.search(rf"^\| `{name}` \|[^|]*\| `([^`]+)`", table, re.MULTILINE)
        assert row, f"{name} has no default in the user guide's table"
        documented = row.group(1)
        assert documented == str(value) or float(documented) == value, name


def test_every_documented_server_setting_is_a_traitlet_with_that_default() -> None:
    from ddas_server.app import DDASExtension

    traits = DDASExtension.class_traits(config=True)
    text = doc_text()
    named = set(re.findall(r"DDASExtension\.([a-z_]+)", text))
    assert len(named) >= 10
    assert sorted(named - set(traits)) == []
    # rows of the settings tables: | `c.DDASExtension.name` | default | meaning |
    compared = 0
    for name, default in re.findall(
        r"^\| `c\.DDASExtension\.([a-z_]+)` \| `?([^|`]+)`? \|", text, re.MULTILINE
    ):
        try:
            value = ast.literal_eval(default.strip())
        except (ValueError, SyntaxError):
            continue  # prose such as "empty" or "DDAS_REGISTRY, as the library"
        assert traits[name].default() == value, name
        compared += 1
    assert compared >= 6  # True, {"http", "https"}, 4, True in two tables


def test_every_documented_command_option_exists() -> None:
    import click

    from ddas.cli import main

    synopsis = re.search(r"```\n(ddas fetch.*?)```", (REPO / "docs" / "cli.md").read_text(), re.S)
    assert synopsis
    checked = 0
    for line in re.split(r"\n(?=ddas )", synopsis.group(1).strip()):
        words = line.split()
        command = main.commands.get(words[1]) if len(words) > 1 else None
        options: set[str] = {"--help", "-h"}
        if command is None:
            options |= {"--version"}
            params = main.params
        else:
            params = command.params
        for param in params:
            if isinstance(param, click.Option):
                options |= {*param.opts, *param.secondary_opts}
        for flag in re.findall(r"--[a-z][a-z-]*", line):
            assert flag in options, f"{line.split()[:2]}: {flag} is not an option"
            checked += 1
    assert checked >= 15


def test_readme_keeps_the_two_quickstart_commands_first() -> None:
    readme = (REPO / "README.md").read_text()
    quickstart = readme.split("## Quickstart", 1)[1]
    first_block = quickstart.split("```")[1]
    assert [line.split()[:2] for line in first_block.splitlines()[1:3]] == [
        ["make", "lab"],
        ["make", "test"],
    ]
    for page in re.findall(r"\]\((docs/[^)#]+)", readme):
        assert (REPO / page).exists(), page
