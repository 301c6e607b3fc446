"""Where the JupyterHub service may download from: the SSRF guard of its users' fetches.

The service downloads the URLs its users send, from inside the institution's network and with the
service account's reach: unguarded, ``ddas.fetch("http://10.0.0.5:6379/")`` would make it a scanner
of that network and ``http://169.254.169.254/…`` would hand a user the cloud credentials of the
service's machine. So the service refuses loopback, private, link-local, shared and metadata
addresses (:mod:`ddas.netpolicy`, the policy of the extension's lookup probe) unless an admin opened
the network (``c.DDASService.fetch_allow_networks``):

- before a job starts, here (a clear ``403`` naming the setting, nothing contacted);
- at every connection of the transfer itself, redirects and retries included, because the service
  process is confined (:func:`ddas.http_client.confine`) and connects only to the address it checked.

Schemes other than HTTP(S) reach their hosts through fsspec backends that resolve names themselves:
they are served only when the admin lists them (``c.DDASService.fetch_schemes``), and an
``endpoint_url`` a user passes in ``storage_options`` goes through the same address check.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ddas.netpolicy import AddressPolicy, BlockedAddressError

#: The traitlets named in refusals.
NETWORKS_SETTING = "c.DDASService.fetch_allow_networks"
SCHEMES_SETTING = "c.DDASService.fetch_schemes"
#: Schemes whose URL's host part is a host the backend connects to (not a bucket name).
HOST_SCHEMES = frozenset({"http", "https", "ftp", "sftp", "ssh", "smb", "webdav", "dav"})
#: Where fsspec backends take a custom endpoint from (s3fs, gcsfs, adlfs spellings).
ENDPOINT_KEYS = ("endpoint_url", "endpoint", "host", "account_host")


@dataclass(frozen=True)
class Egress:
    """The service's download policy: address rules and the schemes it serves."""

    policy: AddressPolicy
    schemes: frozenset[str]

    @classmethod
    def configure(cls, networks: list[str], schemes: set[str]) -> Egress:
        policy = AddressPolicy.from_strings(networks, NETWORKS_SETTING)
        return cls(policy, frozenset(s.lower() for s in schemes))

    def check(self, url: str, storage_options: Mapping[str, Any] | None = None) -> None:
        """Raise :class:`BlockedAddressError` if a fetch of ``url`` would go where it may not.

        Resolves names (blocking: call it off the event loop). The transfer checks again at each
        connection; this is what lets a refusal be a 403 before any job starts.
        """
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in self.schemes:
            raise BlockedAddressError(
                f"the DDAS service does not fetch {scheme}:// URLs; it fetches "
                f"{', '.join(sorted(self.schemes))} (an admin may add schemes with "
                f"{SCHEMES_SETTING})"
            )
        if scheme in HOST_SCHEMES and parts.hostname:
            self._check_host(parts.hostname, parts.port or (443 if scheme == "https" else 80))
        for endpoint in _endpoints(storage_options or {}):
            host = urlsplit(endpoint if "://" in endpoint else f"//{endpoint}")
            if host.hostname:
                self._check_host(host.hostname, host.port or 443)

    def _check_host(self, host: str, port: int) -> None:
        try:
            self.policy.resolve(host, port)
        except OSError:  # a name that does not resolve: the transfer will say so
            return


def _endpoints(options: Mapping[str, Any]) -> Iterator[str]:
    """Every custom endpoint in ``storage_options`` (top level or in ``client_kwargs``)."""
    for scope in (options, options.get("client_kwargs") or {}):
        if not isinstance(scope, Mapping):
            continue
        for key in ENDPOINT_KEYS:
            value = scope.get(key)
            if isinstance(value, str) and value.strip():
                yield value.strip()
