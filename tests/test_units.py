"""Sizes read the same in the notebook card, the CLI, the scan report and the sidebar."""

from __future__ import annotations

import pytest

from ddas.alerts import human_size as alerts_human_size
from ddas.units import human_size


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (None, "?"),
        (0, "0 B"),
        (999, "999 B"),
        (1000, "1.0 kB"),
        (1536, "1.5 kB"),
        (200_000, "200 kB"),
        (999_960, "1.0 MB"),
        (4_200_000_000, "4.2 GB"),
        (-2048, "-2.0 kB"),
        (10**18, "1.0 EB"),
        (10**21, "1000 EB"),
    ],
)
def test_sizes_use_the_sidebars_decimal_units(n, text) -> None:
    assert human_size(n) == text


def test_the_alert_card_uses_the_same_words() -> None:
    assert alerts_human_size is human_size
