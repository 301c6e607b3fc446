"""What makes two URLs "the same dataset": normalization, secret stripping, remote validators.

The registry is keyed by the *normalized* URL, so every trivial spelling difference (``HTTP://Host:80/a/./b``
vs ``http://host/a/b``) must collapse to one key, and nothing secret may survive into it: presigned S3
URLs, SAS tokens and OAuth tokens are stripped here, before any value reaches the registry, a log line
or an alert. What counts as secret is decided by :mod:`ddas.secrets` (name patterns such as token, key,
signature, the ``X-Amz-*`` family, and the admin's ``DDAS_SECRET_PARAMS``), the same rules the log
filter uses.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, quote, unquote, urlsplit, urlunsplit

from ddas.errors import InvalidURLError
from ddas.secrets import SECRET_NAMES, SECRET_PREFIXES, is_secret_param

__all__ = [
    "SECRET_PARAMS",
    "SECRET_PREFIXES",
    "NormalizedURL",
    "Validators",
    "is_secret_param",
    "normalize_url",
    "redact",
    "validators_from_headers",
    "validators_from_info",
]

#: Kept for callers of the first API; the rules themselves live in :mod:`ddas.secrets`.
SECRET_PARAMS = SECRET_NAMES

DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21, "ws": 80, "wss": 443}
# RFC 3986 "unreserved" characters never need percent-encoding; others are kept encoded.
_UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
_PATH_SAFE = "/!$&'()*+,;=:@%"
_QUERY_SAFE = "!$'()*+,;:@/?%"
_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*$")
_HEX2 = re.compile(r"[0-9A-Fa-f]{2}")
# Checked with regexes, not per-character Python loops: normalization is on the lookup hot path.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# Characters that cannot appear in a host name (RFC 3986 reg-name / WHATWG forbidden host code points).
_BAD_HOST = re.compile(r"[\s<>\"{}|\\^`]")


def _normalize_percent(text: str, safe: str) -> str:
    """Decode what never needs encoding, upper-case the escapes of what does."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "%" and _HEX2.fullmatch(text[i + 1 : i + 3]):
            decoded = chr(int(text[i + 1 : i + 3], 16))
            out.append(decoded if decoded in _UNRESERVED else "%" + text[i + 1 : i + 3].upper())
            i += 3
            continue
        if ch == "%":  # a bare '%' is data: encode it, or a second pass would decode "%%41" to "%A"
            out.append("%25")
        else:
            out.append(ch if ch in _UNRESERVED or ch in safe else quote(ch, safe=""))
        i += 1
    return "".join(out)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4, so ``/a/./b/../c`` and ``/a/c`` are one dataset."""
    output: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if len(output) > 1:
                output.pop()
        elif segment != ".":
            output.append(segment)
    result = "/".join(output)
    if path.endswith(("/.", "/..")):
        result += "/"
    return result if result.startswith("/") else "/" + result


@dataclass(frozen=True)
class NormalizedURL:
    """A URL reduced to its identity. ``stripped`` names (never values) of removed secrets."""

    url: str
    scheme: str
    stripped: tuple[str, ...] = ()

    @property
    def is_local(self) -> bool:
        """Local files are looked up, never downloaded."""
        return self.scheme == "file"

    @property
    def name(self) -> str:
        """The file name a human would recognise (last path segment, unescaped)."""
        tail = urlsplit(self.url).path.rstrip("/").rsplit("/", 1)[-1]
        return unquote(tail) or urlsplit(self.url).netloc


def normalize_url(url: str, *, extra_secret_params: frozenset[str] | None = None) -> NormalizedURL:
    """Return the canonical, secret-free form of ``url``.

    Plain paths and ``file://`` URLs become absolute ``file://`` URLs. For remote URLs: scheme and host
    are lower-cased, default ports and userinfo dropped, dot segments removed, percent-encoding
    normalized, fragment dropped, secret query parameters removed and the rest sorted (parameter order
    never changes what a static file server returns).
    """
    url = _checked_text(url)
    if "://" not in url:
        if re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*:", url) and not re.match(r"^[A-Za-z]:[\\/]", url):
            raise InvalidURLError(f"{url.split(':', 1)[0]}: URLs need '://'")
        return _local(url)
    scheme, rest = url.split("://", 1)
    if not _SCHEME_RE.match(scheme):
        raise InvalidURLError(f"not a valid URL scheme: {scheme!r}")
    scheme = scheme.lower()
    if scheme in ("file", "local"):
        return _local_url(rest)
    if _SURROGATE.search(rest):
        raise InvalidURLError("URL contains unpaired surrogates (not valid Unicode)")
    parts, netloc = _authority(scheme, rest)
    path = _normalize_percent(parts.path, _PATH_SAFE)
    if scheme in DEFAULT_PORTS:
        path = _remove_dot_segments(path or "/")
    query, stripped = _public_query(parts.query, extra_secret_params)
    return NormalizedURL(urlunsplit((scheme, netloc, path, query, "")), scheme, stripped)


def _checked_text(url: Any) -> str:
    """The URL without surrounding blanks; refuses what no server could be asked for."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidURLError("a dataset URL must be a non-empty string")
    url = url.strip()
    if _CONTROL.search(url):
        raise InvalidURLError("URL contains control characters")
    return url


def _local_url(rest: str) -> NormalizedURL:
    """``file://`` and ``local://`` URLs name a local path, like a plain path does."""
    try:
        path = urlsplit("file://" + rest).path
    except ValueError as exc:  # an unbalanced '[' in the authority
        raise InvalidURLError(f"invalid file URL: {exc}") from None
    return _local(unquote(path, errors="surrogateescape"))


def _authority(scheme: str, rest: str) -> tuple[SplitResult, str]:
    """The split URL and its canonical ``host[:port]``: userinfo and default ports dropped."""
    try:
        parts = urlsplit(f"{scheme}://{rest}")  # raises on an unbalanced '[' (IPv6 literal)
        host = (parts.hostname or "").lower().rstrip(".")
        port = parts.port
    except ValueError:  # e.g. a non-numeric port; never echo it: it may be half a password
        raise InvalidURLError(
            "invalid host or port in URL (a password containing '/', '?', '#' or '@' must be "
            "percent-encoded)"
        ) from None
    if not host:
        raise InvalidURLError("URL has no host (or bucket)")
    if _BAD_HOST.search(host):
        raise InvalidURLError("URL host contains characters not allowed in a host name")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return parts, host if port in (None, DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"


def _public_query(
    query: str, extra_secret_params: frozenset[str] | None
) -> tuple[str, tuple[str, ...]]:
    """The query without its secret parameters, sorted; and the names (never values) removed."""
    kept: list[str] = []
    stripped: list[str] = []
    for pair in query.split("&") if query else []:
        if not pair:
            continue
        key, eq, value = pair.partition("=")
        if is_secret_param(key, extra_secret_params):
            stripped.append(unquote(key))
        else:
            kept.append(
                _normalize_percent(key, _QUERY_SAFE) + eq + _normalize_percent(value, _QUERY_SAFE)
            )
    return "&".join(sorted(kept)), tuple(stripped)


def _local(path: str) -> NormalizedURL:
    absolute = Path(os.path.expanduser(path)).absolute()
    # Collapse dot segments without resolving symlinks: the user's spelling of a shared path
    # (e.g. /shared/era5) is what colleagues recognise.
    clean = os.path.normpath(str(absolute))
    # fsencode: a path read from disk may hold undecodable bytes (surrogate escapes).
    return NormalizedURL("file://" + quote(os.fsencode(clean), safe="/:@!$&'()*+,;=-._~"), "file")


def redact(url: str) -> str:
    """A URL safe to show or log: secrets removed, but otherwise as the user wrote it."""
    try:
        return normalize_url(url).url
    except InvalidURLError:
        return "<invalid URL>"


@dataclass(frozen=True)
class Validators:
    """What the remote says about its current version; equal validators = same version.

    ``checksum`` is a server-side digest (``"md5:..."``, ``"sha256:..."``) when the server offers one.
    """

    etag: str | None = None
    last_modified: str | None = None
    size: int | None = None
    checksum: str | None = None
    #: Where a redirecting URL led (normalized, no query): a new target is a new version even when
    #: its ETag repeats (nginx ETags are mtime + size). None when the URL did not redirect.
    location: str | None = None

    @property
    def key(self) -> str:
        """A stable string identifying this version, for the registry's unique index."""
        key = (
            f"{self.etag or ''}|{self.last_modified or ''}|{'' if self.size is None else self.size}"
        )
        return f"{key}|{self.location}" if self.location else key

    @property
    def known(self) -> bool:
        """False when the remote told us nothing we could recognise a version by."""
        return bool(self.etag or self.last_modified or self.size is not None)


def validators_from_headers(headers: Any) -> Validators:
    """Validators from an HTTP response's headers (a case-insensitive mapping)."""
    size = headers.get("Content-Length")
    checksum = None
    if headers.get("x-amz-checksum-sha256"):
        checksum = "sha256-b64:" + headers["x-amz-checksum-sha256"]
    elif headers.get("Content-MD5"):
        checksum = "md5-b64:" + headers["Content-MD5"]
    return Validators(
        etag=headers.get("ETag"),
        last_modified=headers.get("Last-Modified"),
        size=int(size) if size and size.isdigit() and "Content-Encoding" not in headers else None,
        checksum=checksum,
    )


def validators_from_info(info: dict[str, Any]) -> Validators:
    """Validators from an fsspec ``info()`` dict (s3fs, gcsfs, http, local)."""
    lowered = {str(k).lower(): v for k, v in info.items()}
    etag = lowered.get("etag") or lowered.get("e_tag")
    modified = lowered.get("lastmodified") or lowered.get("last_modified") or lowered.get("mtime")
    size = lowered.get("size")
    checksum = lowered.get("checksumsha256")
    return Validators(
        etag=str(etag) if etag else None,
        last_modified=str(modified) if modified is not None else None,
        size=int(size) if isinstance(size, int | float) else None,
        checksum=f"sha256-b64:{checksum}" if checksum else None,
    )
