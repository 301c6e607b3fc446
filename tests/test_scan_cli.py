"""``ddas scan`` and ``ddas dupes`` as a cron job would run them: a subprocess, JSON on stdout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ddas.scanning.cli import parse_size
from tests.test_scan import jdupes_groups, make_tree

REPO = Path(__file__).resolve().parents[1]


def run_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, timeout=120
    )
    if check and done.returncode:  # say why: a CalledProcessError would hide the stderr
        raise AssertionError(f"{args} exited {done.returncode}; its stderr:\n{done.stderr[-4000:]}")
    return done


def test_scan_json_then_dupes_json(ddas_env: dict[str, str], tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "shared")

    scanned = json.loads(
        run_cli("-m", "ddas.scanning.cli", "scan", str(tree), "--min-size", "1", "--json").stdout
    )

    assert set(scanned) == {"files", "bytes", "hashed_bytes", "duplicate_groups", "wasted_bytes"}
    assert scanned["duplicate_groups"] == 4 and scanned["files"] == 17
    groups = json.loads(run_cli("-m", "ddas.scanning.cli", "dupes", "--json").stdout)
    assert all(set(g) == {"blake3", "size", "paths"} for g in groups)
    as_inodes = {
        frozenset((os.stat(p).st_dev, os.stat(p).st_ino) for p in g["paths"]) for g in groups
    }
    assert as_inodes == jdupes_groups(tree)
    rescan = json.loads(
        run_cli("-m", "ddas.scanning.cli", "scan", str(tree), "--min-size", "1", "--json").stdout
    )
    assert rescan["hashed_bytes"] == 0 and rescan["duplicate_groups"] == 4


def test_human_output_and_exclude(ddas_env: dict[str, str], tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "shared")

    out = run_cli(
        "-m",
        "ddas.scanning.cli",
        "scan",
        str(tree),
        "--min-size",
        "64k",
        "--exclude",
        "*.tar.gz",
        "--exclude",
        "alice",
    )

    assert "1 duplicate groups" in out.stdout and "era5 (1).nc" in out.stdout
    assert "part0.tar.gz" not in out.stdout
    assert "broken-symlink" in out.stderr  # problems go to stderr, the exit code stays 0
    dupes = run_cli("-m", "ddas.scanning.cli", "dupes").stdout
    assert dupes.startswith("1 duplicate groups") and "era5.nc" in dupes


def test_bad_input_is_a_usage_error(ddas_env: dict[str, str], tmp_path: Path) -> None:
    missing = run_cli("-m", "ddas.scanning.cli", "scan", str(tmp_path / "nope"), check=False)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    bad_size = run_cli(
        "-m", "ddas.scanning.cli", "scan", str(tmp_path), "--min-size", "lots", check=False
    )
    assert bad_size.returncode == 2 and "is not a size" in bad_size.stderr


def test_cli_start_up_never_imports_pandas(ddas_env: dict[str, str], tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "shared")
    out = run_cli(
        "-X",
        "importtime",
        "-m",
        "ddas.scanning.cli",
        "scan",
        str(tree),
        "--min-size",
        "1",
        "--json",
    )
    imported = {line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines()}
    assert "ddas.scanning.engine" in imported
    assert not {"pandas", "tqdm", "matplotlib", "fsspec"} & imported


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4096", 4096),
        ("512k", 512 << 10),
        ("1M", 1 << 20),
        ("1MiB", 1 << 20),
        ("1MB", 10**6),
        ("1.5G", 3 << 29),
        ("2 GiB", 2 << 30),
        (7, 7),
    ],
)
def test_parse_size(text: str | int, expected: int) -> None:
    assert parse_size(text) == expected


def test_parse_size_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="is not a size"):
        parse_size("1 parsec")
