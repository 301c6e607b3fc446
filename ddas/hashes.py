"""Digests: BLAKE3 as the identity of content, others (md5, sha256, ...) as aliases.

BLAKE3 is the registry's truth because it is fast enough to compute *while* bytes stream to disk
(no second read) and multithreads on large files. Users and servers speak other algorithms, so
``known_hash`` accepts pooch's ``"alg:hex"`` strings and a :class:`StreamHasher` computes BLAKE3 plus
whatever the caller asked to verify, in one pass.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import blake3

ALGORITHMS = ("blake3", "sha256", "sha1", "md5", "sha512")
HEX_DIGITS = {"blake3": 64, "sha256": 64, "sha1": 40, "md5": 32, "sha512": 128}
_MMAP_THRESHOLD = 8 << 20  # below this, plain reads beat mmap set-up; above, BLAKE3 multithreads


@dataclass(frozen=True)
class KnownHash:
    """A digest the user promised, e.g. from a data paper: ``KnownHash("sha256", "ab12...")``."""

    algorithm: str
    value: str

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.value}"


def parse_known_hash(text: str | None) -> KnownHash | None:
    """Parse pooch-style ``"alg:hex"``; a bare hex string means sha256, as in pooch."""
    if text is None or not str(text).strip():
        return None
    algorithm, sep, value = str(text).strip().partition(":")
    if not sep:
        algorithm, value = "sha256", algorithm
    algorithm, value = algorithm.lower(), value.lower()
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unsupported hash algorithm {algorithm!r}; use one of {ALGORITHMS}")
    if not value or any(c not in "0123456789abcdef" for c in value):
        raise ValueError(f"known_hash {text!r} is not a hexadecimal digest")
    if len(value) != HEX_DIGITS[algorithm]:  # a truncated paste would never match: say so now
        raise ValueError(
            f"a {algorithm} digest has {HEX_DIGITS[algorithm]} hex digits, known_hash {text!r} "
            f"has {len(value)}; check that it was copied whole"
        )
    return KnownHash(algorithm, value)


def _new(algorithm: str):
    return (
        blake3.blake3(max_threads=blake3.blake3.AUTO)
        if algorithm == "blake3"
        else hashlib.new(algorithm)
    )


class StreamHasher:
    """Feeds each chunk to BLAKE3 and any extra algorithms; read the hex digests at the end."""

    def __init__(self, extra: Iterable[str] = ()) -> None:
        self._hashers = {"blake3": _new("blake3")}
        for algorithm in extra:
            self._hashers.setdefault(algorithm, _new(algorithm))
        self.bytes = 0

    def update(self, chunk: bytes | memoryview) -> None:
        for hasher in self._hashers.values():
            hasher.update(chunk)
        self.bytes += len(chunk)

    def hexdigests(self) -> dict[str, str]:
        return {name: h.hexdigest() for name, h in self._hashers.items()}


def file_blake3(path: str | os.PathLike[str]) -> str:
    """BLAKE3 of a local file: mmap and all cores for large files, plain reads for small ones."""
    path = Path(path)
    hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
    if path.stat().st_size >= _MMAP_THRESHOLD:
        hasher.update_mmap(path)
        return hasher.hexdigest()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            hasher.update(chunk)
    return hasher.hexdigest()


def file_digests(path: str | os.PathLike[str], algorithms: Iterable[str]) -> dict[str, str]:
    """Several digests of one file in a single read (used to verify and re-hash partial files)."""
    hasher = StreamHasher(algorithms)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            hasher.update(chunk)
    return hasher.hexdigests()
