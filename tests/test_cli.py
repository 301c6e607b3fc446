"""The ``ddas`` command as a script would use it: JSON output, one-line errors, exit codes."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from ddas.cli import main
from ddas.registry import Registry
from tests.fixtures.http_server import CountingServer

DATA = b"0123456789" * 10_000


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_fetch_json_then_find_by_url_digest_and_text(
    ddas_env: dict[str, str], http_server: CountingServer, runner: CliRunner
) -> None:
    url = http_server.add("cli/tas_day.nc", DATA)
    first = runner.invoke(main, ["fetch", url, "--json"])
    assert first.exit_code == 0, first.output
    info = json.loads(first.stdout)
    assert info["reused"] is False and info["size"] == len(DATA) and info["source"] == url
    second = json.loads(runner.invoke(main, ["fetch", url, "--json"]).stdout)
    assert second["reused"] is True and second["path"] == info["path"]

    for query in (url, info["blake3"], f"blake3:{info['blake3']}", "tas_day"):
        found = runner.invoke(main, ["find", query, "--json"])
        assert found.exit_code == 0, found.output
        assert [c["location"] for c in json.loads(found.stdout)] == [info["path"]], query
    plain = runner.invoke(main, ["find", "tas_day"])
    assert info["path"] in plain.stdout
    assert runner.invoke(main, ["find", "nothing-like-this"]).exit_code == 1


def test_stats_json(
    ddas_env: dict[str, str], http_server: CountingServer, runner: CliRunner
) -> None:
    url = http_server.add("cli/pr.nc", DATA)
    runner.invoke(main, ["fetch", url])
    runner.invoke(main, ["fetch", url])
    stats = json.loads(runner.invoke(main, ["stats", "--json"]).stdout)
    assert stats["downloads"] == 1 and stats["reuses"] == 1 and stats["bytes_saved"] == len(DATA)
    assert "saved" in runner.invoke(main, ["stats"]).stdout


@pytest.mark.parametrize(
    ("url", "message"),
    [("http://", "no host"), ("ftp:/x", "://"), ("http://127.0.0.1:9/x.nc", "cannot reach")],
)
def test_bad_urls_give_one_line_exit_3_and_register_nothing(
    ddas_env: dict[str, str], runner: CliRunner, url: str, message: str
) -> None:
    result = runner.invoke(main, ["fetch", url])
    assert result.exit_code == 3
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert Registry().search().total == 0


def test_policy_error_exit_5_lists_copies(
    ddas_env: dict[str, str], http_server: CountingServer, runner: CliRunner
) -> None:
    url = http_server.add("cli/dup.nc", DATA)
    path = runner.invoke(main, ["fetch", url]).stdout.strip()
    result = runner.invoke(main, ["fetch", url, "--policy", "error"])
    assert result.exit_code == 5 and path in result.stderr


def test_hash_mismatch_exit_4(
    ddas_env: dict[str, str], http_server: CountingServer, runner: CliRunner
) -> None:
    url = http_server.add("cli/bad.nc", DATA)
    result = runner.invoke(main, ["fetch", url, "--known-hash", "md5:" + "0" * 32])
    assert result.exit_code == 4 and "expected" in result.stderr


def test_fetch_known_hash_and_find_read_a_bare_digest_the_same_way(
    ddas_env: dict[str, str], http_server: CountingServer, runner: CliRunner
) -> None:
    import hashlib

    import blake3

    url = http_server.add("cli/same-rule.nc", DATA)
    b3, sha = blake3.blake3(DATA).hexdigest(), hashlib.sha256(DATA).hexdigest()
    # a bare sha256 (as pooch writes it) is read as BLAKE3: refused, nothing kept, and told how
    refused = runner.invoke(main, ["fetch", url, "--known-hash", sha])
    assert refused.exit_code == 4 and f"'sha256:{sha[:8]}…'" in refused.stderr
    assert "These bytes do have sha256" in refused.stderr  # right bytes, wrong spelling
    assert Registry().copies_for_url(url) == []
    # the bare BLAKE3 is accepted by fetch and found by find: the same string, the same content
    fetched = runner.invoke(main, ["fetch", url, "--known-hash", b3, "--json"])
    assert fetched.exit_code == 0, fetched.output
    path = json.loads(fetched.stdout)["path"]
    for query in (b3, f"BLAKE3:{b3.upper()}"):
        found = runner.invoke(main, ["find", query, "--json"])
        assert [c["location"] for c in json.loads(found.stdout)] == [path], query
    assert runner.invoke(main, ["find", sha]).exit_code == 1  # bare: BLAKE3, and no such content
