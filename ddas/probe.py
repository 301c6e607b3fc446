"""Asking the remote which version it has now: one HEAD (or ``info()``), never a body.

What one answer tells DDAS: the validators (ETag, Last-Modified, size) that name the version, where
redirects led (every URL of the chain is a source; the final one is part of the version), whether
ranges work (resume), a whole-object checksum, the ``Content-Disposition`` file name, the type.

A server that refuses HEAD (405, or 403 for a URL presigned for GET only, as S3 does) is asked with a
one-byte ranged GET instead: ``Content-Range`` still gives the size, and the validators are the same.
"""

from __future__ import annotations

import email.message
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ddas import checksums, http_client
from ddas.checksums import Checksum
from ddas.config import DownloadSettings
from ddas.errors import InvalidURLError, OriginUnavailableError, RemoteError
from ddas.identity import Validators, normalize_url, redact

_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
#: HEAD answers after which a ranged GET may still work (not "gone", not "overloaded").
_HEAD_REFUSED = frozenset({400, 401, 403, 405, 406, 501})


def is_http(url: str) -> bool:
    return url.split("://", 1)[0].lower() in ("http", "https")


@dataclass(frozen=True)
class Probe:
    """What one HEAD / ``info()`` told us about the remote's current version."""

    validators: Validators
    accepts_ranges: bool = False
    #: Normalized, secret-free URLs of the redirect chain, requested first, final last.
    chain: tuple[str, ...] = ()
    filename: str | None = None  # from Content-Disposition
    content_type: str = ""
    encoded: bool = False  # the server applies a Content-Encoding although we asked for identity
    checksum: Checksum | None = None


def probe(
    url: str,
    storage_options: Mapping[str, Any] | None = None,
    settings: DownloadSettings | None = None,
    *,
    session: Any = None,
) -> Probe:
    """Ask the remote for its validators: one HEAD (HTTP; a ranged GET if HEAD is refused) or
    one ``info()`` call (any other fsspec protocol). ``session``: the ``requests.Session`` to
    ask with (the REST API passes one that refuses internal addresses)."""
    settings = settings or DownloadSettings.from_env()
    if is_http(url):
        options = http_client.HTTPOptions.parse(storage_options, settings)
        return _probe_http(url, options, settings, session)
    return _probe_fsspec(url, storage_options)


def _probe_http(
    url: str, options: http_client.HTTPOptions, settings: DownloadSettings, session: Any = None
) -> Probe:
    resp = http_client.request("HEAD", url, options, settings, via=session)
    _done_with(resp)
    if resp.status_code in _HEAD_REFUSED:
        resp = http_client.request(
            "GET", url, options, settings, {"Range": "bytes=0-0"}, via=session
        )
        _done_with(resp)
    http_client.check_status(url, resp)
    return from_response(url, resp)


def _done_with(resp: Any) -> None:
    """Hand the connection back to the pool when the body is empty or one byte (the next request
    reuses it); close it when a server ignored our Range and is sending the whole file."""
    if resp.request.method == "HEAD" or resp.status_code in (206, 304) or resp.status_code >= 400:
        try:
            _ = resp.content  # at most a byte or an error page: cheap
            return
        except Exception:  # a broken body on a probe: the connection is not reusable anyway
            pass
    resp.close()


def from_response(url: str, resp: Any) -> Probe:
    """A probe from a (HEAD, ranged or plain GET) response, redirects included."""
    chain = [r.url for r in getattr(resp, "history", ())] + [resp.url or url]
    headers = resp.headers
    encoded = headers.get("Content-Encoding", "identity").lower() not in ("", "identity")
    partial = resp.status_code == 206
    checksum = None if encoded else checksums.from_headers(headers, full_body=not partial)
    return Probe(
        validators=Validators(
            etag=headers.get("ETag"),
            last_modified=headers.get("Last-Modified"),
            size=_size(headers, partial, encoded),
            checksum=str(checksum) if checksum else None,
            location=location(chain[-1]) if len(chain) > 1 else None,
        ),
        accepts_ranges=partial or headers.get("Accept-Ranges", "").lower() == "bytes",
        chain=tuple(_normalized(chain)),
        filename=disposition_filename(headers.get("Content-Disposition")),
        content_type=headers.get("Content-Type", "").split(";", 1)[0].strip().lower(),
        encoded=encoded,
        checksum=checksum,
    )


def _size(headers: Mapping[str, str], partial: bool, encoded: bool) -> int | None:
    """The object's size: ``Content-Range``'s total on a 206, else an un-encoded Content-Length."""
    if partial:
        match = _CONTENT_RANGE.match(headers.get("Content-Range", ""))
        return int(match.group(3)) if match and match.group(3) != "*" else None
    length = headers.get("Content-Length", "")
    return int(length) if length.isdigit() and not encoded else None


def location(final_url: str) -> str:
    """The part of a redirect target that names a version: normalized, without the query (a
    presigned target's signature changes every time and must not make every fetch a miss)."""
    parts = urlsplit(redact(final_url))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _normalized(chain: list[str]) -> list[str]:
    out: list[str] = []
    for hop in chain:
        try:
            normal = normalize_url(hop).url
        except InvalidURLError:
            continue
        if normal not in out:
            out.append(normal)
    return out


def disposition_filename(value: str | None) -> str | None:
    """``attachment; filename="x.csv"`` (or RFC 6266 ``filename*=UTF-8''...``) -> ``x.csv``."""
    if not value:
        return None
    message = email.message.Message()
    message["content-disposition"] = value
    name = message.get_filename()
    return name.strip() or None if isinstance(name, str) else None


def _probe_fsspec(url: str, storage_options: Mapping[str, Any] | None) -> Probe:
    from ddas.identity import validators_from_info

    fs, path = fsspec_fs(url, storage_options)
    try:
        info = fs.info(path)
    except FileNotFoundError:
        raise RemoteError(f"{redact(url)} does not exist") from None
    except (ConnectionError, TimeoutError) as exc:
        raise OriginUnavailableError(f"cannot reach {redact(url)}: {type(exc).__name__}") from None
    except Exception as exc:  # fsspec backends raise many types for auth/network trouble
        raise RemoteError(f"cannot read {redact(url)}: {type(exc).__name__}: {exc}") from None
    if info.get("type") == "directory":
        raise RemoteError(
            f"{redact(url)} is a directory; fetch one file at a time, or ddas.fetch_tree(url)"
        )
    checksum = checksums.from_info(info, url.split("://", 1)[0].lower())
    validators = validators_from_info(info)
    if checksum is not None:
        validators = Validators(
            validators.etag, validators.last_modified, validators.size, str(checksum)
        )
    return Probe(validators, accepts_ranges=True, checksum=checksum)


def fsspec_fs(url: str, storage_options: Mapping[str, Any] | None):
    from fsspec.core import url_to_fs

    try:
        return url_to_fs(url, **dict(storage_options or {}))
    except (ValueError, ImportError) as exc:
        raise RemoteError(f"no filesystem for {redact(url)}: {exc}") from None
