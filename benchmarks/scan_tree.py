"""A reproducible tree that looks like shared research storage, for ``benchmarks/scan.py``.

Sizes are log-normal (many small files, a few large ones, as on real project space); about a quarter of
the bytes are byte-identical copies of other files (what ``wget`` twice by two users leaves behind);
some files are equal-size near misses (same first 64 KiB, different tail), some are hard links (never
waste), some are symbolic links. Contents are slices of one random pool with a unique 16-byte header,
so generation runs at disk-write speed instead of ``os.urandom`` speed.
"""

from __future__ import annotations

import math
import os
import random
from dataclasses import dataclass
from pathlib import Path

_POOL_SIZE = 64 << 20
_MAX_FILE = 48 << 20


@dataclass(frozen=True)
class TreeStats:
    files: int
    bytes: int
    duplicate_bytes: int
    hardlinks: int
    symlinks: int
    near_misses: int


def _sizes(rng: random.Random, n: int, total: int) -> list[int]:
    sigma = 1.6
    mu = math.log(total / n) - sigma**2 / 2
    raw = [rng.lognormvariate(mu, sigma) for _ in range(n)]
    scale = total / sum(raw)
    return [max(1, min(int(s * scale), _MAX_FILE)) for s in raw]


def make_tree(
    root: str | os.PathLike[str],
    *,
    total_bytes: int = 3 << 30,
    n_files: int = 20_000,
    dup_fraction: float = 0.25,
    seed: int = 1,
) -> TreeStats:
    """Write the tree under ``root`` (which must not exist yet) and say what is in it."""
    rng = random.Random(seed)
    root = Path(root)
    root.mkdir(parents=True)
    pool = rng.randbytes(_POOL_SIZE)
    n_links, n_symlinks, n_near = n_files // 100, n_files // 500, n_files // 100
    # duplicates are drawn from the originals until they make up dup_fraction of all bytes
    n_orig_guess = int((n_files - n_links - n_symlinks - n_near) * (1 - dup_fraction))
    originals = _sizes(rng, n_orig_guess, int(total_bytes * (1 - dup_fraction)))
    dirs = [
        root / f"project{d:02d}" / f"run{s:03d}"
        for d in range(20)
        for s in range(max(1, n_files // 1000))
    ]
    for d in dirs:
        d.mkdir(parents=True, exist_ok=True)
    written: list[tuple[Path, int, int]] = []  # (path, size, pool offset)
    counter = 0

    def content(size: int, offset: int, tag: int) -> bytes:
        body = pool[offset : offset + size]
        return (tag.to_bytes(16, "little") + body[16:])[:size]

    def place(name: str) -> Path:
        nonlocal counter
        counter += 1
        ext = rng.choice([".nc", ".csv", ".tar.gz", ".h5", ".parquet", ".bin", ".fastq.gz"])
        return rng.choice(dirs) / f"{name}{counter:06d}{ext}"

    for size in originals:
        offset = rng.randrange(0, _POOL_SIZE - size + 1)
        path = place("data")
        path.write_bytes(content(size, offset, counter))
        written.append((path, size, counter))
    dup_bytes, n_dups = 0, 0
    budget = n_files - len(originals) - n_links - n_symlinks - n_near
    while dup_bytes < total_bytes * dup_fraction and n_dups < budget:
        src, size, _ = rng.choice(written)
        dest = place("copy")
        dest.write_bytes(src.read_bytes())
        dup_bytes += size
        n_dups += 1
    for _ in range(n_near):  # same size and head as an original, different tail
        src, size, _ = rng.choice([w for w in written[:2000] if w[1] > 32] or written)
        data = bytearray(src.read_bytes())
        data[-1] ^= 0xFF
        place("near").write_bytes(bytes(data))
    for _ in range(n_links):
        src = rng.choice(written)[0]
        os.link(src, place("link"))
    for _ in range(n_symlinks):
        src = rng.choice(written)[0]
        place("symlink").symlink_to(src)
    return TreeStats(
        files=len(originals) + n_dups + n_near + n_links + n_symlinks,
        bytes=sum(s for _, s, _ in written) + dup_bytes,
        duplicate_bytes=dup_bytes,
        hardlinks=n_links,
        symlinks=n_symlinks,
        near_misses=n_near,
    )
