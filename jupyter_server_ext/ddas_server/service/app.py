"""``ddas-service``: DDAS run by JupyterHub as a service, the one writer of the registry and the store.

JupyterHub starts it (``c.JupyterHub.services``) with ``JUPYTERHUB_API_TOKEN``,
``JUPYTERHUB_SERVICE_URL`` (where to listen) and ``JUPYTERHUB_SERVICE_PREFIX`` (the path the Hub's
proxy sends to it) in its environment. It serves the server extension's REST API with the extension's
own handlers and :class:`~ddas_server.app.DDASExtension` core (its registry, executors, scans), but
every request is authenticated by the Hub, and it adds fetch jobs so that kernels never need the
registry's credentials or write access to the store. Being stateless beyond the database and the
store (fetch jobs are progress reports; the lease is in the database), several replicas can serve
one Hub behind a load balancer on a PostgreSQL registry.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
import secrets
import signal
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlparse

from tornado import web
from traitlets import Bytes, Int, List, Set, TraitError, Unicode, default, validate
from traitlets.config import Application

from ddas import http_client
from ddas_server.app import DDASExtension
from ddas_server.handlers import DDASHandler
from ddas_server.service.auth import AllowAll, HubIdentity
from ddas_server.service.egress import Egress
from ddas_server.service.fetches import FetchJob, FetchJobs
from ddas_server.service.oauth import ReplicatedHubOAuth
from ddas_server.service.routes import service_routes
from ddas_server.service.store import ServiceStore


def shared_cookie_secret(api_token: str) -> bytes:
    """A cookie secret every replica computes alike: an HMAC of the service's Hub API token.

    Replicas share that token (the Hub knows the service by it), so they share this secret with
    no extra configuration, and the token cannot be recovered from the secret or from a cookie.
    Without a token (a service started by hand for a test) each process gets a random one.
    """
    if not api_token:
        return secrets.token_bytes(32)
    return hmac.new(api_token.encode(), b"ddas-service cookie secret v1", hashlib.sha256).digest()


def _log_request(handler: web.RequestHandler) -> None:
    """One access-log line per request, without the query string: ``lookup?url=`` may carry a
    signed URL's signature or a password."""
    status = handler.get_status()
    level = logging.INFO if status < 400 else logging.WARNING
    logging.getLogger("ddas.service.access").log(
        level,
        "%d %s %s %.1fms",
        status,
        handler.request.method,
        handler.request.path,
        1000 * handler.request.request_time(),
    )


class DDASService(Application):
    """The service process: configuration, the Hub client, the tornado application."""

    name = "ddas-service"
    description = (
        "DDAS as a JupyterHub service: the shared dataset registry, identity from the Hub."
    )
    classes = [DDASExtension]
    aliases = {
        "registry": "DDASExtension.registry_url",
        "store": "DDASExtension.store",
        "config": "DDASService.config_file",
        "admin-groups": "DDASService.admin_groups",
        "url": "DDASService.url",
    }

    config_file = Unicode(
        "", help="A Python config file (c.DDASExtension.*, c.DDASService.*)."
    ).tag(config=True)
    url = Unicode(help="Where to listen; default JUPYTERHUB_SERVICE_URL.").tag(config=True)
    prefix = Unicode(help="URL prefix; default JUPYTERHUB_SERVICE_PREFIX.").tag(config=True)
    admin_groups = Set(
        Unicode(),
        {"ddas-admins"},
        help="Hub groups whose members are DDAS admins (scans, forgetting anyone's copies). "
        "c.DDASExtension.admin_users adds single Hub user names.",
    ).tag(config=True)
    fetch_threads = Int(8, help="Downloads the service runs at once for its users.").tag(
        config=True
    )
    fetch_allow_networks = List(
        Unicode(),
        [],
        help="Networks the service may download from although they are not public internet "
        "addresses (an institutional mirror: ['10.1.2.0/24']). Loopback, private, link-local and "
        "metadata addresses are refused otherwise; metadata services always are.",
    ).tag(config=True)
    fetch_schemes = Set(
        Unicode(),
        {"http", "https"},
        help="URL schemes the service downloads for its users. Others (s3, gs, ...) go through "
        "fsspec backends that resolve names themselves: list them only if you trust them.",
    ).tag(config=True)
    cookie_secret = Bytes(
        help="Signs the OAuth state and login cookies and the XSRF token; every replica behind "
        "the Hub's proxy must have the same one, so that a login begun on one replica ends on "
        "another (no session affinity). Default: DDAS_SERVICE_COOKIE_SECRET (hex), else derived "
        "from the service's Hub API token, which all replicas of the service share."
    ).tag(config=True)

    @validate("fetch_allow_networks")
    def _check_networks(self, proposal: Any) -> list[str]:
        try:
            Egress.configure(proposal["value"], set())
        except ValueError as exc:
            raise TraitError(f"fetch_allow_networks: {exc}") from None
        return list(proposal["value"])

    @default("log_level")
    def _default_log_level(self) -> int:
        return logging.INFO  # an admin reads the start and stop lines in the Hub's service log

    @default("url")
    def _default_url(self) -> str:
        return os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:10101")

    @default("prefix")
    def _default_prefix(self) -> str:
        return os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/ddas/")

    @default("cookie_secret")
    def _default_cookie_secret(self) -> bytes:
        value = os.environ.get("DDAS_SERVICE_COOKIE_SECRET", "").strip()
        if value:
            return bytes.fromhex(value)
        return shared_cookie_secret(os.environ.get("JUPYTERHUB_API_TOKEN", ""))

    def initialize(self, argv: list[str] | None = None) -> None:
        self.parse_command_line(argv)
        if self.config_file:
            self.load_config_file(self.config_file)
            self.parse_command_line(argv)  # the command line wins over the file
        self.core = DDASExtension(config=self.config, export_env=False)
        self.core.initialize_settings()
        self.store = ServiceStore(self.core.store)
        self.egress = Egress.configure(self.fetch_allow_networks, self.fetch_schemes)
        http_client.confine(self.egress.policy)  # every download of this process, every hop
        self.fetches = FetchJobs(
            ThreadPoolExecutor(max(1, self.fetch_threads), thread_name_prefix="ddas-fetch"),
            self._run_fetch,
        )

    def _run_fetch(self, job: FetchJob) -> dict[str, Any]:
        """One job's fetch, in a fetch thread, already as the job's Hub user."""
        from ddas.fetching import Fetcher

        fetcher = Fetcher(
            self.core.get_registry(),
            self.store,
            policy=job.policy,
            known_hash=job.known_hash,
            progress=job,
            storage_options=job._options,
            quiet=True,
        )
        result = fetcher.fetch(job._url)
        alert = result.alert
        return {
            **result.to_dict(),
            "owner": result.copy.owner if result.copy else job.user,
            "alert": {"kind": alert.kind, "message": alert.message} if alert else None,
        }

    def make_app(self) -> web.Application:
        prefix = self.prefix if self.prefix.endswith("/") else self.prefix + "/"
        # Any replica can finish a login another began (see ddas_server.service.oauth).
        hub_auth = ReplicatedHubOAuth(
            base_url=prefix, cache_max_age=60, cookie_secret=self.cookie_secret
        )
        settings = {
            "hub_auth": hub_auth,
            "ddas_core": self.core,
            "ddas_service": self,
            "ddas_fetches": self.fetches,
            "ddas_identity": HubIdentity(),
            "ddas_authorizer": AllowAll(),
            "cookie_secret": self.cookie_secret,
            "login_url": hub_auth.login_url,
            "log_function": _log_request,
            "base_url": prefix,
        }
        routes = [
            (p, cls, {"name": self.core.name} if issubclass(cls, DDASHandler) else {})
            for p, cls in service_routes(prefix)
        ]
        return web.Application(routes, **settings)

    @property
    def admin_users(self) -> set[str]:
        return set(self.core.admin_users)

    async def serve(self) -> None:
        """Serve until SIGTERM or SIGINT (how JupyterHub stops a service), then stop cleanly."""
        parsed = urlparse(self.url)
        app = self.make_app()
        app.settings[self.core.name] = self.core  # ExtensionHandlerMixin's lookup
        server = app.listen(parsed.port or 80, parsed.hostname or "127.0.0.1", xheaders=True)
        self.core.begin_warm_up()  # the first users' requests find compiled statements and pools
        self.log.info(
            "DDAS service on %s%s: registry %s, store %s, admin groups %s",
            self.url,
            self.prefix,
            self.core.registry_url.split("@")[-1],
            self.core.store,
            ", ".join(sorted(self.admin_groups)) or "none",
        )
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        await stopping.wait()
        self.log.info("DDAS service stopping: no new requests; queued fetch jobs cancelled")
        server.stop()
        self.fetches.shutdown()
        await self.core.stop_extension()
        self.log.info("DDAS service stopped")

    def start(self) -> None:
        asyncio.run(self.serve())


def main(argv: list[str] | None = None) -> None:
    """The ``ddas-service`` console script and ``python -m ddas_server.service``."""
    os.umask(0o077)  # the registry file (SQLite) and logs are the service's alone
    logging.basicConfig(level=logging.INFO, format="[%(levelname)1.1s %(name)s] %(message)s")
    app = DDASService()
    app.initialize(argv)
    app.start()
