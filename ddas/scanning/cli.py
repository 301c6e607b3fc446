"""``ddas scan ROOT...`` and ``ddas dupes``: the command-line face of scans.

Both are plain click commands, attached to the main ``ddas`` group by :mod:`ddas.cli`, and usable on
their own (``python -m ddas.scanning.cli scan /shared``). Start-up stays lean for cron jobs: nothing
heavier than click is imported until the command runs, and pandas never is.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

from ddas.scanning.options import parse_size, registry_option, size_option
from ddas.units import human_size

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ddas.scanning.report import ScanReport

__all__ = ["dupes", "main", "parse_size", "registry_option", "scan"]


@click.command("scan")
@click.argument("roots", nargs=-1, required=True)
@click.option(
    "--min-size",
    default="1MiB",
    show_default=True,
    callback=size_option,
    help="Register files of at least this size (4096, 512k, 1M, 1MiB, 1MB).",
)
@click.option(
    "--exclude",
    multiple=True,
    metavar="GLOB",
    help="Skip names (*.tmp) or paths (/shared/scratch/*); repeatable.",
)
@click.option("--follow-symlinks", is_flag=True, help="Follow symbolic links to files and folders.")
@click.option("--workers", type=click.IntRange(1, 256), default=None, help="Reader threads.")
@click.option(
    "--processes",
    type=click.IntRange(0, 64),
    default=None,
    help="Processes hashing small files (default: one per core; 0: threads only).",
)
@click.option(
    "--cluster",
    default=None,
    metavar="tcp://HOST:PORT",
    help="Walk and hash on the workers of this dask scheduler (pip install 'ddas[dask]').",
)
@registry_option
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress bar on stderr (default: when stderr is a terminal).",
)
def scan(
    roots: tuple[str, ...],
    min_size: int,
    exclude: tuple[str, ...],
    follow_symlinks: bool,
    workers: int | None,
    processes: int | None,
    cluster: str | None,
    registry_url: str | None,
    as_json: bool,
    progress: bool | None,
) -> None:
    """Scan ROOTS (folders or fsspec URLs), register the datasets found, report duplicates."""
    from ddas.errors import DDASError
    from ddas.scanning.engine import default_processes
    from ddas.scanning.engine import scan as run_scan

    show = sys.stderr.isatty() if progress is None else progress
    try:
        report = run_scan(
            list(roots),
            min_size=min_size,
            exclude=exclude,
            follow_symlinks=follow_symlinks,
            workers=workers,
            processes=default_processes() if processes is None else processes,
            registry=registry_url,
            progress=show,
            client=cluster,
        )
    except (FileNotFoundError, ValueError) as exc:
        raise click.UsageError(str(exc)) from exc
    except DDASError as exc:
        click.echo(f"ddas: error: {exc}", err=True)
        sys.exit(1)
    summary = report.summary()
    if as_json:
        click.echo(json.dumps({**summary, "workers": report.workers} if cluster else summary))
        return
    _echo(report)


def _echo(report: ScanReport) -> None:
    """The scan's summary for a person: counts, the ten most wasteful groups, what failed."""
    summary = report.summary()
    counts = report.counts()
    click.echo(
        f"{summary['files']} files, {human_size(summary['bytes'])} "
        f"({counts['new']} new, {counts['changed']} changed, {counts['unchanged']} unchanged"
        f"), {counts['missing']} now missing, read {human_size(summary['hashed_bytes'])} "
        f"in {counts['seconds']:.2f} s"
    )
    click.echo(
        f"{summary['duplicate_groups']} duplicate groups, "
        f"{human_size(summary['wasted_bytes'])} wasted"
    )
    for group in report.groups(limit=10):
        click.echo(
            f"  {human_size(group['wasted_bytes'])} wasted: {group['copy_count']} copies of "
            f"{human_size(group['size'])} ({group['blake3'][:12]})"
        )
        for path in group["paths"]:
            click.echo(f"    {path}")
    if report.error_list:
        click.echo(f"{len(report.error_list)} could not be scanned:", err=True)
        for error in report.error_list[:20]:
            click.echo(f"  {error.kind}: {error.path} ({error.message})", err=True)


@click.command("dupes")
@registry_option
@click.option("--limit", type=click.IntRange(1), default=None, help="Show the N most wasteful.")
@click.option("--json", "as_json", is_flag=True, help="Print the groups as JSON.")
def dupes(registry_url: str | None, limit: int | None, as_json: bool) -> None:
    """List the registry's duplicate groups (present copies on distinct inodes)."""
    from ddas.registry import Registry

    page = Registry(registry_url).duplicates(limit=limit)
    groups = [{"blake3": g.blake3, "size": g.size, "paths": g.paths} for g in page.items]
    if as_json:
        click.echo(json.dumps(groups))
        return
    total = sum(g.wasted_bytes for g in page.items)
    click.echo(
        f"{page.total} duplicate groups, {human_size(total)} wasted"
        + (f" (showing {len(groups)})" if len(groups) < page.total else "")
    )
    for g in page.items:
        click.echo(
            f"{human_size(g.wasted_bytes)} wasted: {g.name} ({human_size(g.size)}, {g.blake3[:12]})"
        )
        for c in g.copy_list:
            click.echo(f"    {c.host + ':' if c.host else ''}{c.location}  ({c.owner})")


def _group() -> click.Group:
    from ddas.scanning.lifecycle_cli import COMMANDS

    return click.Group(
        "ddas-scan",
        commands=[scan, dupes, *COMMANDS],
        help="Scan shared storage for datasets and duplicates; keep the store tidy.",
    )


def main() -> None:
    """``python -m ddas.scanning`` (or ``python -m ddas.scanning.cli``)."""
    _group()()


if __name__ == "__main__":  # pragma: no cover - exercised through a subprocess in the tests
    main()
