"""The REST handlers: authenticate, authorize, validate, call the registry off the event loop, reply.

Each handler is a thin adapter in the jupyterlab-git style: no SQL, no business rules beyond who may do
what. Every method carries ``@web.authenticated`` and ``@authorized`` (resource ``"ddas"``), so an
Authorizer configured on the server (JupyterHub's RBAC, a custom one) governs DDAS like any other
Jupyter API. The acting user always comes from the server's identity provider, never from the request.
The routes and their shapes are documented in ``openapi.yaml`` next to this file.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from sqlalchemy.exc import InterfaceError, OperationalError
from tornado import web

from ddas import config
from ddas.errors import (
    InvalidURLError,
    RegistryPermissionError,
    RemoteError,
    StorePermissionError,
)
from ddas.netpolicy import BlockedAddressError
from ddas_server import conditional, metrics
from ddas_server import validation as v
from ddas_server.executors import ROUTE_LANES
from ddas_server.guards import RequestGuards
from ddas_server.scans import ScanBusyError
from ddas_server.validation import BadRequest

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ddas.registry import Registry
    from ddas_server.app import DDASExtension

AUTH_RESOURCE = "ddas"
F = TypeVar("F", bound=Callable[..., Awaitable[None]])


def client_errors(method: F) -> F:
    """Map what the layers below raise to HTTP: client mistakes to 4xx, an unreachable database
    to 503; anything else stays a genuine 500."""

    @functools.wraps(method)
    async def wrapper(self: DDASHandler, *args: Any, **kwargs: Any) -> None:
        try:
            await method(self, *args, **kwargs)
        except BadRequest as exc:
            raise web.HTTPError(exc.status, "%s", str(exc)) from None
        except InvalidURLError as exc:
            raise web.HTTPError(400, "malformed URL: %s", str(exc)) from None
        except (OperationalError, InterfaceError) as exc:
            self.log.error("DDAS registry unavailable: %s", type(exc).__name__)
            raise web.HTTPError(503, "the registry database is unavailable; retry later") from None
        except (RegistryPermissionError, StorePermissionError) as exc:  # the server's own setup
            raise web.HTTPError(503, "%s", str(exc)) from None

    return cast("F", wrapper)


def _anonymous_identities(handler: APIHandler) -> bool:
    """True for jupyter-server's own shared-token/password providers, whose users are random
    ``Anonymous ...`` ids: the only person behind such a server is whoever runs it."""
    return type(handler.identity_provider).__module__.startswith("jupyter_server.")


class DDASHandler(ExtensionHandlerMixin, RequestGuards):
    """Base: JSON replies and errors, the acting user, admin checks, request metrics."""

    auth_resource = AUTH_RESOURCE
    route = "unknown"  # the metrics label

    @property
    def ddas(self) -> DDASExtension:
        return cast("DDASExtension", self.extensionapp)

    @functools.cached_property
    def acting_user(self) -> str:
        """JupyterHub's (or any real identity provider's) user name; on a personal server
        (jupyter-server's token identities) the same user the library records: DDAS_USER,
        JUPYTERHUB_USER or the OS user. Once per request (a handler is one request): the OS
        user is a passwd lookup, and a report request asked four times."""
        if _anonymous_identities(self):
            return config.current_user()
        return str(self.current_user.username)

    @property
    def is_admin(self) -> bool:
        return self.acting_user in self.ddas.admin_users

    def require_admin(self, action: str) -> None:
        if not self.is_admin:
            raise BadRequest(f"only DDAS admins may {action}", status=403)

    async def registry(self, fn: Callable[[Registry], Any], lane: str | None = None) -> Any:
        """The registry call on this route's lane (see ``executors``), within the user's limit."""
        lane = lane or ROUTE_LANES.get(self.route, "query")
        return await self.ddas.with_registry(fn, lane=lane, user=self.acting_user)

    async def reply_report(self, compute: Callable[[Registry], Any]) -> None:
        """Answer a report route (``compute`` builds its JSON payload) with ``304`` when the
        client's ETag is this generation's, from the cache when it has this generation's body,
        else by computing it (see :mod:`ddas_server.conditional`). The generation is the route's
        own (``duplicates``, ``stats`` or ``events``): an event does not move the duplicates'."""
        key = conditional.request_key(self.route, self.request.query, self.acting_user)
        concern = self.route
        generation = await self.registry(lambda r: r.generation(concern), lane="query")
        tag = conditional.etag(generation, key)
        self.set_header("ETag", tag)
        self.set_header("Cache-Control", "private, no-cache")  # revalidate: ask with the ETag
        if conditional.matches(self.request.headers.get("If-None-Match"), tag):
            self.set_status(304)
            self.finish()
            return
        body = self.ddas.report_cache.get(key, generation)
        if body is None:
            body = json.dumps(await self.registry(compute))
            self.ddas.report_cache.put(key, generation, body)
        self.finish(body)

    def reply(self, payload: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(payload))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """``{"message": ...}`` for every error; formatted safely (URLs contain ``%``)."""
        exc = (kwargs.get("exc_info") or (None, None, None))[1]
        message = self._reason
        if isinstance(exc, web.HTTPError) and exc.log_message:
            message = exc.log_message % exc.args if exc.args else exc.log_message
        elif status_code >= 500:
            message = "internal error in the DDAS server extension; see the server log"
        if status_code == 405:  # RFC 9110: say which methods this resource has
            self.set_header("Allow", ", ".join(self.allowed_methods()))
        if status_code == 429:
            self.set_header("Retry-After", "1")
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"message": message}))

    def on_finish(self) -> None:
        metrics.observe_request(
            self.route, self.request.method or "", self.get_status(), self.request.request_time()
        )


class DatasetsHandler(DDASHandler):
    route = "datasets"

    @web.authenticated
    @authorized
    @client_errors
    async def get(self) -> None:
        arg = self.get_query_argument
        q = v.text(arg("q", None), "q", limit=v.MAX_QUERY_CHARS)
        owner = v.text(arg("owner", None), "owner")
        owner = self.acting_user if owner == "me" else owner
        sort = v.dataset_sort(arg("sort", None))
        offset, limit = v.page(arg("offset", None), arg("limit", None))
        page = await self.registry(
            lambda r: r.search(
                q, owner=owner or None, sort=sort, offset=offset, limit=limit
            ).to_dict()
        )
        self.reply(page)


class DatasetHandler(DDASHandler):
    route = "dataset"

    @web.authenticated
    @authorized
    @client_errors
    async def get(self, content_id: str) -> None:
        cid = v.record_id(content_id)
        detail = await self.registry(lambda r: r.dataset(cid))
        if detail is None:
            raise BadRequest(f"no dataset with id {cid}", status=404)
        self.reply(detail.to_dict())


def _lookup(registry: Registry, url: str, probe: bool, session: Any = None) -> dict[str, Any]:
    """``ddas.api.lookup_status``, plus ``probed`` (whether the remote was asked for its version).

    When the remote cannot be asked, the registry's own answer (with ``probe_error`` saying why) is
    still what the sidebar needs: a copy we hold is worth showing precisely when the remote is down.
    ``session`` is the server's guarded HTTP session: an internal address is refused, not probed.
    """
    from ddas.api import lookup_status  # lazy: ddas.api brings transfer, fsspec, requests

    if probe:
        try:
            return {
                **lookup_status(url, registry=registry, probe=True, session=session),
                "probed": True,
            }
        except (OSError, BlockedAddressError) as exc:  # + what fsspec raises for dead remotes
            known = isinstance(exc, RemoteError | BlockedAddressError)
            error = str(exc) if known else f"{type(exc).__name__}"
            return {
                **lookup_status(url, registry=registry, probe=False),
                "probed": False,
                "probe_error": error,
            }
    return {**lookup_status(url, registry=registry, probe=False), "probed": False}


class LookupHandler(DDASHandler):
    route = "lookup"

    @web.authenticated
    @authorized
    @client_errors
    async def get(self) -> None:
        url = v.dataset_url(self.get_query_argument("url", None))
        probe = v.flag(self.get_query_argument("probe", None), "probe", default=True)
        probe = probe and self.ddas.may_probe(url)
        if probe:  # a request the server sends for the user: not for a cross-site navigation
            self.require_same_site("probe a remote (or pass probe=0)")
        session = self.ddas.probe_session
        result = await self.registry(
            lambda r: _lookup(r, url, probe, session), lane="probe" if probe else "query"
        )
        metrics.observe_lookup(result)
        self.reply(result)


class DuplicatesHandler(DDASHandler):
    route = "duplicates"

    @web.authenticated
    @authorized
    @client_errors
    async def get(self) -> None:
        arg = self.get_query_argument
        offset, limit = v.page(arg("offset", None), arg("limit", None))
        cursor = v.duplicates_cursor(arg("cursor", None))
        await self.reply_report(
            lambda r: r.duplicates(offset=offset, limit=limit, cursor=cursor).to_dict()
        )


class StatsHandler(DDASHandler):
    route = "stats"

    @web.authenticated
    @authorized
    @client_errors
    async def get(self) -> None:
        await self.reply_report(_stats)


def _stats(registry: Registry) -> dict[str, Any]:
    stats = registry.stats()
    metrics.observe_stats(stats)
    return stats.to_dict()


class EventsHandler(DDASHandler):
    route = "events"

    @web.authenticated
    @authorized
    @client_errors
    async def get(self) -> None:
        arg = self.get_query_argument
        since = v.integer(arg("since", None), "since", default=0)
        limit = v.integer(arg("limit", None), "limit", default=100, low=1, high=v.MAX_EVENTS)
        user = v.text(arg("user", None), "user")
        user = self.acting_user if user == "me" else user
        kinds = v.event_kinds(arg("kind", None))

        def page(r: Registry) -> dict[str, Any]:
            newest = r.last_event_id()  # read first: the page then holds every event up to it
            events = r.events(since=since, user=user or None, kinds=kinds, limit=limit)
            items = [e.to_dict() for e in events]
            # last_id: where this page ends (pass it back as since to read on); newest_id: the
            # newest event of anyone, so a client can skip history in one request.
            return {
                "items": items,
                "last_id": items[-1]["id"] if items else since,
                "newest_id": newest,
            }

        await self.reply_report(page)


class ScansHandler(DDASHandler):
    route = "scans"

    @web.authenticated
    @authorized
    @client_errors
    async def post(self) -> None:
        self.require_admin("start scans")
        roots = v.scan_roots(v.json_object(self.request.body), list(self.ddas.scan_roots))
        runner = await self.ddas.run(self.ddas.scan_runner, self.acting_user)
        try:
            job = self.ddas.scans.start(roots, self.acting_user, runner)
        except ScanBusyError as busy:
            self.reply({**busy.job.to_dict(), "message": f"{busy}; watch scans/{busy.job.id}"}, 409)
            return
        self.set_header("Location", self.request.path.rstrip("/") + "/" + job.id)
        self.reply(job.to_dict(), 202)


class ScanHandler(DDASHandler):
    route = "scan"

    @web.authenticated
    @authorized
    @client_errors
    async def get(self, job_id: str) -> None:
        self.require_admin("watch scans")
        job = self.ddas.scans.get(job_id) if len(job_id) <= 64 else None
        if job is None:
            raise BadRequest(
                "no such scan (scans are kept in memory until the server restarts)", status=404
            )
        self.reply(job.to_dict())


def _forget(registry: Registry, copy_id: int, user: str, admin: bool) -> None:
    info = registry.copy(copy_id)
    if info is None:
        raise BadRequest(f"no copy with id {copy_id}", status=404)
    if not admin and info.owner != user:
        raise BadRequest(
            f"copy {copy_id} belongs to {info.owner}: only they or an admin may forget it",
            status=403,
        )
    try:
        registry.forget_copy(copy_id, user=user)
    except KeyError:  # forgotten by someone else in between
        raise BadRequest(f"no copy with id {copy_id}", status=404) from None


class CopyHandler(DDASHandler):
    route = "copy"

    @web.authenticated
    @authorized
    @client_errors
    async def delete(self, copy_id: str) -> None:
        cid, user, admin = v.record_id(copy_id), self.acting_user, self.is_admin
        await self.registry(lambda r: _forget(r, cid, user, admin))
        self.set_status(204)
        self.finish()


class WhoamiHandler(DDASHandler):
    route = "whoami"

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.reply({"user": self.acting_user, "admin": self.is_admin})


class NotFoundHandler(DDASHandler):
    """Unknown ``/ddas/api/...`` paths: a JSON 404 (after authentication) instead of an HTML page."""

    route = "unknown"

    @web.authenticated
    async def _not_found(self, *args: str) -> None:
        raise web.HTTPError(404, "no such DDAS API endpoint; see openapi.yaml")

    get = post = put = patch = delete = head = _not_found


API = "/ddas/api"
ROUTES: list[tuple[str, type[DDASHandler]]] = [
    (rf"{API}/datasets", DatasetsHandler),
    (rf"{API}/datasets/([^/]+)", DatasetHandler),
    (rf"{API}/lookup", LookupHandler),
    (rf"{API}/duplicates", DuplicatesHandler),
    (rf"{API}/stats", StatsHandler),
    (rf"{API}/events", EventsHandler),
    (rf"{API}/scans", ScansHandler),
    (rf"{API}/scans/([^/]+)", ScanHandler),
    (rf"{API}/copies/([^/]+)", CopyHandler),
    (rf"{API}/whoami", WhoamiHandler),
    (rf"{API}/(.*)", NotFoundHandler),
]
