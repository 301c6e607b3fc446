"""``ddas.annotate``: what people know about a dataset that its bytes do not say.

Tags, a description, a license and a DOI, searchable from the sidebar and ``datasets?q=``. A URL's
annotation is kept across its versions; a digest (``blake3:…``, ``sha256:…``) annotates that content.
Input is checked here (one set of rules for the library and the REST API) and bad input is an
:class:`InvalidAnnotationError` that says what is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ddas import config
from ddas.errors import DDASError, InvalidURLError
from ddas.hashes import parse_digest
from ddas.identity import normalize_url

if TYPE_CHECKING:  # pragma: no cover
    from ddas.records import AnnotationInfo
    from ddas.registry import Registry

MAX_TAGS, MAX_TAG = 50, 64
MAX_DESCRIPTION = 10_000
MAX_FIELD = 255
_DOI = re.compile(r"^10\.\d{4,9}/\S+$")
_HEXISH = re.compile(r"^(?:[A-Za-z0-9]+:)?[0-9a-fA-F]{32,128}$")  # a digest, not a URL


class InvalidAnnotationError(DDASError, ValueError):
    """A tag, description, license or DOI that cannot be stored as given."""


class UnknownDatasetError(DDASError, LookupError):
    """The URL or digest names nothing in the registry (fetch or scan it first)."""


def clean_fields(
    tags: Sequence[str] | None,
    description: str | None,
    license: str | None,
    doi: str | None,
) -> dict[str, Any]:
    """The validated, normalized fields (None: leave unchanged)."""
    out: dict[str, Any] = {}
    if tags is not None:
        if isinstance(tags, str) or not all(isinstance(t, str) for t in tags):
            raise InvalidAnnotationError("tags must be a list of strings, e.g. ['era5', 'daily']")
        cleaned = [t.strip() for t in tags if t.strip()]
        if len(cleaned) > MAX_TAGS or any(len(t) > MAX_TAG for t in cleaned):
            raise InvalidAnnotationError(
                f"at most {MAX_TAGS} tags of at most {MAX_TAG} characters each"
            )
        out["tags"] = cleaned
    for name, value, limit in (
        ("description", description, MAX_DESCRIPTION),
        ("license", license, MAX_FIELD),
    ):
        if value is not None:
            if not isinstance(value, str) or len(value) > limit or "\x00" in value:
                raise InvalidAnnotationError(f"{name} must be text of at most {limit} characters")
            out[name] = value.strip()
    if doi is not None:
        if not isinstance(doi, str):
            raise InvalidAnnotationError("doi must be text such as '10.5281/zenodo.123'")
        value = re.sub(r"^(?:https?://(?:dx\.)?doi\.org/|doi:)", "", doi.strip(), flags=re.I)
        if value and not _DOI.match(value):
            raise InvalidAnnotationError(
                f"doi {doi[:60]!r} is not a DOI: expected '10.<registrant>/<suffix>'"
            )
        out["doi"] = value
    return out


def subject(registry: Registry, url_or_digest: str) -> dict[str, Any]:
    """``{"url": normalized}`` for a URL, ``{"content_id": id}`` for a digest."""
    text = url_or_digest.strip()
    if _HEXISH.match(text):
        try:
            known = parse_digest(text)
        except ValueError as exc:
            raise InvalidAnnotationError(str(exc)) from None
        content_id = registry.content_id_for_digest(str(known))
        if content_id is None:
            raise UnknownDatasetError(f"no dataset with {known.algorithm} {known.value[:16]}…")
        return {"content_id": content_id}
    try:
        return {"url": normalize_url(text).url}
    except InvalidURLError:
        raise InvalidAnnotationError(
            "annotate a dataset URL (as fetched) or a digest such as 'blake3:<hex>'"
        ) from None


def annotate(
    url_or_digest: str,
    *,
    tags: Sequence[str] | None = None,
    description: str | None = None,
    license: str | None = None,
    doi: str | None = None,
    registry: Registry | None = None,
) -> AnnotationInfo:
    """Tag and describe a dataset for everyone: ``ddas.annotate(url, tags=["era5"], doi=…)``.

    Only the fields you pass change. Allowed to owners of a copy of the dataset (admins do it
    from the sidebar); raises :class:`ddas.NotAllowedError` otherwise.
    """
    from ddas.registry import Registry

    registry = registry or Registry()
    fields = clean_fields(tags, description, license, doi)
    where = subject(registry, url_or_digest)
    try:
        return registry.annotate(**where, user=config.current_user(), **fields)
    except KeyError:
        raise UnknownDatasetError(
            f"{url_or_digest[:80]} is not in the registry: fetch or scan it first"
        ) from None
