"""Seed a small demo registry so that ``make lab`` shows something on a fresh machine.

Two fake users and a shared folder with one duplicate on disk, registered through the same
``Registry`` API a scan uses: the sidebar, ``ddas.duplicates()`` and ``ddas stats`` have real rows.
Run ``python -m ddas.demo --seed-only`` with ``DDAS_REGISTRY``/``DDAS_STORE`` set.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ddas import config
from ddas.hashes import file_blake3
from ddas.registry import Registry

STATIONS = "station,lat,lon,temp\nOSLO,59.91,10.75,4.1\nBERGEN,60.39,5.32,7.3\n" * 50


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_bytes(data)
    return path


def seed(registry: Registry, root: Path) -> int:
    """Register the demo files unless the registry has datasets already; returns rows added."""
    if registry.search(limit=1).total:
        return 0
    shared = root / "shared"
    era5 = bytes(range(256)) * 8192  # 2 MiB, deterministic
    files = [
        (_write(shared / "alice" / "stations.csv", STATIONS.encode()), "alice"),
        (_write(shared / "bob" / "stations-copy.csv", STATIONS.encode()), "bob"),  # duplicate
        (_write(shared / "alice" / "era5_t2m_2020.nc", era5), "alice"),
    ]
    for path, owner in files:
        st = path.stat()
        registry.register_file(str(path), size=st.st_size, blake3=file_blake3(path),
                               mtime_ns=st.st_mtime_ns, device=st.st_dev, inode=st.st_ino,
                               owner=owner)  # fmt: skip
    return len(files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed-only", action="store_true", help="seed and exit")
    parser.add_argument("--root", default=os.environ.get("DDAS_DEMO_DIR"))
    args = parser.parse_args()
    root = Path(args.root) if args.root else config.store_root().parent
    added = seed(Registry(), root)
    print(f"ddas demo: {added} demo files registered in {config.registry_url()}")


if __name__ == "__main__":
    main()
