"""Digests: BLAKE3 as the identity of content, others (md5, sha256, ...) as aliases.

BLAKE3 is the registry's truth because it is fast enough to compute *while* bytes stream to disk
(no second read) and multithreads on large files. Users and servers speak other algorithms, so
every digest a person writes (``known_hash``, ``ddas find``, ``ddas annotate``) is read by one
:func:`parse_digest`: pooch's ``"alg:hex"``, or bare hex, which is BLAKE3. A :class:`StreamHasher`
computes BLAKE3 plus whatever the caller asked to verify, in one pass.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import blake3

ALGORITHMS = ("blake3", "sha256", "sha1", "md5", "sha512")
HEX_DIGITS = {"blake3": 64, "sha256": 64, "sha1": 40, "md5": 32, "sha512": 128}
#: Below this, plain reads beat mmap set-up; from here on BLAKE3 maps the file and uses all cores.
#: The scanner's hashing reads the same number (``ddas.scanning.hashing``, ``groups``).
MMAP_THRESHOLD = 8 << 20


#: The one rule for a digest written without ``alg:``: it is BLAKE3, the registry's identity of
#: content, everywhere (``known_hash``, ``ddas find``, ``ddas annotate``, the REST ``known_hash``).
#: pooch writes bare sha256; :mod:`ddas.pooch` adds the ``sha256:`` pooch means before it asks us.
BARE_HEX_ALGORITHM = "blake3"


@dataclass(frozen=True)
class KnownHash:
    """A digest the user promised, e.g. from a data paper: ``KnownHash("sha256", "ab12...")``.

    ``bare`` remembers that the text had no ``alg:`` prefix, so a mismatch can say how to write
    the other algorithm of that length (``sha256:<hex>`` for a pooch-style hash).
    """

    algorithm: str
    value: str
    bare: bool = field(default=False, compare=False)

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.value}"

    def other_readings(self) -> list[str]:
        """The algorithms a bare digest of this length could also have meant (sha256 for a
        64-digit one): a download computes them too, so a mismatch can say which one matched."""
        if not self.bare:
            return []
        return [a for a in ALGORITHMS if a != self.algorithm and HEX_DIGITS[a] == len(self.value)]

    def spelling_hint(self, digests: dict[str, str] | None = None) -> str:
        """What to write instead when a bare digest was meant as another algorithm, or ''.

        ``digests`` are the downloaded bytes' digests: when one of :meth:`other_readings` matches,
        the hint says so (the bytes are right, only the spelling is not); they are still refused.
        """
        others = self.other_readings()
        if not others:
            return ""
        matched = [a for a in others if (digests or {}).get(a) == self.value]
        if matched:
            return (
                f" These bytes do have {matched[0]} {self.value[:8]}…: a bare hex digest means "
                f"{self.algorithm} in DDAS, so write '{matched[0]}:{self.value[:8]}…' in full."
            )
        spelled = " or ".join(f"'{a}:{self.value[:8]}…'" for a in others)
        return (
            f" A bare hex digest means {self.algorithm}; if it is a {others[0]}, write {spelled}."
        )


def parse_digest(text: str) -> KnownHash:
    """Read ``"alg:hex"`` (any case, spaces around) or bare hex, which is BLAKE3; else ValueError.

    One parser for every place a person writes a digest, so the same string means the same
    content in ``ddas fetch --known-hash`` and ``ddas find``. The length is checked: a truncated
    paste would never match, and saying so now beats a download that is then refused.
    """
    algorithm, sep, value = str(text).strip().partition(":")
    if not sep:
        algorithm, value = BARE_HEX_ALGORITHM, algorithm
    algorithm, value = algorithm.lower(), value.lower()
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unsupported hash algorithm {algorithm!r}; use one of {ALGORITHMS}")
    if not value or any(c not in "0123456789abcdef" for c in value):
        raise ValueError(f"digest {text!r} is not a hexadecimal digest")
    if len(value) != HEX_DIGITS[algorithm]:
        bare = (
            " (a bare hex digest is blake3; write 'md5:…', 'sha1:…' for others)" if not sep else ""
        )
        raise ValueError(
            f"a {algorithm} digest has {HEX_DIGITS[algorithm]} hex digits, {text!r} "
            f"has {len(value)}; check that it was copied whole{bare}"
        )
    return KnownHash(algorithm, value, bare=not sep)


def digest_or_none(text: str) -> KnownHash | None:
    """:func:`parse_digest`, or None when ``text`` is not a digest (e.g. words to search for)."""
    try:
        return parse_digest(text)
    except ValueError:
        return None


def parse_known_hash(text: str | None) -> KnownHash | None:
    """``known_hash=``: None or blank means no promise, anything else is :func:`parse_digest`."""
    if text is None or not str(text).strip():
        return None
    return parse_digest(text)


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
    if path.stat().st_size >= MMAP_THRESHOLD:
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
