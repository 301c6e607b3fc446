"""The options the scan commands share (``--registry``, sizes), in a module of their own.

``ddas scan``/``ddas dupes`` (:mod:`ddas.scanning.cli`) and the store's lifecycle commands
(:mod:`ddas.scanning.lifecycle_cli`) both use them; keeping them here, rather than in one of the two
command modules, keeps the import graph a tree: the lifecycle commands need not import the scan
command to borrow its options.
"""

from __future__ import annotations

import re

import click

_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$", re.IGNORECASE)


def parse_size(text: str | int) -> int:
    """``1048576``, ``1M``, ``1MiB`` (binary) or ``1MB`` (decimal, 10**6) -> bytes."""
    if isinstance(text, int):
        return text
    match = _SIZE.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a size; write e.g. 4096, 512k, 1M, 1MiB or 1MB")
    number, unit, suffix = match.groups()
    unit = unit.lower()
    decimal = suffix.lower() == "b" and unit != ""
    factor = 1000 ** "kmgt".index(unit) * 1000 if decimal else _UNITS[unit]
    return int(float(number) * factor)


def size_option(_ctx: click.Context, _param: click.Parameter, value: str) -> int:
    """A click callback turning a size option's text into bytes, or a usage error saying why not."""
    try:
        return parse_size(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


registry_option = click.option(
    "--registry",
    "registry_url",
    default=None,
    metavar="URL",
    help="Registry database (default: $DDAS_REGISTRY).",
)
