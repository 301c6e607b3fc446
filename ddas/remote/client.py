"""Talking to the DDAS JupyterHub service with the user's Hub token.

When ``DDAS_REGISTRY`` names the service (``hub://ddas``, or its ``http(s)://`` URL), kernels and the
CLI hold no database credentials and cannot write the store: every question goes to the service,
authenticated with ``JUPYTERHUB_API_TOKEN`` (set by the Hub in every single-user server and kernel).
The service learns who is asking from that token alone, so nothing a kernel sets in its environment
changes who is recorded.

``hub://NAME`` is resolved through the Hub API (``GET /hub/api/services/NAME``, which needs the
``read:services!service=NAME`` scope the admin guide grants); ``DDAS_SERVICE_URL`` overrides it.
"""

from __future__ import annotations

import os
import threading
from typing import Any
from urllib.parse import quote

import requests

from ddas import config
from ddas.errors import NotAllowedError, ServiceError
from ddas.netpolicy import BlockedAddressError

TIMEOUT = (10.0, 60.0)  # connect, read: a lookup may probe the remote
#: The typed error behind a refusal, when it is not just "not allowed" (a blocked address).
ERROR_TYPE_HEADER = "X-DDAS-Error"
_LOCAL = threading.local()


def hub_token() -> str:
    """The user's Hub API token, or a :class:`NotAllowedError` saying where to get one."""
    token = (
        os.environ.get("JUPYTERHUB_API_TOKEN", "") or os.environ.get("JPY_API_TOKEN", "")
    ).strip()
    if not token:
        raise NotAllowedError(
            "DDAS_REGISTRY names the DDAS JupyterHub service but JUPYTERHUB_API_TOKEN is not set: "
            "run this inside your JupyterHub server, or create a token on the Hub's token page "
            "and export JUPYTERHUB_API_TOKEN"
        )
    return token


class ServiceClient:
    """A session with the service: ``client.get("datasets", q="era5")``, JSON in, JSON out."""

    def __init__(self, target: str | None = None, token: str | None = None) -> None:
        found = config.registry_service(target)
        if found is None:
            raise ServiceError(
                f"{target or os.environ.get('DDAS_REGISTRY', '')!r} does not name a DDAS service "
                "(expected hub://NAME or the service's http(s):// URL)"
            )
        self.target = found
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {token or hub_token()}"
        self.session.headers["User-Agent"] = "ddas-client"
        self.api = self._resolve().rstrip("/") + "/ddas/api/"

    def __repr__(self) -> str:
        return f"ServiceClient({self.api!r})"

    def _resolve(self) -> str:
        """The service's base URL (its prefix included)."""
        override = os.environ.get("DDAS_SERVICE_URL", "").strip()
        if override:
            return override
        if not self.target.lower().startswith("hub://"):
            return self.target
        name = self.target[len("hub://") :].strip("/") or "ddas"
        hub_api = os.environ.get("JUPYTERHUB_API_URL", "").strip().rstrip("/")
        if not hub_api:
            raise ServiceError(
                f"cannot resolve {self.target}: JUPYTERHUB_API_URL is not set (outside JupyterHub, "
                "set DDAS_SERVICE_URL or DDAS_REGISTRY to the service's URL)"
            )
        try:
            reply = self.session.get(f"{hub_api}/services/{quote(name)}", timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise ServiceError(
                f"cannot reach the Hub at {hub_api} ({type(exc).__name__})"
            ) from None
        if reply.status_code >= 500:
            self._json(reply, f"the Hub's record of service {name!r}")
        model = reply.json() if reply.status_code == 200 else {}
        if reply.status_code >= 400 or not (model.get("url") and model.get("prefix")):
            raise NotAllowedError(
                f"you are not allowed to use the DDAS service {name!r} (the Hub does not show it "
                f"to you): ask your JupyterHub admin for the scopes access:services!service={name} "
                f"and read:services!service={name}, e.g. membership of the DDAS users' group"
            )
        return str(model["url"]).rstrip("/") + "/" + str(model["prefix"]).strip("/")

    # -- requests ---------------------------------------------------------------------------------

    def get(self, path: str, **params: Any) -> Any:
        return self._call("GET", path, params=params)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self._call("POST", path, json=body)

    def delete(self, path: str) -> Any:
        return self._call("DELETE", path)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.session.request(method, self.api + path, timeout=TIMEOUT, **kwargs)
        except requests.RequestException as exc:
            raise ServiceError(
                f"cannot reach the DDAS service at {self.api} ({type(exc).__name__}); "
                "retry, or ask your JupyterHub admin whether the service is running"
            ) from None
        return self._json(response, path)

    @staticmethod
    def _json(response: requests.Response, what: str) -> Any:
        """The reply's JSON, or the service's own message as a typed error."""
        if response.status_code < 400:
            return response.json() if response.content else None
        try:
            message = str(response.json().get("message") or response.reason)
        except ValueError:
            message = response.reason or f"HTTP {response.status_code}"
        if response.headers.get(ERROR_TYPE_HEADER) == "BlockedAddressError":
            raise BlockedAddressError(message)
        if response.status_code in (401, 403):
            raise NotAllowedError(message)
        if response.status_code == 404 and what.startswith("fetches/"):
            raise LookupError(message)  # the job lives on another replica: the caller restarts it
        raise ServiceError(
            f"the DDAS service answered {response.status_code} for {what}: {message}"
        )


def client() -> ServiceClient:
    """This thread's client for ``DDAS_REGISTRY`` (re-created when the setting changes)."""
    key = (os.environ.get("DDAS_REGISTRY", ""), os.environ.get("JUPYTERHUB_API_TOKEN", ""))
    cached = getattr(_LOCAL, "client", None)
    if cached is None or cached[0] != key:
        _LOCAL.client = (key, ServiceClient())
    return _LOCAL.client[1]
