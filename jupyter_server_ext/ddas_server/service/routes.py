"""The service's routes: the server extension's REST API behind Hub auth, plus fetch jobs and login.

Every route of ``ddas_server.handlers.ROUTES`` is served unchanged in behaviour under
``{JUPYTERHUB_SERVICE_PREFIX}ddas/api/``; the service adds ``fetches`` (downloads run by the service
for kernels, see :mod:`ddas_server.service.fetches`), ``oauth_login`` and the OAuth callback.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tornado import web

from ddas.hashes import parse_known_hash
from ddas.identity import normalize_url
from ddas.netpolicy import BlockedAddressError
from ddas.registry import lease_key
from ddas.remote.client import ERROR_TYPE_HEADER
from ddas.vocabulary import POLICIES
from ddas_server import lifecycle
from ddas_server import validation as v
from ddas_server.collections import ROUTES as COLLECTION_ROUTES
from ddas_server.handlers import API, ROUTES, DDASHandler, WhoamiHandler, client_errors
from ddas_server.service.auth import CallbackHandler, LoginHandler, hub_handler
from ddas_server.service.fetches import FetchJob, FetchJobs
from ddas_server.validation import BadRequest


def _fetch_request(body: dict[str, Any]) -> dict[str, Any]:
    """The POST fetches body, checked: url, policy, known_hash, storage_options."""
    url = v.dataset_url(body.get("url"))
    if normalize_url(url).is_local:
        raise BadRequest(
            "local paths are looked up by your own kernel, never fetched by the service"
        )
    policy = body.get("policy")
    if policy is not None and policy not in POLICIES:
        raise BadRequest(f"policy must be one of {', '.join(POLICIES)}")
    known_hash = body.get("known_hash")
    if known_hash is not None:
        if not isinstance(known_hash, str):
            raise BadRequest("known_hash must be a string like 'sha256:…'")
        try:
            parse_known_hash(known_hash)
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
    options = body.get("storage_options") or {}
    if not isinstance(options, dict):
        raise BadRequest("storage_options must be a JSON object")
    return {"url": url, "policy": policy, "known_hash": known_hash, "storage_options": options}


class FetchJobsBase(DDASHandler):
    """What both fetch routes need: the job table and the job as a reply."""

    @property
    def jobs(self) -> FetchJobs:
        return self.settings["ddas_fetches"]

    async def view(self, job: FetchJob) -> dict[str, Any]:
        """The job with the lease's progress (whoever holds it, on whichever replica)."""
        lease = await self.ddas.with_registry(lambda r: r.current_lease(lease_key(job.url)))
        held = {"user": lease.user, "total_bytes": lease.total_bytes} if lease is not None else None
        return job.to_dict(held)


class FetchesHandler(FetchJobsBase):
    route = "fetches"
    error_type = ""

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """The error's type in a header (the error page's ``clear()`` drops earlier ones): the
        kernel raises the same typed error as an embedded fetch would."""
        if self.error_type:
            self.set_header(ERROR_TYPE_HEADER, self.error_type)
        super().write_error(status_code, **kwargs)

    @web.authenticated
    @client_errors
    async def post(self) -> None:
        request = _fetch_request(v.json_object(self.request.body))
        egress = self.settings["ddas_service"].egress
        loop = asyncio.get_running_loop()
        try:  # names are resolved: off the event loop
            await loop.run_in_executor(
                None, egress.check, request["url"], request["storage_options"]
            )
        except BlockedAddressError as exc:
            self.error_type = type(exc).__name__
            raise BadRequest(str(exc), status=403) from None
        job = self.jobs.start(self.acting_user, **request)
        self.set_header("Location", f"{self.request.path.rstrip('/')}/{job.id}")
        self.reply(await self.view(job), 202)


class FetchHandler(FetchJobsBase):
    route = "fetch"

    @web.authenticated
    @client_errors
    async def get(self, job_id: str) -> None:
        job = self.jobs.get(job_id) if len(job_id) <= 64 else None
        if job is None or (job.user != self.acting_user and not self.is_admin):
            raise BadRequest(
                "no such fetch on this service replica (jobs live in memory): fetch again, "
                "a running download is joined through its lease",
                status=404,
            )
        self.reply(await self.view(job))


class ServiceWhoamiHandler(WhoamiHandler):
    """``whoami`` plus what a browser client of the service needs: its groups and the XSRF token
    (the service's ``_xsrf`` cookie is scoped to its prefix, invisible to the Lab page)."""

    @web.authenticated
    async def get(self) -> None:
        user = self.current_user
        self.reply(
            {
                "user": self.acting_user,
                "admin": self.is_admin,
                "groups": sorted(user.groups),
                "mode": "jupyterhub-service",
                "xsrf_token": self.xsrf_token.decode()
                if isinstance(self.xsrf_token, bytes)
                else self.xsrf_token,
            }
        )


def service_routes(prefix: str) -> list[tuple[str, type]]:
    """The URL table under the Hub's service ``prefix`` (which ends with a slash)."""
    base = prefix.rstrip("/")
    own = [
        (rf"{API}/fetches", FetchesHandler),
        (rf"{API}/fetches/([^/]+)", FetchHandler),
        (rf"{API}/whoami", ServiceWhoamiHandler),
    ]
    table = [(base + pattern, hub_handler(cls)) for pattern, cls in own]
    # the store lifecycle and collections before ROUTES' catch-all 404, as the extension has them
    table += [
        (base + pattern, hub_handler(cls))
        for pattern, cls in lifecycle.ROUTES + COLLECTION_ROUTES + ROUTES
    ]
    table += [
        (rf"{base}/oauth_callback", CallbackHandler),
        (rf"{base}/oauth_login", LoginHandler),
    ]
    return table
