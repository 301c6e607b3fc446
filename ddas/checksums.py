"""Whole-object checksums servers announce, and the check of a finished download against them.

A size that matches proves little (a replaced file of the same size, a splice of two versions). Where
the server states a digest of the *whole* object, the finished file is checked against it before it is
registered: ``Repr-Digest`` (RFC 9530), ``Digest`` (RFC 3230), ``Content-MD5`` (on a full 200 answer),
``x-amz-checksum-*`` and an S3 single-part ETag (the MD5 of the object, unless KMS-encrypted).
``Content-Digest`` is not used: it covers the message (one range of it on a 206), not the object.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ddas.errors import ChecksumMismatchError

#: Header spellings of digest algorithms -> hashlib names (the ones StreamHasher can compute).
_ALGORITHMS = {"md5": "md5", "sha": "sha1", "sha-1": "sha1", "sha-256": "sha256"}
_ALGORITHMS |= {"sha-512": "sha512", "sha1": "sha1", "sha256": "sha256", "sha512": "sha512"}
_S3_ETAG = re.compile(r'^"?([0-9a-fA-F]{32})"?$')


@dataclass(frozen=True)
class Checksum:
    """An announced digest: hashlib algorithm, hex value, and the header that announced it."""

    algorithm: str
    hex: str
    header: str

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"

    def verify(self, url: str, digests: Mapping[str, str]) -> None:
        """Raise :class:`ChecksumMismatchError` unless the computed digest matches."""
        actual = digests.get(self.algorithm)
        if actual is not None and actual.lower() != self.hex:
            raise ChecksumMismatchError(url, self.header, str(self), f"{self.algorithm}:{actual}")


def _b64_hex(value: str) -> str | None:
    try:
        return base64.b64decode(value.strip().strip(":"), validate=True).hex()
    except (binascii.Error, ValueError):
        return None


def _from_digest_fields(header: str, text: str, sep: str) -> Checksum | None:
    """``Repr-Digest: sha-256=:b64:`` / ``Digest: SHA-256=b64`` -> the strongest one we know."""
    found: dict[str, str] = {}
    for item in text.split(","):
        name, eq, value = item.strip().partition(sep)
        algorithm = _ALGORITHMS.get(name.strip().lower())
        hexed = _b64_hex(value) if eq and algorithm else None
        if algorithm and hexed:
            found[algorithm] = hexed
    for algorithm in ("sha512", "sha256", "sha1", "md5"):
        if algorithm in found:
            return Checksum(algorithm, found[algorithm], header)
    return None


def from_headers(headers: Mapping[str, str], *, full_body: bool) -> Checksum | None:
    """The whole-object checksum an HTTP answer announces, if any.

    ``full_body`` is False for a 206 (then ``Content-MD5`` covers only the part and is ignored).
    A response with a ``Content-Encoding`` has digests of the encoded bytes: the caller skips them.
    """
    for header, sep in (("Repr-Digest", "="), ("Digest", "=")):
        if headers.get(header):
            found = _from_digest_fields(header, headers[header], sep)
            if found:
                return found
    for algorithm in ("sha256", "sha1"):
        value = headers.get(f"x-amz-checksum-{algorithm}")
        if value and (hexed := _b64_hex(value)):
            return Checksum(algorithm, hexed, f"x-amz-checksum-{algorithm}")
    if full_body and headers.get("Content-MD5") and (hexed := _b64_hex(headers["Content-MD5"])):
        return Checksum("md5", hexed, "Content-MD5")
    is_s3 = "x-amz-request-id" in headers or headers.get("Server", "").startswith("AmazonS3")
    if is_s3 and headers.get("x-amz-server-side-encryption") not in ("aws:kms", "aws:kms:dsse"):
        return s3_etag(headers.get("ETag"))
    return None


def s3_etag(etag: str | None) -> Checksum | None:
    """A single-part S3 ETag is the object's MD5 (a multipart one ends in ``-<parts>``)."""
    match = _S3_ETAG.match(etag or "")
    return Checksum("md5", match.group(1).lower(), "S3 ETag") if match else None


def from_info(info: Mapping[str, Any], protocol: str) -> Checksum | None:
    """The checksum an fsspec ``info()`` announces (s3fs: ETag, ChecksumSHA256)."""
    lowered = {str(k).lower(): v for k, v in info.items()}
    for algorithm in ("sha256", "sha1"):
        value = lowered.get(f"checksum{algorithm}")
        if value and (hexed := _b64_hex(str(value))):
            return Checksum(algorithm, hexed, f"x-amz-checksum-{algorithm}")
    if protocol in ("s3", "s3a") and lowered.get("serversideencryption") not in ("aws:kms",):
        return s3_etag(str(lowered.get("etag") or ""))
    return None


def parse(text: str | None) -> Checksum | None:
    """Back from the ``"alg:hex"`` string kept in a partial's metadata."""
    if not text or ":" not in text:
        return None
    algorithm, _, value = text.partition(":")
    return Checksum(algorithm, value, "announced checksum") if algorithm in _ALGORITHMS else None
