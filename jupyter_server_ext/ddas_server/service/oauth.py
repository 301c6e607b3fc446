"""The Hub's OAuth for several replicas of the service, with no session affinity.

A browser's login to the service is two requests that the Hub's proxy may send to two replicas:
``oauth_login`` (which redirects to the Hub with an OAuth *state*) and ``oauth_callback`` (which
trades the Hub's code for a token). JupyterHub's :class:`~jupyterhub.services.auth.HubOAuth` keeps
what the callback needs — where to go next and the PKCE code verifier — in the memory of the process
that began the login, so a callback reaching another replica loses the verifier and the login fails.

Here the pending login's state travels *sealed* in the OAuth state value itself (Fernet: encrypted
and authenticated with a key every replica derives from the shared cookie secret, with the state's
time-to-live), so any replica can finish any login and the verifier is never readable outside the
service, not even in the Hub's logs. The login cookie and the XSRF token are signed with the same
shared cookie secret (tornado's ``cookie_secret``), so every later request may go anywhere too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from jupyterhub.services.auth import HubOAuth
from traitlets import Bytes


def state_key(cookie_secret: bytes) -> bytes:
    """The Fernet key of the OAuth state, derived from (never equal to) the cookie secret."""
    digest = hmac.new(cookie_secret, b"ddas-service oauth state v1", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest)


class ReplicatedHubOAuth(HubOAuth):
    """``HubOAuth`` whose pending-login state any replica sharing the cookie secret can read."""

    cookie_secret = Bytes(help="The service's cookie secret (the state key derives from it).")

    @property
    def _sealer(self) -> Fernet:
        return Fernet(state_key(self.cookie_secret))

    def generate_state(self, next_url: str | None = None, **extra_state: Any) -> str:
        """The state value sent to the Hub and kept in the state cookie: the sealed state (a
        nonce makes every one unique, as HubOAuth's random ids are)."""
        state = {"nonce": secrets.token_urlsafe(12), "next_url": next_url, **extra_state}
        return self._sealer.encrypt(json.dumps(state).encode()).decode("ascii")

    def _decode_state(self, state_id: str = "", /) -> dict[str, Any]:
        """The state a replica sealed, or nothing (forged, altered, older than its max age)."""
        if not state_id:
            return {}
        try:
            opened = self._sealer.decrypt(state_id.encode(), ttl=int(self.oauth_state_max_age))
            state = json.loads(opened)
        except (InvalidToken, ValueError, UnicodeError):
            return {}
        return state if isinstance(state, dict) else {}

    def clear_oauth_state(self, state_id: str) -> None:
        """Nothing is kept in memory; the state cookie is cleared by the callback handler."""
