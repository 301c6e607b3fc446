"""What counts as a secret in a URL, and how it is kept out of the registry, alerts and every log.

One set of rules, used by everything that shows or stores a URL: :func:`ddas.identity.normalize_url`
(the registry key, events, the CLI's ``--json``, alerts) and :class:`SecretFilter` (log records of
``ddas``, urllib3, fsspec and, through the server extension, tornado and jupyter-server).

A query parameter is secret when its name, compared case-insensitively,

- is one of the names signing schemes use without saying so (:data:`SECRET_NAMES`: Azure SAS
  ``sv``/``se``/``sig``…, CloudFront ``Policy``/``Expires``, Google's ``GoogleAccessId``, OAuth
  ``code``),
- starts with a signing family's prefix (:data:`SECRET_PREFIXES`: ``X-Amz-*``, ``X-Goog-*``,
  ``x-oss-*``),
- contains a *word* that names a credential (:data:`SECRET_WORDS`: token, key, secret, password,
  signature, credential, session, jwt, auth…). Words are what ``_``, ``-`` and ``.`` separate, and
  a word may end in the credential (``apikey``, ``AWSAccessKeyId``): so ``api-key``, ``apiKey``,
  ``private_token`` are secret while ``keyword``, ``author`` and ``monkeypox`` are not. Stripping
  a parameter that picks the dataset would make two datasets one registry key, which is worse than
  keeping a harmless one. No rule looks at letter case, so ``APIKEY`` is ``apiKey`` is ``apikey``,
- or matches an entry of ``DDAS_SECRET_PARAMS`` (comma separated names, ``*`` wildcards allowed).

Userinfo (``user:password@``) is always dropped.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Iterable
from fnmatch import fnmatchcase
from urllib.parse import quote, unquote

#: Whole names that are secret (or per-signature) although no credential word is in them.
SECRET_NAMES: frozenset[str] = frozenset(
    {
        "sig",
        "signature",
        "auth",
        "authorization",
        "code",
        "expires",
        "policy",
        "googleaccessid",
        "keypairid",
        # Azure SAS: the signed fields travel with ``sig``; each differs per grant, not per blob
        "se",
        "st",
        "sp",
        "sv",
        "sr",
        "spr",
        "skoid",
        "sktid",
        "skt",
        "ske",
        "sks",
        "skv",
    }
)
#: Parameter prefixes of signing schemes (AWS SigV4, Google Cloud Storage V4, Alibaba OSS).
SECRET_PREFIXES: tuple[str, ...] = ("x-amz-", "x-goog-", "x-oss-")
#: One word of a parameter name that makes it a credential (regular expressions, full match).
SECRET_WORDS: tuple[str, ...] = (
    r"\w*tokens?",  # token, access_token, xsrftoken, authToken
    r"\w*key(?:id)?",  # key, api_key, apikey, access_key, AWSAccessKeyId, Key-Pair-Id
    r"\w*secrets?\w*",  # secret, client_secret
    r"\w*passw(?:or)?d\w*|pwd|passphrase",
    r"\w*signatures?|sig",
    r"\w*credentials?",
    r"\w*session\w*|\w*sessid",  # session, sessionid, JSESSIONID, PHPSESSID
    r"\w*jwt",
    r"o?auth(?!or)\w*|\w*authorization",  # auth, oauth, auth_token, authkey; not author(s)
    r"[xc]srf\w*",
)
MASK = "[secret]"  # what a log line shows instead of a secret value (jupyter-server's spelling)

_WORD_RE = re.compile("|".join(f"(?:{w})" for w in SECRET_WORDS))
_SEPARATORS = re.compile(r"[^A-Za-z0-9]+")


def _admin_patterns() -> tuple[str, ...]:
    """``DDAS_SECRET_PARAMS``, read at call time so a test or a Hub's spawner can set it."""
    raw = os.environ.get("DDAS_SECRET_PARAMS", "")
    return tuple(p.strip().lower() for p in raw.split(",") if p.strip())


def words(name: str) -> list[str]:
    """The lower-cased words of a parameter name: ``X-Amz-Security-Token`` → x, amz, security,
    token."""
    return [w for w in _SEPARATORS.split(name.lower()) if w]


@functools.lru_cache(maxsize=4096)
def _builtin_secret(lowered: str) -> bool:
    if lowered in SECRET_NAMES or lowered.startswith(SECRET_PREFIXES):
        return True
    return any(_WORD_RE.fullmatch(w) for w in words(lowered))


def is_secret_param(name: str, extra: Iterable[str] | None = None) -> bool:
    """True if a query parameter of this name carries a credential or a signature.

    ``extra`` adds names (or ``*`` patterns) for one call, on top of ``DDAS_SECRET_PARAMS``.
    """
    lowered = unquote(name).strip().lower()
    if _builtin_secret(lowered):
        return True
    patterns = _admin_patterns() + tuple(p.lower() for p in (extra or ()))
    return any(fnmatchcase(lowered, p) for p in patterns)


# -- free text (log lines, exception messages) ----------------------------------------------------

# A run of URL characters that holds "://" or "?": an absolute URL or a request target with a query.
_URLISH = re.compile(r"""[^\s"'<>`]*(?:://|\?)[^\s"'<>`]*""")


def _strip_userinfo(text: str) -> str:
    """``https://user:pw@host/p`` → ``https://host/p``, also when the password holds a raw '/'."""
    scheme, sep, rest = text.partition("://")
    if not sep:
        return text
    before_query = re.split(r"[?#]", rest, maxsplit=1)[0]
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "@" in authority:
        return scheme + sep + rest[authority.rindex("@") + 1 :]
    if re.match(r"[^/@]*:[^/@]*[^0-9/@]", authority) and "@" in before_query:
        return scheme + sep + rest[before_query.rindex("@") + 1 :]  # "alice:pa/ss@host"
    return text


def _scrub_params(query: str, extra: Iterable[str] | None) -> str:
    """Mask secret values; scrub values that are themselves URLs (``?url=https%3A%2F%2F…``)."""
    out = []
    for pair in query.split("&"):
        key, eq, value = pair.partition("=")
        if eq and is_secret_param(key, extra):
            out.append(f"{key}={MASK}")
            continue
        decoded = unquote(unquote(value))  # a URL in a URL is encoded once, sometimes twice
        if "://" in decoded or "?" in decoded:
            scrubbed = scrub_text(decoded, extra)
            if scrubbed != decoded:
                value = quote(scrubbed, safe="/:[]")
        out.append(key + eq + value)
    return "&".join(out)


def scrub_url(text: str, extra: Iterable[str] | None = None) -> str:
    """A URL (absolute, or a request target such as ``/api?url=…``) with its secrets masked.

    Unlike :func:`ddas.identity.redact` it keeps the spelling (order, encoding, fragment), so a log
    line still shows what was asked, and it never fails: a log filter must not raise.
    """
    text = _strip_userinfo(text)
    head, qmark, tail = text.partition("?")
    if not qmark:
        head, hash_, fragment = text.partition("#")
        return head + hash_ + (_scrub_params(fragment, extra) if hash_ else "")
    query, hash_, fragment = tail.partition("#")  # OAuth's implicit flow puts tokens there
    fragment = _scrub_params(fragment, extra) if hash_ else ""
    return head + qmark + _scrub_params(query, extra) + hash_ + fragment


def scrub_text(text: str, extra: Iterable[str] | None = None) -> str:
    """Every URL-looking run in free text scrubbed by :func:`scrub_url`; other text untouched."""
    if "://" not in text and "?" not in text:
        return text  # the common log line: nothing to look at
    return _URLISH.sub(lambda m: scrub_url(m.group(0), extra), text)


# -- logging --------------------------------------------------------------------------------------


class SecretFilter(logging.Filter):
    """Rewrites a log record so that no URL in it carries a secret; never drops a record.

    The message is formatted once (``msg % args``) and scrubbed as a whole, because the secret is
    usually in an argument (tornado's request URI, urllib3's request line). A formatted traceback
    is scrubbed too.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is logging's problem to report, not ours
            return True
        scrubbed = scrub_text(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub_text(record.exc_text)
        return True


#: Loggers that print URLs DDAS requests: our own, urllib3's request lines (DEBUG), fsspec's http.
LIBRARY_LOGGERS = ("ddas", "urllib3.connectionpool", "fsspec", "fsspec.http")
_FILTER = SecretFilter()


def install_log_filter(targets: Iterable[logging.Logger | logging.Handler | str] = ()) -> None:
    """Put the (one, shared) :class:`SecretFilter` on loggers and handlers, once each.

    A logger's filters see only records created on that very logger, not those its children pass
    up, so the loggers that create records are named one by one; a handler's filters see every
    record it writes, whichever logger made it.
    """
    for target in (*LIBRARY_LOGGERS, *targets):
        item = logging.getLogger(target) if isinstance(target, str) else target
        if _FILTER not in item.filters:
            item.addFilter(_FILTER)
