"""HTTP plumbing shared by the marketplace clients.

Every client built on :class:`HttpClient` guarantees that:

* each request goes through the client's one :class:`requests.Session` and
  carries a timeout;
* each HTTP exchange is reported exactly once to ``on_call`` as a
  :class:`~.base.CallRecord`, whatever its outcome, and a failing observer
  never breaks the client;
* transport failures surface as :class:`~.errors.TransientError`, never as
  ``requests`` exceptions;
* no secret (client secret, refresh token, access token) reaches a log line,
  an error message or a call record; request bodies and headers are never
  logged;
* an access token rejected by an API call is replaced and the call retried
  exactly once before :class:`~.errors.AuthError` is raised;
* a request that carries credentials (the token exchange, every authorized
  call) never follows a redirect: a 3xx answer is an
  :class:`~.errors.AuthError` with code ``redirect``.
"""

import dataclasses
import datetime
import email.utils
import hashlib
import ipaddress
import json
import logging
import math
import re
import threading
import time
import urllib.parse

import requests
from urllib3.util import parse_url

from . import base
from .errors import (
    AuthError,
    MarketplaceError,
    PermanentError,
    RateLimitedError,
    TransientError,
)

_logger = logging.getLogger(__name__)

USER_AGENT = "stock_ecommerce_writeback/19.0.1.0.0 (Language=Python)"
DEFAULT_TIMEOUT = (5, 30)  # (connect, read) seconds
DEFAULT_MAX_WAIT = 2.0  # seconds the pacer may sleep before giving up
TOKEN_EXPIRY_MARGIN = datetime.timedelta(seconds=60)

# RFC 6749 §5.2 error codes that mean "these credentials will not work again
# until the seller authorizes the app anew".
_REAUTHORIZE_ERRORS = frozenset(
    {"invalid_grant", "invalid_client", "unauthorized_client", "access_denied"}
)
# RFC 6749 §4.1.2.1 codes for a token server that is temporarily down.
_TOKEN_SERVER_ERRORS = frozenset({"server_error", "temporarily_unavailable"})


def utcnow():
    """The current time as a naive UTC datetime (how Odoo stores datetimes)."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def is_loopback_host(host):
    """True for ``localhost`` and any loopback address (127.0.0.0/8, ::1)."""
    host = (host or "").rstrip(".").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_endpoint_url(url, allow_http_loopback=True):
    """Return ``url`` unchanged if credentials may be sent to it.

    Allowed: ``https`` to any host, or plain ``http`` to a loopback host (the
    local sandbox) when ``allow_http_loopback`` is true. Refused with
    :class:`ValueError`: userinfo (``user@``, ``user:pass@``), a backslash,
    any control, format or whitespace character, any non-ASCII character, a
    missing host, any other scheme, and any URL whose host is read
    differently by :mod:`urllib.parse` and by :mod:`requests`/urllib3 (the
    host this check sees must be the host the request goes to). The message
    names only the scheme and host, never the rest of the URL.
    """
    if not isinstance(url, str) or not url:
        raise ValueError("Endpoint URL is empty; expected https://<host>/…")
    where = _describe_endpoint(url)
    for char in url:
        if char == "\\" or char.isspace() or not char.isprintable():
            raise ValueError(
                f"Endpoint {where} refused: the URL contains a backslash, a "
                "space or a control character."
            )
        if not char.isascii():
            raise ValueError(
                f"Endpoint {where} refused: the URL contains a non-ASCII "
                "character (write an international host name in its xn-- form)."
            )
    try:
        parts = urllib.parse.urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:  # an unbalanced IPv6 bracket, a port that is no number
        raise ValueError(f"Endpoint {where} refused: the URL cannot be read.") from None
    if not host:
        raise ValueError("Endpoint URL has no host; expected https://<host>/…")
    try:
        target = _request_target(url)
    except ValueError:
        raise ValueError(f"Endpoint {where} refused: the URL cannot be read.") from None
    if parts.username is not None or parts.password is not None or target[2]:
        raise ValueError(
            f"Endpoint {where} refused: user names and passwords do not belong "
            "in the URL."
        )
    scheme = parts.scheme.lower()
    if target[:2] != (host, _effective_port(scheme, port)):
        # e.g. http://192.0.2.2:9\@127.0.0.1/: urllib.parse reads host
        # 127.0.0.1, requests connects to 192.0.2.2 (already refused above
        # for its backslash; this catches any other parser disagreement).
        raise ValueError(
            f"Endpoint {where} refused: the URL names its host ambiguously."
        )
    if scheme == "https":
        return url
    if scheme == "http" and is_loopback_host(host):
        if allow_http_loopback:
            return url
        raise ValueError(
            f"Endpoint {where} refused: this account must use https (plain "
            "http to localhost is only allowed for sandbox accounts)."
        )
    raise ValueError(
        f"Endpoint {where} refused: use https "
        "(plain http is only allowed to localhost/127.0.0.1/::1)."
    )


def _request_target(url):
    """``(host, port, has_userinfo)`` of the connection :mod:`requests`
    opens for ``url``: it prepares the URL with urllib3's ``parse_url`` and
    its adapter picks the pool from ``urlparse`` of the prepared URL
    (``requests.adapters``). Raise :class:`ValueError` if it cannot."""
    parsed = parse_url(url)  # its LocationParseError is a ValueError
    prepared = requests.models.PreparedRequest()
    try:
        prepared.prepare_url(url, None)
    except requests.exceptions.RequestException:
        raise ValueError("unreadable URL") from None
    pool = urllib.parse.urlsplit(prepared.url)
    host = pool.hostname
    if (parsed.host or "").strip("[]").lower() != (host or ""):
        raise ValueError("urllib3 and requests disagree on the host")
    scheme = pool.scheme.lower()
    return (
        host,
        _effective_port(scheme, pool.port),
        parsed.auth is not None or pool.username is not None,
    )


def _effective_port(scheme, port):
    return port if port is not None else {"http": 80, "https": 443}.get(scheme)


def _describe_endpoint(url):
    """``scheme://host`` of ``url`` for a message: nothing else of the URL
    (path, query, userinfo) and nothing that is not plainly a host name."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return "URL"
    scheme = parts.scheme.lower()
    if not re.fullmatch(r"[a-z][a-z0-9+.-]{0,15}", scheme):
        return "URL"
    if not re.fullmatch(r"[a-z0-9.:_-]{1,253}", host):
        return f"{scheme}://…"
    return f"{scheme}://[{host}]" if ":" in host else f"{scheme}://{host}"


def normalize_timeout(timeout):
    """A positive number of seconds, or a ``(connect, read)`` pair of them,
    as :mod:`requests` expects. Raise :class:`ValueError` for anything else
    (in particular ``None``: every call must have a timeout)."""
    if isinstance(timeout, (list, tuple)):
        if len(timeout) != 2:
            raise ValueError("timeout must be seconds or a (connect, read) pair")
        return tuple(_positive_seconds(value) for value in timeout)
    return _positive_seconds(timeout)


def _positive_seconds(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, not {value!r}")
    return float(value)


def parse_retry_after(value):
    """Seconds to wait from a ``Retry-After`` header value (delta-seconds or
    an HTTP-date, RFC 9110 §10.2.3); ``None`` when absent or unreadable."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:  # not delay-seconds: an HTTP-date, tried next
        _logger.debug("Retry-After %r is not a number of seconds", value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return max(0.0, (when - datetime.datetime.now(datetime.UTC)).total_seconds())


def json_body(response):
    """The decoded JSON body, or ``None`` when the body is empty or not JSON."""
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


@dataclasses.dataclass(frozen=True)
class Operation:
    """One marketplace operation: its journal key and its documented usage
    plan (``rate`` requests/second, ``burst``), when there is one."""

    name: str
    api: str
    rate: float | None = None
    burst: int | None = None


class TokenRejectedError(AuthError):
    """An API call rejected the access token (expired, revoked, malformed).

    Only raised inside a client: :meth:`HttpClient._with_token` answers it by
    fetching a fresh token and retrying once, and turns a second one into a
    plain :class:`~.errors.AuthError`.
    """


# --------------------------------------------------------------------------
# Access tokens
# --------------------------------------------------------------------------


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


# --------------------------------------------------------------------------
# Client-side pacing
# --------------------------------------------------------------------------


class Pacer:
    """Token buckets, one per (base URL, seller authorization, operation),
    mirroring the marketplace's own usage plans so that a client waits
    briefly instead of earning a 429 (Amazon "Usage Plans and Rate Limits":
    a bucket refilled at ``rate`` per second up to ``burst``; limits apply
    per application and selling-partner pair).

    * :meth:`acquire` either takes a token, sleeping at most ``max_wait``
      seconds for it, or raises :class:`~.errors.RateLimitedError` at once,
      without consuming anything, when the wait would be longer.
    * :meth:`delay` says how long :meth:`acquire` would sleep, consuming
      nothing: a caller serving many sellers sends for whichever is ready
      instead of sleeping on one seller's bucket.
    * :meth:`observe_rate` adopts the rate the marketplace announces for a
      key (Amazon's ``x-amzn-RateLimit-Limit``) in place of the documented
      default, faster or slower.
    * :meth:`throttled` drains a key's bucket after the marketplace answered
      429 anyway (another process on the same seller, a smaller dynamic
      usage plan), so the next request waits for a fresh token.

    The marketplace starts its bucket when our first request *arrives*, a
    network delay after we took our token, and every later request arrives
    with its own delay. Two margins keep the local bucket behind the remote
    one by more than any plausible difference of those delays, at almost no
    cost in throughput:

    * the local bucket holds ``rate * LAG`` tokens fewer than ``burst`` (at
      most ``burst - 1`` fewer): a steady lead of :data:`LAG` seconds that
      does not shrink over a long run;
    * it refills at :data:`SAFETY` times the rate: a lead that grows with
      every request, for a marketplace whose clock runs a little slow.

    Over 120 ``confirmShipment`` (rate 2, burst 10) this costs about 3 % of
    the documented rate (``scripts/benchmark_pacing.py`` measures it).
    """

    #: refill at this share of the rate
    SAFETY = 0.98
    #: seconds by which the local bucket stays behind the marketplace's
    LAG = 0.5

    def __init__(self, clock=time.monotonic, sleep=time.sleep):
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._buckets = {}  # key -> (tokens, time of last update)
        self._rates = {}  # key -> rate the marketplace announced

    # -- the plan of one key ----------------------------------------------

    def rate(self, key, rate):
        """The rate paced for ``key``: the announced one, else ``rate``."""
        with self._lock:
            return self._rates.get(key, rate)

    def _plan(self, key, rate, burst):
        """``(refill per second, capacity)`` of ``key``'s local bucket, or
        ``None`` when the operation has no usage plan."""
        rate = self._rates.get(key, rate)
        if not rate:
            return None
        burst = max(1.0, float(burst or 1))
        capacity = burst - min(burst - 1.0, rate * self.LAG)
        return rate * self.SAFETY, capacity

    def _tokens(self, key, plan, now):
        refill, capacity = plan
        tokens, updated = self._buckets.get(key, (capacity, now))
        return min(capacity, tokens + max(0.0, now - updated) * refill)

    def _wait(self, key, plan, now, count=1):
        """Seconds until ``count`` tokens (at most the capacity) are there."""
        if plan is None:
            return 0.0
        refill, capacity = plan
        need = min(float(count), capacity)
        tokens = self._tokens(key, plan, now)
        return 0.0 if tokens >= need else (need - tokens) / refill

    # -- public API ---------------------------------------------------------

    def delay(self, key, rate, burst, count=1):
        """Seconds until :meth:`acquire` could take ``count`` tokens in a
        row without sleeping (0.0: now). Consumes nothing, never sleeps."""
        with self._lock:
            return self._wait(key, self._plan(key, rate, burst), self._clock(), count)

    def acquire(self, key, rate, burst, max_wait):
        """Take one token of ``key``'s bucket (``rate`` requests per second,
        ``burst``; nothing to take when ``rate`` is None or 0), sleeping for
        it at most ``max_wait`` seconds."""
        with self._lock:
            now = self._clock()
            plan = self._plan(key, rate, burst)
            wait = self._wait(key, plan, now)
            if wait > max_wait:  # only with a plan: no plan, no wait
                raise RateLimitedError(
                    f"Holding back {key[-1]}: its rate limit "
                    f"({plan[0] / self.SAFETY:g}/s, burst {burst}) needs a "
                    f"{wait:.1f} s pause",
                    code="client_pacing",
                    retry_after=wait,
                )
            if plan is not None:
                # Reserve the token now (the bucket may go negative) so that
                # concurrent callers queue up behind this one.
                self._buckets[key] = (self._tokens(key, plan, now) - 1, now)
        if wait:
            self._sleep(wait)

    def observe_rate(self, key, rate, default_rate, burst):
        """The marketplace announced ``rate`` requests per second for
        ``key`` (``x-amzn-RateLimit-Limit``): pace at that rate from now on
        instead of ``default_rate``. Ignored unless a positive finite
        number. The tokens already in the bucket stay."""
        if not _is_number(rate) or not 0 < rate < float("inf"):
            return
        with self._lock:
            if self._rates.get(key, default_rate) == rate:
                return
            now = self._clock()
            old = self._plan(key, default_rate, burst)
            if old is not None and key in self._buckets:
                self._buckets[key] = (self._tokens(key, old, now), now)
            self._rates[key] = rate
            new = self._plan(key, default_rate, burst)
            if key in self._buckets:  # never more than the new capacity
                tokens, _updated = self._buckets[key]
                self._buckets[key] = (min(tokens, new[1]), now)

    def throttled(self, key, rate, burst):
        """The marketplace answered 429 (or its equivalent) for ``key``:
        empty the local bucket so that the next request waits for one token
        and the :data:`LAG` again (about a second at 2/s). A ``Retry-After``
        is not kept here: the error carries it and the engine defers that
        shipment by it (:mod:`.policy`)."""
        with self._lock:
            plan = self._plan(key, rate, burst)
            if plan is None:
                return
            now = self._clock()
            lead = self._rates.get(key, rate) * self.LAG
            self._buckets[key] = (min(self._tokens(key, plan, now), -lead), now)

    def export(self, prefix):
        """``{operation: [tokens, epoch seconds]}`` of the buckets whose key
        starts with ``prefix`` (the seller key) that this
        process used, as they were when last touched: to hand them to the
        next process pacing the same seller (:meth:`restore`)."""
        with self._lock:
            now, wall = self._clock(), time.time()
            return {
                key[-1]: [tokens, wall - max(0.0, now - updated)]
                for key, (tokens, updated) in self._buckets.items()
                if key[:-1] == prefix
            }

    def restore(self, prefix, state):
        """Take over buckets another process exported (:meth:`export`), each
        one unless this process touched its own bucket more recently. Bad
        values are ignored."""
        with self._lock:
            now, wall = self._clock(), time.time()
            for operation, value in (state or {}).items():
                try:
                    tokens, at = (float(v) for v in value)
                except (TypeError, ValueError):
                    continue
                if not (_finite(tokens) and _finite(at)):
                    continue
                key = (*prefix, operation)
                updated = now - max(0.0, wall - at)
                mine = self._buckets.get(key)
                if mine is None or mine[1] < updated:
                    self._buckets[key] = (tokens, updated)

    def reset(self):
        with self._lock:
            self._buckets.clear()
            self._rates.clear()


def _finite(value):
    return math.isfinite(value)


PACER = Pacer()


# --------------------------------------------------------------------------
# Base client
# --------------------------------------------------------------------------


class HttpClient:
    """Session, timeouts, journaling, OAuth refresh-token grant and pacing
    for one marketplace account. Subclasses provide :meth:`_token_request`
    and their operations."""

    #: Marketplace name used in messages.
    marketplace = "marketplace"
    #: OAuth scopes the token request asks for; a subclass may set them on
    #: the instance at any time (they are part of :attr:`_token_key`).
    scopes = ()

    def __init__(
        self,
        *,
        client_id,
        client_secret,
        refresh_token,
        api_base_url,
        token_url,
        timeout=DEFAULT_TIMEOUT,
        on_call=None,
        session=None,
        max_wait=DEFAULT_MAX_WAIT,
        allow_http_loopback=True,
    ):
        """``allow_http_loopback``: whether plain http to localhost is
        accepted for ``api_base_url`` and ``token_url`` (a sandbox account);
        production accounts pass False (see :func:`check_endpoint_url`)."""
        self.api_base_url = check_endpoint_url(
            api_base_url, allow_http_loopback
        ).rstrip("/")
        self.token_url = check_endpoint_url(token_url, allow_http_loopback)
        self.timeout = normalize_timeout(timeout)
        self.client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self.on_call = on_call
        self.max_wait = float(max_wait)
        self._owns_session = session is None
        self.session = session if session is not None else requests.Session()
        self._token_cache = TOKEN_CACHE
        self._pacer = PACER
        self._secrets = {s for s in (client_secret, refresh_token) if s}

    @property
    def _token_key(self):
        """This client's :class:`TokenCache` key, computed on use so that it
        covers the scopes a subclass sets after ``__init__``."""
        return TokenCache.key(
            self.token_url,
            self.client_id,
            self._client_secret,
            self._refresh_token,
            tuple(self.scopes or ()),
        )

    # -- lifecycle ---------------------------------------------------------

    def close(self):
        """Close the session if this client created it."""
        if self._owns_session:
            self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # -- one exchange --------------------------------------------------------

    def _call(
        self,
        api,
        operation,
        method,
        url,
        *,
        parse,
        order_ref="",
        describe=None,
        follow_redirects=True,
        observe=None,
        **kwargs,
    ):
        """Perform one HTTP exchange and report it as one CallRecord.

        ``parse(response)`` turns the answer into the result or raises a
        :class:`~.errors.MarketplaceError`; ``describe(result)`` may add
        fields to the success record. ``kwargs`` go to
        :meth:`requests.Session.request`; the timeout is always the client's.
        An exchange that carries credentials must pass
        ``follow_redirects=False``: a 3xx answer then raises
        :class:`~.errors.AuthError` (code ``redirect``) before ``parse`` sees
        it, and nothing is sent to the redirect target.
        ``observe(response)``, if given, sees every answer that arrived,
        whatever its status, before ``parse`` does (headers only: the body
        is for ``parse``).
        Raises only :class:`~.errors.MarketplaceError` (or a programming
        error, which is still journaled).
        """
        kwargs["headers"] = {"User-Agent": USER_AGENT, **kwargs.get("headers", {})}
        kwargs["allow_redirects"] = follow_redirects
        trace = _Trace(api, operation, order_ref)
        try:
            result = self._exchange(trace, method, url, parse, kwargs, observe)
        except MarketplaceError as err:
            self._scrub(err)
            self._report(
                trace,
                outcome=err.outcome,
                error_code="" if err.code is None else str(err.code),
                error_message=err.message,
            )
            _logger.info(
                "%s %s %s: %s (%s)",
                self.marketplace,
                operation,
                order_ref or "-",
                err.outcome,
                err,
            )
            raise
        except Exception as err:
            # A bug in a parser must still leave a trace in the journal.
            self._report(
                trace,
                outcome=MarketplaceError.outcome,
                error_message=f"Internal error: {type(err).__name__}",
            )
            raise
        self._report(
            trace,
            outcome=base.OUTCOME_SUCCESS,
            **(describe(result) if describe else {}),
        )
        return result

    def _exchange(self, trace, method, url, parse, kwargs, observe=None):
        """The parsed answer to one request; transport failures, including
        those while reading the body, become TransientError."""
        try:
            trace.response = self.session.request(
                method, url, timeout=self.timeout, **kwargs
            )
            if observe is not None:
                observe(trace.response)
            redirect = 300 <= trace.response.status_code < 400
            if redirect and not kwargs["allow_redirects"]:
                raise self._redirect_error(trace.operation, url, trace.response)
            return parse(trace.response)
        except requests.exceptions.RequestException as exc:
            raise self._transport_error(trace.operation, exc) from None
        finally:
            if trace.response is not None:
                trace.response.close()

    def _redirect_error(self, operation, url, response):
        """The error for a redirect answered to a request that carries
        credentials. requests would resend custom headers such as
        ``x-amz-access-token`` or ``X-EBAY-API-IAF-TOKEN`` (and a token POST's
        body) to wherever the redirect points, so it is never followed; the
        message names only the scheme and host of the target."""
        location = response.headers.get("Location") or ""
        target = (
            " to " + _describe_endpoint(urllib.parse.urljoin(url, location))
            if location
            else ""
        )
        return AuthError(
            f"{self.marketplace} answered {operation} with a redirect "
            f"(HTTP {response.status_code}){target}: requests that carry "
            "credentials never follow redirects; check the endpoint URL of "
            "the account.",
            code="redirect",
            http_status=response.status_code,
        )

    def _transport_error(self, operation, exc):
        if isinstance(exc, requests.exceptions.Timeout):
            return TransientError(
                f"{self.marketplace} did not answer {operation} in time "
                f"(timeout {self._timeout_text()})",
                code="timeout",
            )
        return TransientError(
            f"Could not reach {self.marketplace} for {operation} "
            f"({type(exc).__name__})",
            code="connection",
        )

    def _timeout_text(self):
        if isinstance(self.timeout, tuple):
            return f"{self.timeout[0]:g} s connect, {self.timeout[1]:g} s read"
        return f"{self.timeout:g} s"

    def _report(self, trace, **fields):
        """Hand one CallRecord to ``on_call``; observer failures are logged
        and swallowed."""
        fields["error_message"] = self._redact(fields.get("error_message", ""))
        response = trace.response
        record = base.CallRecord(
            api=trace.api,
            operation=trace.operation,
            started_at=trace.started_at,
            duration_ms=int((time.monotonic() - trace.start) * 1000),
            http_status=response.status_code if response is not None else None,
            order_ref=trace.order_ref or "",
            rate_limit=_rate_limit(response),
            **fields,
        )
        _logger.debug(
            "%s %s -> %s (%s, %d ms)",
            record.api,
            record.operation,
            record.http_status,
            record.outcome,
            record.duration_ms,
        )
        if self.on_call is None:
            return
        try:
            self.on_call(record)
        except Exception:
            _logger.exception(
                "on_call observer failed for %s %s", trace.api, trace.operation
            )

    # -- secrets -----------------------------------------------------------

    def _redact(self, text):
        """``text`` with every known secret replaced by ``***``."""
        text = text or ""
        for secret in tuple(self._secrets):  # another thread may add one
            if secret in text:
                text = text.replace(secret, "***")
        return text

    def _scrub(self, err):
        err.message = self._redact(err.message)
        err.args = (err.message,)

    # -- access tokens -----------------------------------------------------

    def _token_request(self):
        """Keyword arguments for the token POST (``data``, ``auth``...)."""
        raise NotImplementedError

    def _access_token(self, api):
        """A usable access token, from the cache or from one token exchange
        (journaled under ``api`` as operation ``token``)."""
        key = self._token_key
        with self._token_cache.fetch_lock(key):
            token = self._token_cache.get(key)
            if token is None:
                token = self._call(
                    api,
                    "token",
                    "POST",
                    self.token_url,
                    parse=self._parse_token_response,
                    describe=_describe_token,
                    follow_redirects=False,
                    **self._token_request(),
                )
                self._token_cache.put(key, token)
        self._secrets.add(token.value)
        return token.value

    def _renew_access_token(self, api):
        """Drop the cached token and fetch a new one (a health probe)."""
        self._token_cache.invalidate(self._token_key)
        self._access_token(api)

    def _with_token(self, api, exchange):
        """Return ``exchange(access_token)``.

        If the marketplace rejects the token (:class:`TokenRejectedError`),
        the token is dropped, a fresh one fetched and the exchange run once
        more; a second rejection raises :class:`~.errors.AuthError`.
        """
        token = self._access_token(api)
        try:
            return exchange(token)
        except TokenRejectedError:
            self._token_cache.invalidate(self._token_key, token)
        token = self._access_token(api)
        try:
            return exchange(token)
        except TokenRejectedError as err:
            raise AuthError(
                f"{err.message} — even with a freshly issued access token. "
                f"Check the app's permissions and re-authorize the "
                f"{self.marketplace} account.",
                code=err.code,
                http_status=err.http_status,
            ) from None

    def _parse_token_response(self, response):
        """The :class:`AccessToken` of an RFC 6749 token answer, or the
        error it stands for."""
        status = response.status_code
        body = json_body(response)
        if status == 200:
            return self._access_token_from(body)
        error, description = "", ""
        if isinstance(body, dict):
            error = str(body.get("error") or "")
            description = str(body.get("error_description") or "")
        detail = f"{error}: {description}" if description else error
        detail = detail or f"HTTP {status}"
        if status == 429:
            raise RateLimitedError(
                f"{self.marketplace} token service is throttling requests",
                code=error or None,
                http_status=status,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        if status >= 500 or error in _TOKEN_SERVER_ERRORS:
            raise TransientError(
                f"{self.marketplace} token service unavailable ({detail})",
                code=error or None,
                http_status=status,
            )
        if error == "invalid_scope":
            raise self._invalid_scope_error(status)
        if error in _REAUTHORIZE_ERRORS or status == 401:
            raise AuthError(
                f"{self.marketplace} refused the stored authorization ({detail}). "
                f"Re-authorize the {self.marketplace} account.",
                code=error or None,
                http_status=status,
            )
        # invalid_request...: a configuration problem that a retry cannot
        # fix and that needs the same attention as an auth one.
        raise AuthError(
            f"{self.marketplace} token request refused ({detail}). Check the "
            "app credentials and scopes, then re-authorize the account.",
            code=error or None,
            http_status=status,
        )

    def _invalid_scope_error(self, status):
        """RFC 6749 §5.2 ``invalid_scope``: the refresh grant may only ask
        for scopes the seller consented to (eBay: "the same authorization
        properties as the original" token), so no retry and no new client
        secret helps; the consent or the chosen API must change."""
        asked = f" ({', '.join(self.scopes)})" if self.scopes else ""
        return AuthError(
            f"{self.marketplace} refused the scopes asked for{asked}: the "
            "seller's consent does not include them. Re-authorize the "
            f"{self.marketplace} account granting them, or choose the "
            "write-back API that the consent covers.",
            code="invalid_scope",
            http_status=status,
        )

    def _access_token_from(self, body):
        body = body if isinstance(body, dict) else {}
        value = body.get("access_token")
        expires_in = body.get("expires_in")
        if not isinstance(value, str) or not value or not _is_number(expires_in):
            raise TransientError(
                f"{self.marketplace} token service sent an unreadable answer",
                code="malformed",
                http_status=200,
            )
        now = utcnow()
        refresh_expires_in = body.get("refresh_token_expires_in")
        return AccessToken(
            value=value,
            expires_at=now + datetime.timedelta(seconds=float(expires_in)),
            refresh_token_expires_at=(
                now + datetime.timedelta(seconds=float(refresh_expires_in))
                if _is_number(refresh_expires_in)
                else None
            ),
        )

    # -- pacing ------------------------------------------------------------

    def _authorized_call(
        self, operation, method, url, *, headers_for, parse, order_ref="", **kwargs
    ):
        """One exchange carrying the access token: paced, journaled, and
        retried once with a fresh token if the marketplace rejects it (see
        :meth:`_with_token`). ``headers_for(access_token)`` gives the
        request headers; ``parse(response)`` checks and reads the answer."""

        def exchange(access_token):
            self._pace(operation)
            try:
                return self._call(
                    operation.api,
                    operation.name,
                    method,
                    url,
                    parse=parse,
                    order_ref=order_ref,
                    headers=headers_for(access_token),
                    follow_redirects=False,
                    observe=lambda response: self._observe_rate(operation, response),
                    **kwargs,
                )
            except RateLimitedError:
                # The marketplace throttled us despite the pacer: back off.
                self._pacer.throttled(
                    self._pace_key(operation), operation.rate, operation.burst
                )
                raise

        return self._with_token(operation.api, exchange)

    @property
    def seller_key(self):
        """The seller authorization this client calls as, the way the
        marketplace meters it (Amazon usage plans, eBay call limits): the API
        endpoint and every credential that shapes a token, as one sha256 hex
        digest. Clients (and accounts) that share it are one seller: they
        share the pacer's buckets and, in queue mode, a channel and a lock."""
        material = json.dumps([self.api_base_url, self._token_key])
        return hashlib.sha256(material.encode()).hexdigest()

    def _pace_key(self, operation):
        """The operation's bucket of this seller (see :attr:`seller_key`)."""
        return (self.seller_key, operation.name)

    def _pace(self, operation):
        """Wait for the operation's client-side token bucket, if it has one."""
        self._pacer.acquire(
            self._pace_key(operation),
            operation.rate,
            operation.burst,
            self.max_wait,
        )

    def _observe_rate(self, operation, response):
        """Pace ``operation`` at the rate the answer announces, if any."""
        rate = _rate_limit(response)
        if rate is not None:
            self._pacer.observe_rate(
                self._pace_key(operation), rate, operation.rate, operation.burst
            )

    def pacing_state(self):
        """This seller's rate-limit buckets as this process left them
        (``{operation: [tokens, epoch seconds]}``), for
        :meth:`restore_pacing_state` in another process."""
        return self._pacer.export((self.seller_key,))

    def restore_pacing_state(self, state):
        """Pace from the buckets another process left (see
        :meth:`pacing_state`)."""
        self._pacer.restore((self.seller_key,), state)

    def _pacing_delay(self, operation, count=1):
        """Seconds before ``count`` requests of ``operation`` could start
        without a pacing sleep (0.0: now); consumes nothing."""
        return self._pacer.delay(
            self._pace_key(operation), operation.rate, operation.burst, count
        )


class _Trace:
    """What the journal needs to know about one exchange in progress."""

    def __init__(self, api, operation, order_ref):
        self.api = api
        self.operation = operation
        self.order_ref = order_ref
        self.started_at = utcnow()
        self.start = time.monotonic()
        self.response = None


def _describe_token(token):
    return {
        "access_token_expires_at": token.expires_at,
        "refresh_token_expires_at": token.refresh_token_expires_at,
    }


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _rate_limit(response):
    """``x-amzn-RateLimit-Limit`` (requests per second, e.g. "2.0") as a
    positive finite float, when present and readable; else ``None``.

    Amazon documents the header only; eBay's Sell Fulfillment contract
    declares no rate header on any answer and the Trading API none either
    (eBay meters calls per day: Analytics ``getRateLimits``)."""
    if response is None:
        return None
    value = response.headers.get("x-amzn-RateLimit-Limit")
    try:
        rate = float(value) if value else None
    except ValueError:
        return None
    return rate if rate is not None and 0 < rate < float("inf") else None


def error_for_unexpected_status(marketplace, operation, response):
    """A generic error for an HTTP status an operation does not document:
    5xx transient, 429 rate-limited, anything else permanent."""
    status = response.status_code
    if status == 429:
        return RateLimitedError(
            f"{marketplace} is throttling {operation}",
            http_status=status,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
    if status >= 500:
        return TransientError(
            f"{marketplace} failed on {operation} (HTTP {status})", http_status=status
        )
    return PermanentError(
        f"{marketplace} refused {operation} (HTTP {status})", http_status=status
    )
