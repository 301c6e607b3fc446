"""The sidebar of a single-user server whose ``DDAS_REGISTRY`` names the JupyterHub service.

Such a server holds no registry: its ``/ddas/api/…`` routes relay each call, after the server's own
authentication and XSRF checks, to the DDAS service with the server's ``JUPYTERHUB_API_TOKEN``. The
service then knows the caller as the server's owner (from the token, as the Hub says), so the sidebar
works unchanged and records nothing the service would not. Only the owner of the server reaches it,
so relaying with the owner's token hands nobody else the owner's rights.
"""

from __future__ import annotations

import asyncio
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import httpclient, web

RELAY_TIMEOUT = 120.0  # a lookup may probe the remote from the service
_FORWARDED = ("Content-Type", "Location", "Allow")


class RelayHandler(ExtensionHandlerMixin, APIHandler):
    """``/ddas/api/(.*)`` → ``{service}/ddas/api/\\1`` with the server's Hub token."""

    auth_resource = "ddas"

    async def _service_api(self) -> str:
        """The service's API base, resolved once per server (``hub://`` asks the Hub)."""
        app: Any = self.extensionapp
        if getattr(app, "_relay_api", None) is None:
            from ddas.remote.client import ServiceClient

            client = await asyncio.get_running_loop().run_in_executor(
                None, ServiceClient, app.registry_url
            )
            app._relay_api, app._relay_token = client.api, client.session.headers["Authorization"]
        return str(app._relay_api)

    async def _relay(self, path: str) -> None:
        try:
            base = await self._service_api()
        except Exception as exc:  # DDASError with what to do; shown by the sidebar
            raise web.HTTPError(502, "%s", str(exc)) from None
        query = self.request.query
        request = httpclient.HTTPRequest(
            base + path + (f"?{query}" if query else ""),
            method=self.request.method or "GET",
            headers={
                "Authorization": self.extensionapp._relay_token,
                "Content-Type": "application/json",
            },
            body=self.request.body if self.request.method in ("POST", "PUT", "PATCH") else None,
            request_timeout=RELAY_TIMEOUT,
            follow_redirects=False,
        )
        try:
            reply = await httpclient.AsyncHTTPClient().fetch(request, raise_error=False)
        except OSError:
            reply = None
        if reply is None or reply.code == 599:
            raise web.HTTPError(502, "cannot reach the DDAS service at %s; retry later", base)
        self.set_status(reply.code)
        for name in _FORWARDED:
            if name in reply.headers:
                self.set_header(name, reply.headers[name])
        self.finish(reply.body or None)

    @web.authenticated
    @authorized
    async def get(self, path: str) -> None:
        await self._relay(path)

    @web.authenticated
    @authorized
    async def post(self, path: str) -> None:
        await self._relay(path)

    @web.authenticated
    @authorized
    async def delete(self, path: str) -> None:
        await self._relay(path)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """``{"message": ...}`` like every DDAS error (formatted safely: URLs contain ``%``)."""
        import json

        exc = (kwargs.get("exc_info") or (None, None, None))[1]
        message = self._reason
        if isinstance(exc, web.HTTPError) and exc.log_message:
            message = exc.log_message % exc.args if exc.args else exc.log_message
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"message": message}))


RELAY_ROUTES = [(r"/ddas/api/(.*)", RelayHandler)]
