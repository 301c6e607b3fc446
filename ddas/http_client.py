"""HTTP as the user configured it: headers, auth, CA bundle, timeouts and retries.

``storage_options`` reach HTTP(S) downloads here, in the spellings users already know from requests
and from fsspec's HTTP filesystem (``headers``, ``auth``, ``verify``/``ssl``, ``timeout``,
``client_kwargs``), plus ``token`` for ``Authorization: Bearer``. ``~/.netrc`` keeps working because
requests reads it whenever no explicit ``auth`` is given.

Transient failures before the response headers (connection refused or reset, 429, 5xx) are retried
by urllib3's :class:`~urllib3.util.retry.Retry`, which honours ``Retry-After``; failures in the middle
of a body are retried by :mod:`ddas.transfer`, resuming from the partial file.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from ddas.config import DownloadSettings
from ddas.errors import CertificateError, OriginUnavailableError, RemoteError
from ddas.identity import redact
from ddas.netpolicy import AddressPolicy, guarded_adapter

log = logging.getLogger("ddas")
USER_AGENT = "ddas (dataset download deduplication)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Keys of fsspec's HTTPFileSystem that say nothing about the request: accepted and ignored.
_FSSPEC_ONLY = frozenset(
    {"block_size", "simple_links", "same_scheme", "cache_type", "cache_options", "encoded"}
)
_SESSIONS: dict[tuple[Any, ...], requests.Session] = {}
_LOCK = threading.Lock()
#: Where this process's downloads may connect (None: anywhere, as a user's own kernel may).
_CONFINED: AddressPolicy | None = None


def confine(policy: AddressPolicy | None) -> None:
    """Make every later download and probe of this process connect only where ``policy`` allows.

    For the JupyterHub service, which downloads the URLs its users send from inside the
    institution's network: without it, ``ddas.fetch("http://10.0.0.5:6379/")`` would make the
    service a scanner of that network, and ``http://169.254.169.254/`` would hand a user the
    cloud credentials of the service's machine. Process-wide on purpose, so that no code path of
    the service (a redirect, a retry, a probe) can reach around it. Environment proxies and
    ``~/.netrc`` are not used by a confined process (``trust_env``): the check would be checking the
    proxy, and the service account's own credentials must not go to a host a user names.
    """
    global _CONFINED
    with _LOCK:
        _CONFINED = policy
        for old in _SESSIONS.values():
            old.close()
        _SESSIONS.clear()


class BoundedRetry(Retry):
    """urllib3's Retry, with ``Retry-After`` capped so one answer cannot park a notebook for
    hours (the cap is the fetch's whole retry budget, ``retry_seconds``)."""

    max_retry_after: float = 300.0

    def new(self, **kw: Any) -> BoundedRetry:
        fresh = super().new(**kw)
        fresh.max_retry_after = self.max_retry_after
        return fresh

    def get_retry_after(self, response: Any) -> float | None:
        value = super().get_retry_after(response)
        return None if value is None else min(value, self.max_retry_after)


def make_retry(settings: DownloadSettings) -> BoundedRetry:
    """The retry policy of one fetch: bounded attempts, exponential backoff, ``Retry-After``."""
    retry = BoundedRetry(
        total=settings.retries,
        # A refused connection is a server that is down, and a read timeout already waited
        # read_timeout: a copy in the store should not wait minutes for either (stale-if-error).
        connect=min(settings.retries, 2),
        read=min(settings.retries, 1),
        status=settings.retries,
        other=0,
        redirect=False,  # requests follows redirects itself
        backoff_factor=settings.backoff,
        backoff_max=max(1.0, settings.retry_seconds / 4),
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"HEAD", "GET"}),
        respect_retry_after_header=True,
        raise_on_status=False,  # the last answer comes back and is explained by check_status
    )
    retry.max_retry_after = settings.retry_seconds
    return retry


@dataclass(frozen=True)
class HTTPOptions:
    """What the caller's ``storage_options`` say about HTTP (hashable: sessions are shared)."""

    headers: tuple[tuple[str, str], ...] = ()
    auth: tuple[str, str] | None = None
    verify: bool | str = True
    cert: str | tuple[str, str] | None = None
    timeout: tuple[float, float] = (10.0, 60.0)

    @classmethod
    def parse(
        cls, storage_options: Mapping[str, Any] | None, settings: DownloadSettings
    ) -> HTTPOptions:
        opts = dict(storage_options or {})
        nested = dict(opts.pop("client_kwargs", None) or {})  # fsspec/aiohttp spelling
        headers = {**dict(nested.pop("headers", None) or {}), **dict(opts.pop("headers", {}))}
        token = opts.pop("token", None) or opts.pop("bearer", None)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        auth = _auth(opts.pop("auth", None) or nested.pop("auth", None), opts)
        verify: bool | str = settings.ca_bundle or True
        for key in ("verify", "ca_bundle", "ssl"):
            if opts.get(key) is not None:
                verify = _verify(opts.pop(key))
        timeout = _timeout(opts.pop("timeout", None) or nested.pop("timeout", None), settings)
        cert = opts.pop("cert", None)
        unknown = sorted(set(opts) - _FSSPEC_ONLY)
        if unknown:
            log.warning("ddas: storage_options %s are not HTTP options; ignored", unknown)
        return cls(
            tuple(sorted((str(k), str(v)) for k, v in headers.items())),
            auth,
            verify,
            tuple(cert) if isinstance(cert, list) else cert,
            timeout,
        )


def _auth(value: Any, opts: dict[str, Any]) -> tuple[str, str] | None:
    """Basic auth from a ``(user, password)`` pair, an aiohttp ``BasicAuth`` or username/password."""
    if value is None and "username" in opts:
        return str(opts.pop("username")), str(opts.pop("password", ""))
    if value is None:
        return None
    if hasattr(value, "login"):  # aiohttp.BasicAuth
        return str(value.login), str(value.password)
    user, password = value
    return str(user), str(password)


def _verify(value: Any) -> bool | str:
    if isinstance(value, ssl.SSLContext):
        raise RemoteError("pass a CA bundle path as storage_options={'verify': '/path/ca.pem'}")
    return value if isinstance(value, bool | str) else bool(value)


def _timeout(value: Any, settings: DownloadSettings) -> tuple[float, float]:
    if value is None:
        return settings.connect_timeout, settings.read_timeout
    if hasattr(value, "sock_read"):  # aiohttp.ClientTimeout
        return float(value.connect or value.total or 10.0), float(value.sock_read or 60.0)
    if isinstance(value, int | float):
        return float(value), float(value)
    connect, read = value
    return float(connect), float(read)


def session(options: HTTPOptions, settings: DownloadSettings) -> requests.Session:
    """A connection-pooling session per distinct configuration (headers, auth, TLS, retries)."""
    key = (options.headers, options.auth, options.verify, options.cert, _retry_key(settings))
    with _LOCK:
        found = _SESSIONS.get(key)
        if found is None:
            found = requests.Session()
            found.headers.update({"User-Agent": USER_AGENT, **dict(options.headers)})
            if options.auth:
                found.auth = options.auth
            found.verify = options.verify
            found.cert = options.cert
            retry = make_retry(settings)
            if _CONFINED is None:
                adapter = HTTPAdapter(max_retries=retry)
            else:
                found.trust_env = False
                adapter = guarded_adapter(_CONFINED, max_retries=retry)
            found.mount("http://", adapter)
            found.mount("https://", adapter)
            _SESSIONS[key] = found
        return found


def _retry_key(settings: DownloadSettings) -> tuple[Any, ...]:
    return (settings.retries, settings.backoff, settings.retry_seconds)


def request(
    method: str,
    url: str,
    options: HTTPOptions,
    settings: DownloadSettings,
    headers: Mapping[str, str] | None = None,
    via: requests.Session | None = None,
) -> requests.Response:
    """One request (headers only; the body streams), with failures turned into DDAS errors.

    ``via``: send it with this session instead of the shared one for ``options`` (the server's
    lookup probe passes one that refuses internal addresses: :func:`ddas.netpolicy.guarded_session`).
    """
    try:
        return (via or session(options, settings)).request(
            method,
            url,
            headers={"Accept-Encoding": "identity", **dict(headers or {})},
            stream=True,
            allow_redirects=True,
            timeout=options.timeout,
            # Per request: requests lets REQUESTS_CA_BUNDLE override a *session's* verify.
            verify=options.verify,
        )
    except requests.exceptions.SSLError as exc:
        raise certificate_error(url, exc) from None
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise OriginUnavailableError(
            f"cannot reach {redact(url)}: {type(exc).__name__}{_why(exc)}"
        ) from None
    except requests.RequestException as exc:
        raise RemoteError(f"request to {redact(url)} failed: {type(exc).__name__}") from None


def _why(exc: BaseException) -> str:
    """A short reason from deep inside requests' exception chain (never the URL: it has secrets)."""
    text = str(exc)
    for marker in ("Connection refused", "timed out", "Name or service not known", "reset"):
        if marker in text:
            return f" ({marker})"
    return ""


def certificate_error(url: str, exc: BaseException) -> CertificateError:
    """Name the certificate problem and the two ways to trust an institution's CA."""
    reason = _ssl_reason(exc)
    host = redact(url).split("://", 1)[-1].split("/", 1)[0]
    return CertificateError(
        f"cannot verify the TLS certificate of {host}: {reason}. If your institution uses its "
        "own certificate authority, trust it for one fetch with storage_options={'verify': "
        "'/path/to/ca.pem'}, or for every fetch with DDAS_CA_BUNDLE=/path/to/ca.pem (requests' "
        "REQUESTS_CA_BUNDLE works too). verify=False turns checking off: only for testing."
    )


def _ssl_reason(exc: BaseException | None) -> str:
    seen: set[int] = set()
    stack = [exc]
    while stack:
        item = stack.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, ssl.SSLCertVerificationError):
            return item.verify_message or item.reason or "certificate verify failed"
        if isinstance(item, ssl.SSLError) and item.reason:
            return str(item.reason)
        stack += [item.__cause__, item.__context__, getattr(item, "reason", None)]
        stack += [a for a in getattr(item, "args", ()) if isinstance(a, BaseException)]
    return "certificate verify failed"


def check_status(url: str, resp: requests.Response) -> None:
    """Raise the DDAS error an HTTP error status means (after urllib3's retries ran out)."""
    code = resp.status_code
    if code < 400:
        return
    what = f"{redact(url)} answered HTTP {code} {resp.reason}"
    if code in RETRY_STATUSES:
        raise OriginUnavailableError(f"{what} (after retries)")
    if code in (401, 403):
        raise OriginUnavailableError(
            f"{what}: it needs credentials; pass storage_options={{'headers': "
            "{'Authorization': ...}} or {'auth': (user, password)}, or add the host to ~/.netrc"
        )
    raise RemoteError(what)
