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


class _Placer:
    """Where the next file of the tree goes and what it holds: a run folder picked at random, a
    numbered name with a dataset's extension, bytes cut from one random pool."""

    def __init__(self, rng: random.Random, dirs: list[Path], pool: bytes) -> None:
        self.rng, self.dirs, self.pool, self.counter = rng, dirs, pool, 0

    def content(self, size: int, offset: int, tag: int) -> bytes:
        body = self.pool[offset : offset + size]
        return (tag.to_bytes(16, "little") + body[16:])[:size]

    def place(self, name: str) -> Path:
        self.counter += 1
        ext = self.rng.choice([".nc", ".csv", ".tar.gz", ".h5", ".parquet", ".bin", ".fastq.gz"])
        return self.rng.choice(self.dirs) / f"{name}{self.counter:06d}{ext}"


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
    placer = _Placer(rng, dirs, pool)
    written: list[tuple[Path, int, int]] = []  # (path, size, pool offset)
    for size in originals:
        offset = rng.randrange(0, _POOL_SIZE - size + 1)
        path = placer.place("data")
        path.write_bytes(placer.content(size, offset, placer.counter))
        written.append((path, size, placer.counter))
    budget = n_files - len(originals) - n_links - n_symlinks - n_near
    dup_bytes, n_dups = _duplicates(placer, written, total_bytes * dup_fraction, budget)
    _near_links_and_symlinks(placer, written, n_near, n_links, n_symlinks)
    return TreeStats(
        files=len(originals) + n_dups + n_near + n_links + n_symlinks,
        bytes=sum(s for _, s, _ in written) + dup_bytes,
        duplicate_bytes=dup_bytes,
        hardlinks=n_links,
        symlinks=n_symlinks,
        near_misses=n_near,
    )


def _duplicates(
    placer: _Placer, written: list[tuple[Path, int, int]], bytes_wanted: float, budget: int
) -> tuple[int, int]:
    """Byte-for-byte copies of random originals, until they hold ``bytes_wanted`` or ``budget``
    files; returns their bytes and their number."""
    dup_bytes, n_dups = 0, 0
    while dup_bytes < bytes_wanted and n_dups < budget:
        src, size, _ = placer.rng.choice(written)
        placer.place("copy").write_bytes(src.read_bytes())
        dup_bytes += size
        n_dups += 1
    return dup_bytes, n_dups


def _near_links_and_symlinks(
    placer: _Placer, written: list[tuple[Path, int, int]], n_near: int, n_links: int, n_sym: int
) -> None:
    """What a duplicate finder must *not* count as waste: near misses (same size and head, a
    different last byte), hard links (one inode) and symlinks."""
    rng = placer.rng
    for _ in range(n_near):
        src = rng.choice([w for w in written[:2000] if w[1] > 32] or written)[0]
        data = bytearray(src.read_bytes())
        data[-1] ^= 0xFF
        placer.place("near").write_bytes(bytes(data))
    for _ in range(n_links):
        os.link(rng.choice(written)[0], placer.place("link"))
    for _ in range(n_sym):
        src = rng.choice(written)[0]  # drawn before the place, as the trees were always made
        placer.place("symlink").symlink_to(src)


def make_small_tree(
    root: str | os.PathLike[str],
    *,
    n_files: int = 100_000,
    min_size: int = 1 << 10,
    max_size: int = 16 << 10,
    dup_fraction: float = 0.25,
    seed: int = 2,
) -> TreeStats:
    """Many small files (uniform ``min_size``..``max_size``), ``dup_fraction`` of them copies.

    This is the shape that makes per-file cost the whole cost: with 15,000 possible sizes and
    100,000 files nearly every size collides, so every file must be read. 1,000 files a folder.
    """
    rng = random.Random(seed)
    root = Path(root)
    root.mkdir(parents=True)
    pool = rng.randbytes(_POOL_SIZE)
    n_orig = n_files - int(n_files * dup_fraction)
    originals: list[tuple[int, int]] = []  # (size, pool offset); the index is the header
    total = dup_bytes = 0
    for i in range(n_files):
        folder = root / f"d{i // 100_000:02d}" / f"s{(i // 1000) % 100:02d}"
        if i % 1000 == 0:
            folder.mkdir(parents=True, exist_ok=True)
        if i < n_orig:
            tag = i
            originals.append((rng.randint(min_size, max_size), rng.randrange(_POOL_SIZE >> 1)))
        else:
            tag = rng.randrange(n_orig)
            dup_bytes += originals[tag][0]
        size, offset = originals[tag]
        body = tag.to_bytes(16, "little") + pool[offset + 16 : offset + size]
        fd = os.open(folder / f"f{i:07d}.dat", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, body)
        finally:
            os.close(fd)
        total += size
    return TreeStats(
        files=n_files,
        bytes=total,
        duplicate_bytes=dup_bytes,
        hardlinks=0,
        symlinks=0,
        near_misses=0,
    )
