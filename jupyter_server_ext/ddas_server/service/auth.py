"""Who is asking, for the JupyterHub service: the Hub user of the request's token or OAuth cookie.

The server extension's handlers (``ddas_server.handlers``) are reused unchanged: :func:`hub_handler`
puts :class:`HubServiceMixin` in front of each, so that ``prepare`` asks the Hub (``HubOAuth``) who
the caller is and whether they may use the service (the ``access:services!service=ddas`` scope),
and ``acting_user`` / ``is_admin`` come from that answer. Nothing in the request or in a kernel's
environment (``DDAS_USER``, ``JUPYTERHUB_USER``) can change who is recorded.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler, HubOAuthenticated
from tornado import web

from ddas import config

NOT_ALLOWED = (
    "{name} is not allowed to use the DDAS service: ask your JupyterHub admin for the "
    "scope {scopes} (e.g. membership of the group that has the DDAS role)"
)
NO_CREDENTIALS = (
    "no JupyterHub credentials: send 'Authorization: token $JUPYTERHUB_API_TOKEN', "
    "or log in through {login}"
)

XSRF_MISSING = (
    "a browser's request that changes something needs the X-XSRFToken header: take "
    "xsrf_token from GET whoami"
)
SAFE = ("GET", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class HubUser:
    """The Hub's answer about a request's caller (``name``, ``groups``), as jupyter-server's
    ``User`` would carry it (``username``)."""

    username: str
    kind: str = "user"
    groups: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_model(cls, model: dict[str, Any]) -> HubUser:
        return cls(
            str(model["name"]), str(model.get("kind", "user")), frozenset(model.get("groups") or ())
        )


class HubIdentity:
    """Stands where jupyter-server's identity provider stands (the handlers ask its type whether
    identities are anonymous; these are real Hub users)."""


class AllowAll:
    """The Authorizer the reused handlers consult: access was decided in ``prepare``, by scope."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return True


class AppHubAuth(HubOAuthenticated):
    """The application's ``HubOAuth`` (``settings["hub_auth"]``), never a class singleton: the
    service's is a :class:`~ddas_server.service.oauth.ReplicatedHubOAuth`."""

    @property
    def hub_auth(self) -> HubOAuth:
        return cast("HubOAuth", self.settings["hub_auth"])  # type: ignore[attr-defined]

    @hub_auth.setter
    def hub_auth(self, value: HubOAuth) -> None:  # HubAuthenticated's setter; never used here
        raise AttributeError("hub_auth comes from the application settings")


class HubServiceMixin(AppHubAuth):
    """Put first in a handler's bases: authentication by the Hub, identity from the Hub."""

    @property
    def extensionapp(self) -> Any:
        return self.settings["ddas_core"]

    @property
    def identity_provider(self) -> HubIdentity:
        return cast("HubIdentity", self.settings["ddas_identity"])

    @property
    def authorizer(self) -> AllowAll:
        return cast("AllowAll", self.settings["ddas_authorizer"])

    def get_current_user(self) -> Any:
        return None  # set in prepare(); tornado must not ask the Hub synchronously

    async def prepare(self) -> None:
        """Authenticate every request, OPTIONS included, before any handler code runs."""
        model = await self.hub_auth.get_user(self, sync=False)
        if not model:
            if self.get_cookie(self.hub_auth.cookie_name) and self.request.method not in SAFE:
                raise web.HTTPError(403, XSRF_MISSING)  # HubOAuth ignored the cookie: CSRF
            login = self.hub_auth.base_url + "oauth_login"
            raise web.HTTPError(401, NO_CREDENTIALS.format(login=login))
        scopes = self.hub_auth.access_scopes
        if scopes and not self.hub_auth.check_scopes(scopes, model):
            raise web.HTTPError(
                403,
                NOT_ALLOWED.format(name=model.get("name", "?"), scopes=" or ".join(sorted(scopes))),
            )
        self.current_user = HubUser.from_model(model)

    def options(self, *args: Any, **kwargs: Any) -> None:
        self.set_header("Allow", ", ".join(self.allowed_methods()))  # type: ignore[attr-defined]
        self.set_status(204)
        self.finish()

    @property
    def token_authenticated(self) -> bool:
        """A kernel's or the CLI's request (a Hub token in ``Authorization``), not a browser's
        cookie: only the cookie needs the XSRF proof of :meth:`require_same_site`."""
        return bool(self.request.headers.get("Authorization"))

    @property
    def acting_user(self) -> str:
        return cast("HubUser", self.current_user).username

    @property
    def is_admin(self) -> bool:
        user = cast("HubUser | None", self.current_user)
        if user is None:
            return False
        core = self.settings["ddas_service"]
        return user.username in core.admin_users or bool(user.groups & set(core.admin_groups))

    async def registry(self, fn: Callable[[Any], Any], lane: str | None = None) -> Any:
        """The handlers' registry calls, run as the Hub user (whatever the service's own env), on
        the route's lane and within that user's limit there, as in the server extension."""
        from ddas_server.executors import ROUTE_LANES

        user = self.acting_user
        core = self.settings["ddas_core"]

        def as_user(registry: Any) -> Any:
            with config.acting_as(user):
                return fn(registry)

        lane = lane or ROUTE_LANES.get(getattr(self, "route", ""), "query")
        return await core.with_registry(as_user, lane=lane, user=user)


@functools.cache
def hub_handler(cls: type) -> type:
    """``cls`` (a ``ddas_server.handlers`` class) authenticated by the Hub instead of the server."""
    return type(f"Hub{cls.__name__}", (HubServiceMixin, cls), {"__module__": __name__})


class CallbackHandler(AppHubAuth, HubOAuthCallbackHandler):
    """``{prefix}oauth_callback``: the end of a login, on whichever replica it reaches."""


class LoginHandler(AppHubAuth, web.RequestHandler):
    """``{prefix}oauth_login?next=…``: the browser's way in (the Hub's OAuth, then back to
    ``next``, which must be under the service's prefix). The sidebar follows it once with
    ``fetch``; the OAuth cookie it ends with authenticates its later REST calls."""

    @web.authenticated
    def get(self) -> None:
        prefix = self.hub_auth.base_url
        target = self.get_argument("next", "")
        if not target.startswith(prefix) or "//" in target or "\\" in target:
            target = prefix + "ddas/api/whoami"
        self.redirect(target)
