"""Digests: BLAKE3 of files small and large (mmap), aliases in one pass, and known_hash parsing."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import blake3
import pytest

from ddas.hashes import (
    StreamHasher,
    digest_or_none,
    file_blake3,
    file_digests,
    parse_digest,
    parse_known_hash,
)


@pytest.mark.parametrize("size", [0, 1, (1 << 20) + 7, (9 << 20) + 3])  # last one takes mmap
def test_file_blake3_matches_the_reference_for_small_and_large_files(
    tmp_path: Path, size: int
) -> None:
    data = os.urandom(size)
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    assert file_blake3(path) == blake3.blake3(data).hexdigest()


def test_one_pass_computes_blake3_and_every_alias(tmp_path: Path) -> None:
    data = os.urandom(3 << 20)
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    digests = file_digests(path, ["md5", "sha256", "blake3"])
    assert digests == {
        "blake3": blake3.blake3(data).hexdigest(),
        "md5": hashlib.md5(data).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    hasher = StreamHasher(["sha1"])
    for start in range(0, len(data), 65536):
        hasher.update(memoryview(data)[start : start + 65536])
    assert hasher.bytes == len(data)
    assert hasher.hexdigests()["sha1"] == hashlib.sha1(data).hexdigest()


@pytest.mark.parametrize(
    ("text", "algorithm"),
    [
        ("md5:" + "AB" * 16, "md5"),
        ("  sha256:" + "0" * 64, "sha256"),
        ("0" * 64, "blake3"),  # a bare digest is BLAKE3 (the one rule; ddas.pooch adds sha256:)
        ("BLAKE3:" + "f" * 64, "blake3"),
        ("sha512:" + "1" * 128, "sha512"),
    ],
)
def test_known_hashes_are_parsed_like_pooch(text: str, algorithm: str) -> None:
    known = parse_known_hash(text)
    assert known.algorithm == algorithm and known.value == known.value.lower()
    assert str(known) == f"{algorithm}:{known.value}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sha3:" + "0" * 64, "unsupported hash algorithm"),
        ("md5:xyz", "not a hexadecimal digest"),
        ("md5:", "not a hexadecimal digest"),
        ("md5:" + "a" * 31, "32 hex digits"),
        ("sha256:" + "a" * 32, "64 hex digits"),
    ],
)
def test_a_malformed_known_hash_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_known_hash(text)
    assert parse_known_hash(None) is None and parse_known_hash("  ") is None


def test_one_parser_reads_a_bare_digest_as_blake3_and_says_how_to_write_sha256() -> None:
    bare = parse_digest("AB" * 32)
    assert (bare.algorithm, bare.value, bare.bare) == ("blake3", "ab" * 32, True)
    assert (
        bare == parse_digest("blake3:" + "ab" * 32) and not parse_digest("blake3:" + "ab" * 32).bare
    )
    assert "'sha256:abababab…'" in bare.spelling_hint()  # a pooch-style sha256 pasted bare
    assert bare.other_readings() == ["sha256"]
    assert "These bytes do have sha256" in bare.spelling_hint({"sha256": "ab" * 32})
    assert parse_digest("sha256:" + "ab" * 32).spelling_hint() == ""  # written out: no guess made
    with pytest.raises(ValueError, match="bare hex digest is blake3"):
        parse_digest("a" * 32)  # a bare md5 is refused, not looked up as a truncated BLAKE3
    assert digest_or_none("era5 2020") is None and digest_or_none("md5:" + "a" * 32) is not None
