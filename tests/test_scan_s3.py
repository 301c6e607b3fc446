"""Scanning an S3 bucket (moto's server through s3fs): objects are copies with host "" and an
``s3://`` location, duplicates are found by ranged samples and streamed hashes, rescans read nothing."""

from __future__ import annotations

import random

import blake3

from ddas.scanning import hash_unhashed, scan

KiB = 1024


def _put(s3, key: str, data: bytes) -> str:
    s3.pipe(f"{s3.bucket}/{key}", data)
    return f"s3://{s3.bucket}/{key}"


def test_s3_bucket_scan_finds_duplicates_and_rescans_incrementally(s3, registry) -> None:
    rng = random.Random(7)
    era5 = rng.randbytes(300 * KiB)
    copies = [_put(s3, "climate/era5.nc", era5), _put(s3, "users/bob/era5.nc", era5)]
    near = _put(s3, "users/bob/era5-partial.nc", era5[:-1] + b"\0")  # same size, same head
    small = rng.randbytes(2 * KiB)
    smalls = [_put(s3, "a/s.csv", small), _put(s3, "b/s.csv", small)]
    lone = _put(s3, "lone.bin", rng.randbytes(5 * KiB + 1))

    report = scan([f"s3://{s3.bucket}/"], min_size=1, registry=registry)

    assert {frozenset(g["paths"]) for g in report.groups()} == {
        frozenset(copies),
        frozenset(smalls),
    }
    assert report.summary()["wasted_bytes"] == 300 * KiB + 2 * KiB
    known = {c.location: c for c in registry.known_copies_under("", f"s3://{s3.bucket}")}
    assert set(known) == {*copies, near, *smalls, lone}
    assert known[copies[0]].blake3 == blake3.blake3(era5).hexdigest()
    assert known[lone].state == "unhashed" and known[near].blake3 is None
    assert set(report.files["etag"].dropna()) >= {s3.info(copies[0])["ETag"].strip('"')}
    dupes = {frozenset(g.paths) for g in registry.duplicates().items}
    assert dupes == {frozenset(copies), frozenset(smalls)}

    again = scan([f"s3://{s3.bucket}/"], min_size=1, registry=registry)
    assert again.summary()["hashed_bytes"] == 0
    assert again.counts()["unchanged"] == 6

    hashed = hash_unhashed(registry, size=5 * KiB + 1)  # what a fetch of that size would ask
    assert [(c.location, c.blake3) for c in hashed] == [
        (lone, blake3.blake3(s3.cat_file(lone)).hexdigest())
    ]

    s3.rm(f"{s3.bucket}/users/bob/era5.nc")
    third = scan([f"s3://{s3.bucket}/"], min_size=1, registry=registry)
    assert third.counts()["missing"] == 1
    assert registry.known_copies_under("", copies[1])[0].state == "missing"
    assert {frozenset(g.paths) for g in registry.duplicates().items} == {frozenset(smalls)}
