"""Guards every DDAS request passes before its handler runs: size limits, OPTIONS, same-site.

Kept apart from the handlers (which adapt REST to the registry) because they are HTTP policy:
an over-long request gets a JSON 414/431 instead of a closed connection, OPTIONS needs credentials
like every other method, and a GET that makes the server act on the user's behalf (a remote probe)
needs proof that the user's own front end sent it.
"""

from __future__ import annotations

from jupyter_server.base.handlers import APIHandler
from tornado import web

from ddas_server import validation as v
from ddas_server.validation import BadRequest


class RequestGuards(APIHandler):
    """Mixed into ``DDASHandler``; see the module docstring."""

    @classmethod
    def allowed_methods(cls) -> list[str]:
        unimplemented = web.RequestHandler._unimplemented_method
        return [
            m
            for m in cls.SUPPORTED_METHODS
            if getattr(cls, m.lower(), unimplemented) is not unimplemented
        ]

    async def prepare(self) -> None:
        """Refuse an over-long request with 414/431 before anything else reads it.

        The server reads up to ``c.DDASExtension.max_header_size`` (raised from tornado's 64 KiB so
        that a spec-valid 8,192-character URL in multibyte UTF-8 fits, percent-encoded in a query);
        what is longer than DDAS needs gets a JSON answer here instead of a closed connection.
        """
        start_line = len(self.request.method or "") + len(self.request.uri or "") + 10
        if start_line > v.MAX_REQUEST_LINE_BYTES:
            raise web.HTTPError(
                414,
                "the request URL is too long (%d bytes; the limit is %d)",
                start_line,
                v.MAX_REQUEST_LINE_BYTES,
            )
        fields = sum(len(k) + len(val) + 4 for k, val in self.request.headers.get_all())
        if fields > v.MAX_HEADER_FIELDS_BYTES:
            raise web.HTTPError(
                431,
                "the request headers are too large (%d bytes; the limit is %d)",
                fields,
                v.MAX_HEADER_FIELDS_BYTES,
            )
        await super().prepare()

    @web.authenticated
    def options(self, *args: str) -> None:
        """Answered only with credentials, like every other method (jupyter-server answers any
        OPTIONS, for CORS preflights; DDAS is same-origin: its sidebar never sends one)."""
        super().options(*args)
        self.set_header("Allow", ", ".join(self.allowed_methods()))
        self.set_status(204)
        self.finish()

    def require_same_site(self, action: str) -> None:
        """Refuse a cookie-authenticated request without the XSRF token (a page on another site
        navigating the user's browser); token-authenticated requests need none.

        jupyter-server checks XSRF on POST/PUT/DELETE only; a GET that makes the server act
        (contact a remote) needs the same proof that the user's own front end sent it.
        """
        if self.token_authenticated or self.settings.get("disable_check_xsrf", False):
            return
        try:  # tornado's own check: jupyter-server's lets a GET pass on a same-site Referer
            web.RequestHandler.check_xsrf_cookie(self)
        except web.HTTPError:
            raise BadRequest(
                f"to {action}, send the request from JupyterLab or with the _xsrf token "
                "(X-XSRFToken header) or an Authorization token",
                status=403,
            ) from None
