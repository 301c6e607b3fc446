"""Reading candidates: a cheap head+tail sample first, the full BLAKE3 only where samples collide.

Files of one size are rarely identical, and when they differ they almost always differ in their
first or last few KiB (a header, a trailer, a truncated download). So a candidate is first read at
its head and tail (two ``pread`` calls); only files whose samples collide are read in full. Small
files are read whole at once: their "sample" *is* their content hash and they never need a second
pass. Every function here runs in a worker thread; BLAKE3 and the syscalls release the GIL.

Each read ends with a check that the file did not change while it was read (``fstat`` against the
walk's size and mtime), so a file still being written is reported, never registered with a hash of
half its bytes.
"""

from __future__ import annotations

import os

import blake3

from ddas.hashes import MMAP_THRESHOLD, file_blake3
from ddas.scanning.walk import FileEntry

SAMPLE = 8 << 10  #: bytes read at the head and at the tail of a candidate
WHOLE_BELOW = 64 << 10  #: files up to this size are read (and fully hashed) in one go
REMOTE_CHUNK = 8 << 20  #: one read (one ranged request) of a remote file being hashed
_FLAGS = (
    os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
)  # never block on a FIFO


class ChangedDuringScan(OSError):
    """The file's size or mtime changed between the walk and the read: it is being written."""


def sample(entry: FileEntry) -> tuple[str, bool, int]:
    """``(digest, is_full, bytes_read)`` of a candidate: a head+tail digest, or for a small file
    its full BLAKE3 (``is_full``), which settles it without a second read."""
    if entry.fs is not None:
        return _sample_remote(entry)
    fd = os.open(entry.location, _FLAGS)
    try:
        if entry.size <= WHOLE_BELOW:
            data = os.pread(fd, entry.size + 1, 0)  # one byte more tells a file that grew
            _check(fd, entry, len(data))
            return blake3.blake3(data).hexdigest(), True, len(data)
        hasher = blake3.blake3(os.pread(fd, SAMPLE, 0))
        hasher.update(os.pread(fd, SAMPLE, entry.size - SAMPLE))
        _check(fd, entry, entry.size)
        return hasher.hexdigest(), False, 2 * SAMPLE
    finally:
        os.close(fd)


def full(entry: FileEntry) -> tuple[str, int]:
    """The content's BLAKE3 and the bytes read to get it."""
    if entry.fs is not None:
        return _full_remote(entry)
    if entry.size >= MMAP_THRESHOLD:  # file_blake3 maps it and hashes on all cores
        digest = file_blake3(entry.location)
        _check_path(entry)
        return digest, entry.size
    fd = os.open(entry.location, _FLAGS)
    try:
        data = os.pread(fd, entry.size + 1, 0)
        _check(fd, entry, len(data))
        return blake3.blake3(data).hexdigest(), len(data)
    finally:
        os.close(fd)


def _check(fd: int, entry: FileEntry, nread: int) -> None:
    st = os.fstat(fd)
    if nread > st.st_size or st.st_size != entry.size or st.st_mtime_ns != entry.mtime_ns:
        raise ChangedDuringScan(f"changed while being scanned (size {entry.size} -> {st.st_size})")


def _check_path(entry: FileEntry) -> None:
    st = os.stat(entry.location)
    if st.st_size != entry.size or st.st_mtime_ns != entry.mtime_ns:
        raise ChangedDuringScan(f"changed while being scanned (size {entry.size} -> {st.st_size})")


# -- fsspec (S3 and friends): range requests for samples, streaming for full hashes -------------


def _remote_path(entry: FileEntry) -> str:
    return entry.fs._strip_protocol(entry.location)


def _sample_remote(entry: FileEntry) -> tuple[str, bool, int]:
    fs, path = entry.fs, _remote_path(entry)
    if entry.size <= WHOLE_BELOW:
        data = fs.cat_file(path)
        if len(data) != entry.size:
            raise ChangedDuringScan(
                f"changed while being scanned (size {entry.size} -> {len(data)})"
            )
        return blake3.blake3(data).hexdigest(), True, len(data)
    hasher = blake3.blake3(fs.cat_file(path, start=0, end=SAMPLE))
    hasher.update(fs.cat_file(path, start=entry.size - SAMPLE, end=entry.size))
    return hasher.hexdigest(), False, 2 * SAMPLE


def _full_remote(entry: FileEntry) -> tuple[str, int]:
    hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
    nread = 0
    with entry.fs.open(_remote_path(entry), "rb", block_size=REMOTE_CHUNK) as f:
        while chunk := f.read(REMOTE_CHUNK):
            hasher.update(chunk)
            nread += len(chunk)
    if nread != entry.size:
        raise ChangedDuringScan(f"changed while being scanned (size {entry.size} -> {nread})")
    return hasher.hexdigest(), nread


# -- positional readers, for comparing several copies in lockstep -------------------------------


class Reader:
    """One candidate opened for positional reads (a file descriptor, or an fsspec path)."""

    def __init__(self, entry: FileEntry) -> None:
        self.entry = entry
        self.fd = -1 if entry.fs is not None else os.open(entry.location, _FLAGS)

    def read_at(self, offset: int, n: int) -> bytes:
        if self.fd >= 0:
            return os.pread(self.fd, n, offset)
        return self.entry.fs.cat_file(_remote_path(self.entry), start=offset, end=offset + n)

    def check(self) -> None:
        """Raise :class:`ChangedDuringScan` if the file changed since the walk saw it."""
        if self.fd >= 0:
            _check(self.fd, self.entry, self.entry.size)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
