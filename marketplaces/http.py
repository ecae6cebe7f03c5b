"""The HTTP client every marketplace client is built on. Where a request may
go is checked by :mod:`.urls`, access tokens are cached by :mod:`.tokens`,
and requests are paced by :mod:`.pacer`.

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
import json
import logging
import time
import urllib.parse

import requests

from . import base
from .errors import (
    AuthError,
    MarketplaceError,
    PermanentError,
    RateLimitedError,
    TransientError,
)
from .pacer import DEFAULT_MAX_WAIT, PACER
from .tokens import TOKEN_CACHE, AccessToken, TokenCache, utcnow
from .urls import check_endpoint_url, describe_endpoint

_logger = logging.getLogger(__name__)

USER_AGENT = "stock_ecommerce_writeback/19.0.1.0.0 (Language=Python)"
DEFAULT_TIMEOUT = (5, 30)  # (connect, read) seconds

# RFC 6749 §5.2 error codes that mean "these credentials will not work again
# until the seller authorizes the app anew".
_REAUTHORIZE_ERRORS = frozenset(
    {"invalid_grant", "invalid_client", "unauthorized_client", "access_denied"}
)
# RFC 6749 §4.1.2.1 codes for a token server that is temporarily down.
_TOKEN_SERVER_ERRORS = frozenset({"server_error", "temporarily_unavailable"})


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


def json_object(response, marketplace):
    """The JSON object of a 2xx answer; anything else is a malformed answer,
    worth another try (a :class:`TransientError` naming ``marketplace``)."""
    body = json_body(response)
    if not isinstance(body, dict):
        raise TransientError(
            f"{marketplace} sent an unreadable answer (expected JSON)",
            code="malformed",
            http_status=response.status_code,
        )
    return body


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
# Client-side pacing


# --------------------------------------------------------------------------
# Base client
# --------------------------------------------------------------------------


class HttpClient:
    """Session, timeouts, journaling, OAuth refresh-token grant and pacing
    for one marketplace account. Subclasses provide :meth:`_token_request`
    and their operations."""

    #: Marketplace name used in messages.
    marketplace = "marketplace"
    #: Most order refs one :meth:`read_orders` call covers with one batch
    #: request (1: the client has no batch read).
    read_batch_size = 1
    #: The operation :meth:`read_order` is paced by, if it has a usage plan
    #: (:meth:`reads_within` counts its bucket).
    read_operation = None
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
        self.allow_http_loopback = allow_http_loopback
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
        material = (
            self.token_url,
            self.client_id,
            self._client_secret,
            self._refresh_token,
            tuple(self.scopes or ()),
        )
        # one digest per set of credentials (a sha256 per call is most of
        # what a cached token costs); recomputed when any of them changes
        cached = getattr(self, "_token_key_cache", None)
        if cached is None or cached[0] != material:
            cached = (material, TokenCache.key(*material))
            self._token_key_cache = cached
        return cached[1]

    # -- lifecycle ---------------------------------------------------------

    def close(self):
        """Close the session if this client created it."""
        if self._owns_session:
            self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # -- batch read-back (conservative defaults) -----------------------------

    def read_orders(self, order_refs, since=None, backlog=0, coming=0):
        """The marketplace's view of several orders at once,
        ``{order_ref: OrderView}``. A client without a batch read settles
        none of them here: every ref is left to :meth:`read_order`."""
        return {}

    def read_delay(self):
        """Seconds before :meth:`read_order` could go without the client
        pausing for the seller's rate limit (0.0: now, or no usage plan).
        Consumes nothing: the engine reads another seller's orders, or holds
        this one's back, instead of sleeping."""
        if self.read_operation is None:
            return 0.0
        return self._pacing_delay(self.read_operation)

    def reads_within(self, seconds):
        """How many orders :meth:`read_order` could read within ``seconds``
        at the seller's rate for :attr:`read_operation` (None: no usage
        plan). Consumes nothing; never raises."""
        if self.read_operation is None:
            return None
        return self._pacing_capacity(self.read_operation, seconds)

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
            " to " + describe_endpoint(urllib.parse.urljoin(url, location))
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
        token_key = self._token_key
        cached = getattr(self, "_seller_key_cache", None)
        if cached is None or cached[0] != (self.api_base_url, token_key):
            material = json.dumps([self.api_base_url, token_key])
            cached = (
                (self.api_base_url, token_key),
                hashlib.sha256(material.encode()).hexdigest(),
            )
            self._seller_key_cache = cached
        return cached[1]

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

    def _pacing_capacity(self, operation, seconds):
        """How many requests of ``operation`` the pacer lets go within
        ``seconds`` (None: no usage plan)."""
        return self._pacer.capacity(
            self._pace_key(operation), operation.rate, operation.burst, seconds
        )

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
