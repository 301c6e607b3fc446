"""The ``ddas`` command: fetch, find, stats, forget (scan, dupes, gc, verify, reclaim: :mod:`ddas.scanning`).

Designed for scripts as much as for people: ``--json`` everywhere, one-line errors on stderr, and
documented exit codes so a batch job can tell "bad URL" from "hash mismatch" from "already exists".
A digest (``--known-hash``, ``find``) is read by :func:`ddas.hashes.parse_digest`: bare hex is BLAKE3.
Exit codes:


====  =======================================================
0     success
1     other DDAS error (registry schema too new, ...)
2     usage error (click)
3     invalid URL, unreachable host or remote error — nothing registered
4     hash mismatch (``--known-hash``) — nothing kept
5     duplicate refused (``--policy error``) — the copies are listed
6     timed out waiting for another user's download
7     not allowed (JupyterHub service: not a member, not the owner or an admin)
====  =======================================================
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import click

from ddas.errors import (
    DDASError,
    DuplicateDownloadError,
    HashMismatchError,
    InvalidURLError,
    LeaseTimeoutError,
    NotAllowedError,
    RemoteError,
)
from ddas.records import MAX_PAGE
from ddas.vocabulary import POLICIES

EXIT_CODES: dict[type[BaseException], int] = {
    InvalidURLError: 3,
    RemoteError: 3,
    HashMismatchError: 4,
    DuplicateDownloadError: 5,
    LeaseTimeoutError: 6,
    NotAllowedError: 7,
    DDASError: 1,
}


def _run(action: Callable[[], Any]) -> Any:
    """Turn DDAS's typed errors into one line on stderr and a documented exit code."""
    try:
        return action()
    except tuple(EXIT_CODES) as exc:
        code = next(c for t, c in EXIT_CODES.items() if isinstance(exc, t))
        click.echo(f"ddas: error: {exc}", err=True)
        if isinstance(exc, DuplicateDownloadError):
            for copy in exc.copies:
                click.echo(f"  {copy.location}\t{copy.owner}", err=True)
        sys.exit(code)
    except ValueError as exc:  # bad option values (policy, known_hash) from the library
        click.echo(f"ddas: error: {exc}", err=True)
        sys.exit(2)


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ddas")
def main() -> None:
    """DDAS: find datasets someone already downloaded before downloading them again."""


@main.command()
@click.argument("url")
@click.option("--dest", type=click.Path(), help="File or folder to link the dataset into.")
@click.option(
    "--policy",
    type=click.Choice([p for p in POLICIES if p != "ask"]),  # a script has nobody to ask
    default=None,
    help="On a hit: reuse (default), warn (download anyway) or error.",
)
@click.option("--known-hash", default=None, help="Expected digest, e.g. sha256:…")
@click.option("--json", "as_json", is_flag=True, help="Print path, reused, blake3, size, source.")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a TTY).")
@click.option(
    "--tree",
    is_flag=True,
    help="URL is a folder (S3 prefix, HTTP listing, glob): fetch every file, print the folder.",
)
def fetch(
    url: str,
    dest: str | None,
    policy: str | None,
    known_hash: str | None,
    as_json: bool,
    progress: bool | None,
    tree: bool,
) -> None:
    """Print a local path to URL's dataset, downloading it only if nobody has it."""
    from ddas.api import fetch_result

    if tree:
        if known_hash:
            raise click.UsageError("--known-hash names one file; it cannot check a --tree")
        from ddas.trees import fetch_tree_result

        done = _run(
            lambda: fetch_tree_result(url, dest, policy=policy, progress=progress, quiet=as_json)
        )
        if as_json:
            _echo_json(done.to_dict())
        else:
            click.echo(str(done.path))
        return
    result = _run(
        lambda: fetch_result(
            url, dest, policy=policy, known_hash=known_hash, progress=progress, quiet=as_json
        )
    )
    if as_json:
        _echo_json(result.to_dict())
    else:
        click.echo(str(result.path))


@main.command()
@click.argument("query")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, MAX_PAGE))
@click.option("--json", "as_json", is_flag=True)
def find(query: str, limit: int, as_json: bool) -> None:
    """Find copies by URL, digest (alg:hex; bare hex is blake3) or text in names and URLs."""
    from ddas import config
    from ddas.hashes import digest_or_none
    from ddas.registry import Registry

    def search() -> list[dict[str, Any]]:
        if config.registry_service():
            from ddas.remote.api import find as remote_find

            return remote_find(query, limit)
        registry = Registry()
        if "://" in query:
            copies = registry.copies_for_url(query)
        elif digest_or_none(query) is not None:  # the rule --known-hash reads it by, too
            copies = registry.copies_for_digest(query)
        else:
            page = registry.search(query, limit=limit)
            copies = [c for item in page.items for c in registry.copies_for_content(item.id)]
        return [c.to_dict() for c in copies[:limit]]

    rows = _run(search)
    if as_json:
        _echo_json(rows)
        return
    if not rows:
        click.echo("no copies found", err=True)
        sys.exit(1)
    for row in rows:
        click.echo(f"{row['location']}\t{row['owner']}\t{row['size']}\t{row['state']}")


@main.command()
@click.option("--json", "as_json", is_flag=True)
def stats(as_json: bool) -> None:
    """Downloads and bytes saved, by user and file type."""
    from ddas import config
    from ddas.registry import Registry
    from ddas.units import human_size

    if config.registry_service():
        from ddas.remote.api import stats as remote_stats

        data = _run(remote_stats)
    else:
        data = _run(lambda: Registry().stats())
    if as_json:
        _echo_json(data.to_dict())
        return
    click.echo(
        f"datasets: {data.contents}  present copies: {data.copy_count}  "
        f"duplicate groups: {data.duplicate_groups}  "
        f"wasted: {human_size(data.wasted_bytes)}"
    )
    click.echo(
        f"downloads: {data.downloads}  reuses: {data.reuses}  saved: {human_size(data.bytes_saved)}"
    )
    for row in data.by_user:
        click.echo(f"  {row.user}: {row.reuses} reuses, {human_size(row.bytes_saved)} saved")


@main.command()
@click.argument("copy_id", type=click.IntRange(1))
def forget(copy_id: int) -> None:
    """Forget copy COPY_ID (as listed by find --json); the file itself is left alone."""
    from ddas.api import forget as forget_copy

    _run(lambda: forget_copy(copy_id))
    click.echo(f"forgot copy {copy_id}")


def _attach_scan_commands() -> None:
    """``scan``, ``dupes`` and the store's lifecycle (``gc``, ``verify``, ``reclaim``) live with
    the scanner, in :mod:`ddas.scanning`."""
    from ddas.scanning import cli as scan_cli
    from ddas.scanning.lifecycle_cli import COMMANDS

    for command in (scan_cli.scan, scan_cli.dupes, *COMMANDS):
        main.add_command(command)


_attach_scan_commands()
