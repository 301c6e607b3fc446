"""REST routes for collections, scientific metadata, annotations and "same data" groups.

Thin adapters like :mod:`ddas_server.handlers` (whose base class, decorators and error mapping they
use): validate, call the registry off the event loop, reply. Documented in ``openapi.yaml``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ddas.errors import NotAllowedError
from ddas_server import validation as v
from ddas_server.handlers import API, DDASHandler, client_errors
from ddas_server.validation import BadRequest

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ddas.registry import Registry


class CollectionsHandler(DDASHandler):
    route = "collections"

    @web.authenticated
    @authorized
    @client_errors
    async def get(self) -> None:
        q = v.text(self.get_query_argument("q", None), "q", limit=v.MAX_QUERY_CHARS)
        offset, limit = v.page(
            self.get_query_argument("offset", None), self.get_query_argument("limit", None)
        )
        page = await self.registry(lambda r: r.collections(q, offset=offset, limit=limit))
        self.reply(page.to_dict())


class CollectionHandler(DDASHandler):
    route = "collection"

    @web.authenticated
    @authorized
    @client_errors
    async def get(self, collection_id: str) -> None:
        cid = v.record_id(collection_id)
        detail = await self.registry(lambda r: r.collection(cid))
        if detail is None:
            raise BadRequest(f"no collection with id {cid}", status=404)
        self.reply(detail.to_dict())


def _about(registry: Registry, content_id: int, user: str, admin: bool) -> dict[str, Any] | None:
    """Everything the details view shows beyond copies: what the file says, what people wrote,
    which collections hold it, and whether this user may annotate it."""
    detail = registry.dataset(content_id, events=0)
    if detail is None:
        return None
    meta = registry.metadata(content_id)
    return {
        "metadata": meta.to_dict() if meta else None,
        "annotations": [a.to_dict() for a in registry.annotations_for_content(content_id)],
        "collections": [c.to_dict() for c in registry.collections_with_content(content_id)],
        "can_annotate": admin or user in detail.owners,
    }


class DatasetMetadataHandler(DDASHandler):
    route = "dataset_metadata"

    @web.authenticated
    @authorized
    @client_errors
    async def get(self, content_id: str) -> None:
        cid, user, admin = v.record_id(content_id), self.acting_user, self.is_admin
        about = await self.registry(lambda r: _about(r, cid, user, admin))
        if about is None:
            raise BadRequest(f"no dataset with id {cid}", status=404)
        self.reply(about)


def _annotate(
    registry: Registry, content_id: int, body: dict[str, Any], user: str, admin: bool
) -> dict[str, Any]:
    from ddas.annotations import InvalidAnnotationError, clean_fields

    unknown = set(body) - {"tags", "description", "license", "doi", "url"}
    if unknown:
        raise BadRequest(f"unknown fields {sorted(unknown)}: use tags, description, license, doi")
    if not set(body) & {"tags", "description", "license", "doi"}:
        raise BadRequest("send a JSON object with at least one of tags, description, license, doi")
    wrong = [k for k, val in body.items() if not isinstance(val, list if k == "tags" else str)]
    if wrong:
        raise BadRequest(f"{', '.join(sorted(wrong))}: tags is a list of strings, the rest text")
    try:
        fields = clean_fields(
            body.get("tags"), body.get("description"), body.get("license"), body.get("doi")
        )
    except InvalidAnnotationError as exc:
        raise BadRequest(str(exc)) from None
    detail = registry.dataset(content_id, events=0)
    if detail is None:
        raise BadRequest(f"no dataset with id {content_id}", status=404)
    url = body.get("url")
    if url is not None and url not in detail.urls:
        raise BadRequest("url must be one of this dataset's URLs (see datasets/{id})")
    where = {"url": url or detail.urls[0]} if (url or detail.urls) else {"content_id": content_id}
    try:
        return registry.annotate(**where, user=user, admin=admin, **fields).to_dict()
    except NotAllowedError as exc:
        raise BadRequest(str(exc), status=403) from None


class AnnotationsHandler(DDASHandler):
    """``PATCH``: change the given fields; ``POST``: the same (for clients without PATCH)."""

    route = "annotations"

    @web.authenticated
    @authorized
    @client_errors
    async def patch(self, content_id: str) -> None:
        cid, user, admin = v.record_id(content_id), self.acting_user, self.is_admin
        body = v.json_object(self.request.body)
        self.reply(await self.registry(lambda r: _annotate(r, cid, body, user, admin)))

    post = patch


class SameDataHandler(DDASHandler):
    route = "same_data"

    @web.authenticated
    @authorized
    @client_errors
    async def get(self) -> None:
        offset, limit = v.page(
            self.get_query_argument("offset", None), self.get_query_argument("limit", None)
        )
        page = await self.registry(lambda r: r.same_data(offset=offset, limit=limit))
        self.reply(json.loads(json.dumps(page.to_dict(), default=str)))


ROUTES: list[tuple[str, type[DDASHandler]]] = [
    (rf"{API}/collections", CollectionsHandler),
    (rf"{API}/collections/([^/]+)", CollectionHandler),
    (rf"{API}/datasets/([^/]+)/metadata", DatasetMetadataHandler),
    (rf"{API}/datasets/([^/]+)/annotations", AnnotationsHandler),
    (rf"{API}/duplicates/same-data", SameDataHandler),
]
