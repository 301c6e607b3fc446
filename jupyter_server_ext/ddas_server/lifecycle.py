"""``POST /ddas/api/store/{gc,verify,reclaim}``: the store's lifecycle for admins, over REST.

Thin adapters over :mod:`ddas.scanning.lifecycle` and :mod:`ddas.scanning.reclaim`: the body says
``{"apply": false}`` (the default: a dry run whose report says what *would* be done), and for
``verify`` ``"sample": N``, for ``reclaim`` ``"mode"`` and ``"force_owner"``. They run on the scan
thread (long jobs must not hold a registry query thread) and answer with the report.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ddas.errors import DDASError
from ddas_server import validation as v
from ddas_server.handlers import DDASHandler, client_errors
from ddas_server.validation import BadRequest

_OPTIONS: dict[str, dict[str, type]] = {
    "gc": {"apply": bool},
    "verify": {"apply": bool, "sample": int},
    "reclaim": {"apply": bool, "mode": str, "force_owner": bool},
}
MAX_SAMPLE = 10_000_000


def store_options(action: str, body: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments for ``action`` from a request body, checked."""
    allowed = _OPTIONS[action]
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise BadRequest(f"{action} takes {', '.join(sorted(allowed))}; not {', '.join(unknown)}")
    for key, kind in allowed.items():
        if key in body and (type(body[key]) is not kind):
            raise BadRequest(f"{key} must be a {kind.__name__}")
    if "sample" in body and not 1 <= body["sample"] <= MAX_SAMPLE:
        raise BadRequest(f"sample must be between 1 and {MAX_SAMPLE}")
    if "mode" in body and body["mode"] not in ("auto", "reflink", "hardlink"):
        raise BadRequest("mode must be auto, reflink or hardlink")
    return dict(body)


def run_action(action: str, registry: Any, store: str, options: dict[str, Any]) -> dict[str, Any]:
    """Run one lifecycle action (blocking: call it off the event loop)."""
    from ddas.scanning import lifecycle, reclaim

    if action == "gc":
        return lifecycle.gc(registry, store, **options).to_dict()
    if action == "verify":
        return lifecycle.verify(registry, store, **options).to_dict()
    return reclaim.reclaim(registry, **options).to_dict()


class StoreActionHandler(DDASHandler):
    route = "store"

    @web.authenticated
    @authorized
    @client_errors
    async def post(self, action: str) -> None:
        if action not in _OPTIONS:
            raise BadRequest("no such store action: use gc, verify or reclaim", status=404)
        self.require_admin(f"run {action}")
        options = store_options(action, v.json_object(self.request.body or b"{}"))
        registry = await self.ddas.run(self.ddas.get_registry)
        try:
            report = await self.ddas.run_long(
                run_action, action, registry, self.ddas.store, options
            )
        except DDASError as exc:
            raise BadRequest(str(exc), status=403) from None
        self.reply(report)


ROUTES = [(r"/ddas/api/store/([^/]+)", StoreActionHandler)]
