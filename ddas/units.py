"""Sizes as people read them, the same everywhere DDAS shows one.

Decimal (SI) units, as download pages, data portals and storage quotas show them, and exactly as
the JupyterLab sidebar's ``formatBytes`` does: an alert card, a CLI line, a scan report and a
sidebar toast about one dataset must all say "4.2 GB", not "3.9 GiB" in one place and "4.2 GB" in
another.
"""

from __future__ import annotations

UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB")


def human_size(n: float | None) -> str:
    """``1536`` -> ``'1.5 kB'``; ``None`` (unknown) -> ``'?'``. Three significant digits at most."""
    if n is None:
        return "?"
    sign = "-" if n < 0 else ""
    value, unit = abs(float(n)), 0
    while value >= 1000 and unit < len(UNITS) - 1:
        value /= 1000
        unit += 1
    if unit == 0:
        return f"{sign}{value:.0f} B"
    digits = 0 if value >= 100 else 1
    if float(f"{value:.{digits}f}") >= 1000 and unit < len(UNITS) - 1:  # 999.96 kB -> 1.0 MB
        value /= 1000
        unit += 1
    return f"{sign}{value:.{0 if value >= 100 else 1}f} {UNITS[unit]}"
