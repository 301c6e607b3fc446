"""``ddas gc``, ``ddas verify`` and ``ddas reclaim``: the store's lifecycle from the command line.

Each prints what it found and what it would do; only ``--apply`` acts. ``--json`` prints the report
as one JSON object for scripts. Exit status 0 whatever was found (a report is not a failure).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from ddas.scanning.options import registry_option
from ddas.units import human_size

apply_option = click.option("--apply", is_flag=True, help="Act (default: a dry run that reports).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
store_option = click.option(
    "--store", "store_root", default=None, metavar="DIR", help="Store (default: $DDAS_STORE)."
)


def _run(fn: Any) -> Any:
    from ddas.errors import DDASError

    try:
        return fn()
    except DDASError as exc:
        click.echo(f"ddas: error: {exc}", err=True)
        sys.exit(1)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc


def _paths(title: str, paths: list[str], limit: int = 20) -> None:
    if paths:
        click.echo(f"{title} ({len(paths)}):")
        for p in paths[:limit]:
            click.echo(f"  {p}")


@click.command("gc")
@registry_option
@store_option
@click.option("--max-age", type=float, default=None, help="Temp files older than this (s).")
@apply_option
@json_option
def gc(
    registry_url: str | None,
    store_root: str | None,
    max_age: float | None,
    apply: bool,
    as_json: bool,
) -> None:
    """Orphan store files, stale temp files and partials, contents with no copy left
    (remove and forget: --apply)."""
    from ddas.scanning.lifecycle import gc as run

    report = _run(lambda: run(registry_url, store_root, apply=apply, max_age=max_age))
    if as_json:
        click.echo(json.dumps(report.to_dict()))
        return
    verb = "removed" if apply else "would remove"
    _paths("orphan store files", report.orphans)
    _paths("stale temp files", report.stale_temps)
    left = report.contents_without_copies
    _paths("contents with no copy left", [f"{c['blake3']} {c['name']}" for c in left])
    click.echo(
        f"{verb} {len(report.orphans) + len(report.stale_temps)} files, "
        f"{human_size(report.freed_bytes)}; "
        f"{'forgot' if apply else 'would forget'} {len(left)} contents with no copy left"
    )


@click.command("verify")
@registry_option
@store_option
@click.option("--sample", type=click.IntRange(1), default=None, help="Check N copies at random.")
@click.option("--root", "roots", multiple=True, help="Only copies under this folder; repeatable.")
@apply_option
@json_option
def verify(
    registry_url: str | None,
    store_root: str | None,
    sample: int | None,
    roots: tuple[str, ...],
    apply: bool,
    as_json: bool,
) -> None:
    """Re-hash copies; mark missing/corrupt and quarantine corrupt store files (--apply)."""
    from ddas.scanning.lifecycle import verify as run

    report = _run(
        lambda: run(registry_url, store_root, sample=sample, roots=list(roots) or None, apply=apply)
    )
    if as_json:
        click.echo(json.dumps(report.to_dict()))
        return
    click.echo(
        f"checked {report.checked} copies ({human_size(report.hashed_bytes)}): {report.ok} ok"
    )
    _paths("missing", report.missing)
    _paths("corrupt", report.corrupt)
    _paths("unreadable", report.unreadable)
    _paths("quarantined", report.quarantined)
    if not apply and (report.missing or report.corrupt):
        click.echo("dry run: --apply marks them (and quarantines corrupt store files)")


@click.command("reclaim")
@registry_option
@click.option(
    "--mode", type=click.Choice(["auto", "reflink", "hardlink"]), default="auto", show_default=True
)
@click.option("--force-owner", is_flag=True, help="Admins only: also link across owners.")
@apply_option
@json_option
def reclaim(
    registry_url: str | None, mode: str, force_owner: bool, apply: bool, as_json: bool
) -> None:
    """Replace duplicate copies on one file system by links to one kept copy (--apply)."""
    from ddas.scanning.reclaim import reclaim as run

    report = _run(lambda: run(registry_url, apply=apply, mode=mode, force_owner=force_owner))
    if as_json:
        click.echo(json.dumps(report.to_dict()))
        return
    for row in report.linked[:50]:
        click.echo(f"  {row['path']} -> {row['keep']} ({row['how']})")
    for row in report.skipped[:50]:
        click.echo(f"  skipped {row['path']}: {row['reason']}")
    verb = "reclaimed" if apply else "would reclaim"
    click.echo(
        f"{verb} {human_size(report.reclaimed_bytes)} in {len(report.linked)} copies; "
        f"{len(report.skipped)} skipped"
    )


COMMANDS = [gc, verify, reclaim]
