"""``make lab``'s demo seeding: real rows through the Registry API, idempotent."""

from __future__ import annotations

from pathlib import Path

from ddas.demo import seed
from ddas.registry import Registry


def test_demo_seed_registers_a_duplicate_once(registry: Registry, tmp_path: Path) -> None:
    assert seed(registry, tmp_path) == 3
    groups = registry.duplicates().items
    assert len(groups) == 1 and sorted(Path(p).name for p in groups[0].paths) == [
        "stations-copy.csv", "stations.csv"]  # fmt: skip
    assert seed(registry, tmp_path) == 0  # a registry with datasets is left alone
    assert registry.search().total == 2
