"""Resolving one size group: which of its files are the same content, and that content's BLAKE3.

Per group (files of one size on distinct inodes), in one worker task:

1. small files (up to 64 KiB) are read whole and hashed: done;
2. larger ones are sampled (head + tail) and split by sample;
3. within each split, one unknown copy is hashed while every other copy is *compared* with it
   chunk by chunk, in lockstep (``memcmp`` costs a fraction of a hash: a set of ``k`` identical
   copies is read ``k`` times but hashed once, which is what jdupes does to confirm its matches).
   Byte-equal files have the same BLAKE3, so each gets the hash without being hashed; a copy that
   turns out to differ in the middle is hashed on its own.

Copies whose content hash is already known (unchanged since the last scan) are sampled so that new
copies can be compared with them, but never read in full.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import blake3

from ddas.hashes import MMAP_THRESHOLD
from ddas.scanning import hashing
from ddas.scanning.walk import FileEntry

CHUNK = 1 << 20  #: lockstep comparison block (remote: one ranged request per block and copy)


@dataclass
class GroupResult:
    """Content hashes found (identity -> BLAKE3), bytes read, and the files that failed."""

    digests: dict[tuple, str] = field(default_factory=dict)
    nread: int = 0
    failed: list[tuple[FileEntry, BaseException]] = field(default_factory=list)


def resolve(
    members: list[FileEntry], known: dict[tuple, str], must_hash: frozenset | set = frozenset()
) -> GroupResult:
    """Hash what must be hashed among ``members`` (one per identity, all of one size)."""
    out = GroupResult()
    unknown = [m for m in members if m.ident not in known]
    if len(members) == 1:  # a changed file that had a hash: hash it again
        _hash_alone(unknown, out)
        return out
    by_sample: dict[str, list[FileEntry]] = defaultdict(list)
    for m in members:
        try:
            digest, is_full, nread = hashing.sample(m)
        except Exception as exc:  # reported by the caller; the rest of the group goes on
            out.failed.append((m, exc))
            continue
        out.nread += nread
        if is_full:
            out.digests[m.ident] = digest
        else:
            by_sample[digest].append(m)
    for split in by_sample.values():
        todo = [m for m in split if m.ident not in known]
        if len(split) >= 2 and len(todo) >= 2:
            _compare(todo, out)
        elif len(split) >= 2:
            _hash_alone(todo, out)
        else:
            _hash_alone([m for m in todo if m.ident in must_hash], out)
    return out


def _hash_alone(entries: list[FileEntry], out: GroupResult) -> None:
    for e in entries:
        try:
            digest, nread = hashing.full(e)
        except Exception as exc:
            out.failed.append((e, exc))
            continue
        out.digests[e.ident] = digest
        out.nread += nread


def _compare(entries: list[FileEntry], out: GroupResult) -> None:
    """Hash ``entries[0]``, compare the others with it; equal ones share its hash."""
    readers: list[hashing.Reader] = []
    try:
        for e in entries:
            try:
                readers.append(hashing.Reader(e))
            except OSError as exc:
                out.failed.append((e, exc))
        if not readers:
            return
        ref, others = readers[0], readers[1:]
        size = ref.entry.size
        step = hashing.REMOTE_CHUNK if ref.entry.fs is not None else CHUNK
        parallel = size >= MMAP_THRESHOLD  # where file_blake3 goes to all cores, so do we
        hasher = blake3.blake3(max_threads=blake3.blake3.AUTO if parallel else 1)
        differ: list[FileEntry] = []
        offset = 0
        try:
            while offset < size:
                block = ref.read_at(offset, min(step, size - offset))
                if not block:
                    raise hashing.ChangedDuringScan("shrank while being scanned")
                hasher.update(block)
                out.nread += len(block)
                for r in list(others):
                    other = r.read_at(offset, len(block))
                    out.nread += len(other)
                    if other != block:
                        others.remove(r)
                        differ.append(r.entry)
                offset += len(block)
            ref.check()
        except Exception as exc:  # the reference failed: the others are hashed on their own
            out.failed.append((ref.entry, exc))
            _hash_alone([r.entry for r in others] + differ, out)
            return
        digest = hasher.hexdigest()
        out.digests[ref.entry.ident] = digest
        for r in others:
            try:
                r.check()
            except Exception as exc:
                out.failed.append((r.entry, exc))
                continue
            out.digests[r.entry.ident] = digest
        _hash_alone(differ, out)
    finally:
        for r in readers:
            r.close()
