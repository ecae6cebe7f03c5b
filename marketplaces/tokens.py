"""Access tokens: the process-wide cache every client shares, keyed by the
credentials that shape a token, with one fetch at a time per key. Plain
Python, no Odoo import."""

import dataclasses
import datetime
import hashlib
import json
import threading

TOKEN_EXPIRY_MARGIN = datetime.timedelta(seconds=60)


def utcnow():
    """The current time as a naive UTC datetime (how Odoo stores datetimes)."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


@dataclasses.dataclass(frozen=True)
class AccessToken:
    """An OAuth access token. ``repr`` never shows the token itself."""

    value: str = dataclasses.field(repr=False)
    expires_at: datetime.datetime  # naive UTC
    refresh_token_expires_at: datetime.datetime | None = None

    def usable(self):
        """True until :data:`TOKEN_EXPIRY_MARGIN` before expiry."""
        return utcnow() < self.expires_at - TOKEN_EXPIRY_MARGIN


class TokenCache:
    """Thread-safe process-wide store of access tokens.

    Keyed by one sha256 over every credential that shapes a token (see
    :meth:`key`), so two clients share a token only when they would have
    fetched the same one, and no raw secret is ever used as a dictionary
    key. :meth:`fetch_lock` lets one thread fetch a token while the others
    wait for it instead of fetching their own.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._tokens = {}
        self._fetch_locks = {}

    @staticmethod
    def key(token_url, client_id, client_secret, refresh_token, scopes=()):
        """The cache key for a token fetched with these credentials: a
        sha256 hex digest over all of them. A client with a wrong client
        secret, or one asking for other scopes, does not get another
        client's cached token: its own token request shows the problem."""
        material = json.dumps(
            [token_url, client_id, client_secret, refresh_token, sorted(scopes)]
        )
        return hashlib.sha256(material.encode()).hexdigest()

    def get(self, key):
        """The cached token for ``key`` if it is still usable, else ``None``."""
        with self._lock:
            token = self._tokens.get(key)
        return token if token is not None and token.usable() else None

    def put(self, key, token):
        with self._lock:
            self._tokens[key] = token

    def invalidate(self, key, value=None):
        """Forget the token for ``key``; if ``value`` is given, only when the
        cached token is that one (another thread may already have replaced
        it with a good one)."""
        with self._lock:
            token = self._tokens.get(key)
            if token is not None and (value is None or token.value == value):
                del self._tokens[key]

    def fetch_lock(self, key):
        with self._lock:
            return self._fetch_locks.setdefault(key, threading.Lock())

    def clear(self):
        with self._lock:
            self._tokens.clear()


TOKEN_CACHE = TokenCache()
