"""Shared HTTP plumbing of the marketplace clients (marketplaces/http.py)."""

import contextlib
import datetime
import email.utils
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from marketplaces import base, http, tokens, urls
from marketplaces import pacer as pacer_module
from marketplaces.errors import AuthError, RateLimitedError, TransientError
from marketplaces.pacer import Pacer


@pytest.fixture(autouse=True)
def _empty_token_cache():
    tokens.TOKEN_CACHE.clear()
    yield
    tokens.TOKEN_CACHE.clear()


# -- endpoint URL check ------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://sellingpartnerapi-na.amazon.com",
        "https://api.ebay.com/ws/api.dll",
        "http://127.0.0.1:8069/x",
        "http://127.8.9.10/",
        "http://localhost:1234",
        "http://[::1]:8080/",
    ],
)
def test_endpoint_url_allowed(url):
    assert urls.check_endpoint_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://api.ebay.com",
        "http://10.0.0.1/",
        "http://localhost.example.com/",
        "http://128.0.0.1/",
        "ftp://127.0.0.1/",
        "https://",
        "",
        None,
        "api.ebay.com",
    ],
)
def test_endpoint_url_refused(url):
    with pytest.raises(ValueError):
        urls.check_endpoint_url(url)


def test_endpoint_url_message_hides_path_and_userinfo():
    with pytest.raises(ValueError) as info:
        urls.check_endpoint_url("http://user:s3cret@example.com/path?token=abc")
    assert "s3cret" not in str(info.value)
    assert "token=abc" not in str(info.value)


# urllib.parse reads host 127.0.0.1 (userinfo "192.0.2.2:9\"); requests and
# urllib3 treat the backslash as the start of the path and connect to
# 192.0.2.2 port 9. The old check let it through as "loopback http".
SPLIT_HOST_EXPLOIT = "http://192.0.2.2:9\\@127.0.0.1/auth/o2/token"


def test_exploit_url_whose_parsers_disagree_is_refused():
    parsed = http.urllib.parse.urlsplit(SPLIT_HOST_EXPLOIT)
    assert parsed.hostname == "127.0.0.1"  # what a naive check sees
    with pytest.raises(ValueError) as info:
        urls.check_endpoint_url(SPLIT_HOST_EXPLOIT)
    assert "192.0.2.2" not in str(info.value)
    assert "/auth" not in str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://user@api.ebay.com/",
        "https://user:pw-s3cret@api.ebay.com/",
        "https://:pw-s3cret@api.ebay.com/",
        "https://@api.ebay.com/",
        "http://user:pw-s3cret@127.0.0.1:8069/",
        "https://api.ebay.com\\@evil.example/",
        "https://api.ebay.com/ws\\api.dll",
    ],
)
def test_endpoint_url_with_userinfo_or_backslash_refused(url):
    with pytest.raises(ValueError) as info:
        urls.check_endpoint_url(url)
    assert "s3cret" not in str(info.value)
    assert "@" not in str(info.value)


@pytest.mark.parametrize(
    "char",
    # tab, CR, LF, other C0 controls, DEL, space, no-break space, line
    # separator, zero-width space, byte order mark
    ["\t", "\r", "\n", "\x00", "\x1b", "\x1f", "\x7f"]
    + [" ", "\xa0", "\u2028", "\u200b", "\ufeff"],
)
@pytest.mark.parametrize("where", ["host", "path", "query"])
def test_endpoint_url_with_control_or_space_refused(char, where):
    url = {
        "host": f"https://api.eb{char}ay.com/ws",
        "path": f"https://api.ebay.com/w{char}s",
        "query": f"https://api.ebay.com/ws?a={char}",
    }[where]
    with pytest.raises(ValueError) as info:
        urls.check_endpoint_url(url)
    assert "/ws" not in str(info.value)


def test_endpoint_url_with_non_ascii_refused():
    # Fullwidth letters normalise to ASCII in some parsers but not in others.
    with pytest.raises(ValueError):
        urls.check_endpoint_url("https://\uff41pi.ebay.com/")


def test_endpoint_url_whose_host_requests_reads_differently_refused():
    # urllib.parse sees host "evil%2ecom"; requests decodes it and connects
    # to evil.com. Whatever the check sees must be where the request goes.
    # (Depending on the urllib3 version the URL is found ambiguous or
    # unreadable: refused either way.)
    with pytest.raises(ValueError) as info:
        urls.check_endpoint_url("https://evil%2ecom/")
    assert "refused" in str(info.value)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8069/x", "http://localhost:1234", "http://[::1]:8080/"]
)
def test_loopback_http_refused_when_not_allowed(url):
    assert urls.check_endpoint_url(url, allow_http_loopback=True) == url
    with pytest.raises(ValueError) as info:
        urls.check_endpoint_url(url, allow_http_loopback=False)
    assert "https" in str(info.value)
    # https stays fine for production accounts
    assert urls.check_endpoint_url("https://api.ebay.com", allow_http_loopback=False)


def test_client_applies_allow_http_loopback_to_both_urls():
    common = {"client_id": "c", "client_secret": "s", "refresh_token": "r"}
    sandbox = _Client(
        api_base_url="http://127.0.0.1:1", token_url="http://127.0.0.1:1/t", **common
    )
    assert sandbox.api_base_url == "http://127.0.0.1:1"
    for api_base_url, token_url in (
        ("http://127.0.0.1:1", "https://example.com/t"),
        ("https://example.com", "http://127.0.0.1:1/t"),
    ):
        with pytest.raises(ValueError):
            _Client(
                api_base_url=api_base_url,
                token_url=token_url,
                allow_http_loopback=False,
                **common,
            )
    with pytest.raises(ValueError):
        _Client(
            api_base_url="https://example.com",
            token_url=SPLIT_HOST_EXPLOIT,
            **common,
        )


# -- timeouts ----------------------------------------------------------------


def test_timeout_scalar_and_pair():
    assert http.normalize_timeout(3) == 3.0
    assert http.normalize_timeout((5, 30)) == (5.0, 30.0)


@pytest.mark.parametrize("value", [None, 0, -1, (1, 2, 3), (1, None), "5", True])
def test_timeout_refused(value):
    with pytest.raises(ValueError):
        http.normalize_timeout(value)


# -- Retry-After ----------------------------------------------------------------


def test_retry_after_seconds_and_date():
    assert http.parse_retry_after("7") == 7.0
    assert http.parse_retry_after(None) is None
    assert http.parse_retry_after("soon") is None
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=120)
    seconds = http.parse_retry_after(email.utils.format_datetime(later, usegmt=True))
    assert 100 < seconds <= 120


# -- pacer ---------------------------------------------------------------------


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


# Amazon confirmShipment's documented plan: 2 requests/second, burst 10.
RATE, BURST = 2.0, 10
KEY = ("https://x", "seller-a", "confirmShipment")
STEP = 1 / (RATE * Pacer.SAFETY)  # seconds between tokens, locally
HELD_BACK = int(RATE * Pacer.LAG)  # burst tokens kept against delays


def test_pacer_allows_burst_less_its_lead_then_waits_then_refuses():
    clock = FakeClock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    for _ in range(BURST - HELD_BACK):
        pacer.acquire(KEY, rate=RATE, burst=BURST, max_wait=2.0)
    assert clock.slept == []
    pacer.acquire(KEY, rate=RATE, burst=BURST, max_wait=2.0)  # waits one token
    assert clock.slept == [pytest.approx(STEP)]
    with pytest.raises(RateLimitedError) as info:
        pacer.acquire(KEY, rate=RATE, burst=BURST, max_wait=0.1)
    assert info.value.retry_after == pytest.approx(STEP)
    assert info.value.outcome == "rate_limited"
    assert info.value.code == "client_pacing"
    # The refusal consumed nothing: after the wait the call goes through.
    clock.now += STEP
    pacer.acquire(KEY, rate=RATE, burst=BURST, max_wait=0.0)


def test_pacer_steady_state_is_the_documented_rate_times_safety():
    """After the burst, tokens come at SAFETY x the rate: the pacer's
    ceiling is that share of the documented rate, never above it."""
    clock = FakeClock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    starts = []
    for _ in range(120):
        pacer.acquire(KEY, rate=RATE, burst=BURST, max_wait=2.0)
        starts.append(clock.now)
    ratio = (120 - BURST) / (RATE * (starts[-1] - starts[0]))
    assert 0.95 <= ratio < 1.0


def test_pacer_buckets_are_per_operation():
    clock = FakeClock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    pacer.acquire(("u", "a"), rate=0.5, burst=1, max_wait=0)
    pacer.acquire(("u", "b"), rate=0.5, burst=1, max_wait=0)
    with pytest.raises(RateLimitedError) as info:
        pacer.acquire(("u", "a"), rate=0.5, burst=1, max_wait=0)
    assert info.value.retry_after == pytest.approx(2.0 / Pacer.SAFETY)


def test_pacer_without_usage_plan_never_waits():
    clock = FakeClock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    for _ in range(100):
        pacer.acquire(KEY, rate=None, burst=None, max_wait=0)
    assert pacer.delay(KEY, None, None) == 0.0
    assert clock.slept == []


# -- Pacer.delay: the non-blocking question ------------------------------------


def test_delay_is_zero_while_tokens_remain_and_consumes_nothing():
    clock = FakeClock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    for _ in range(50):  # asking is free
        assert pacer.delay(KEY, RATE, BURST) == 0.0
    for _ in range(BURST - HELD_BACK):
        pacer.acquire(KEY, rate=RATE, burst=BURST, max_wait=0)
    assert clock.slept == []


def test_delay_is_the_sleep_acquire_would_take():
    clock = FakeClock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    for _ in range(BURST - HELD_BACK):
        pacer.acquire(KEY, rate=RATE, burst=BURST, max_wait=0)
    assert pacer.delay(KEY, RATE, BURST) == pytest.approx(STEP)
    assert pacer.delay(KEY, RATE, BURST) == pytest.approx(STEP)  # unchanged
    clock.now += STEP / 4
    assert pacer.delay(KEY, RATE, BURST) == pytest.approx(STEP * 3 / 4)
    pacer.acquire(KEY, rate=RATE, burst=BURST, max_wait=2.0)
    assert clock.slept == [pytest.approx(STEP * 3 / 4)]
    # another key (another seller) is not affected
    assert pacer.delay(("https://x", "seller-b", "confirmShipment"), RATE, BURST) == 0


def test_delay_for_several_requests_waits_until_they_all_fit():
    clock = FakeClock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    for _ in range(BURST - HELD_BACK):
        pacer.acquire(KEY, rate=RATE, burst=BURST, max_wait=0)
    assert pacer.delay(KEY, RATE, BURST, count=3) == pytest.approx(3 * STEP)
    # more requests than the bucket holds: until it is full
    full = (BURST - HELD_BACK) * STEP
    assert pacer.delay(KEY, RATE, BURST, count=50) == pytest.approx(full)


# -- the marketplace's word: x-amzn-RateLimit-Limit and 429 --------------------


def _drain(pacer, rate=RATE):
    while pacer.delay(KEY, rate, BURST) == 0:
        pacer.acquire(KEY, rate=rate, burst=BURST, max_wait=0)


@pytest.mark.parametrize("announced", [1.0, 4.0, 0.5])
def test_announced_rate_replaces_the_documented_one(announced):
    clock = FakeClock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    _drain(pacer)
    pacer.observe_rate(KEY, announced, RATE, BURST)
    assert pacer.rate(KEY, RATE) == announced
    clock.now += 30  # a full bucket again
    _drain(pacer)
    pacer.acquire(KEY, rate=RATE, burst=BURST, max_wait=10)
    assert pacer.delay(KEY, RATE, BURST) == pytest.approx(
        1 / (announced * Pacer.SAFETY)
    )


@pytest.mark.parametrize("value", [0.0, -2.0, float("nan"), float("inf"), "2.0", None])
def test_unusable_announced_rate_is_ignored(value):
    pacer = Pacer(clock=FakeClock())
    pacer.observe_rate(KEY, value, RATE, BURST)
    assert pacer.rate(KEY, RATE) == RATE


def test_a_slower_announced_rate_keeps_no_more_tokens_than_it_allows():
    clock = FakeClock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    pacer.acquire(KEY, rate=RATE, burst=BURST, max_wait=0)  # 8 tokens left
    pacer.observe_rate(KEY, 0.5, RATE, BURST)
    taken = 0
    while pacer.delay(KEY, RATE, BURST) == 0:
        pacer.acquire(KEY, rate=RATE, burst=BURST, max_wait=0)
        taken += 1
    assert taken == BURST - 1 - 1  # as before: the lead at 0.5/s is < 1 token


def test_throttled_drains_the_bucket():
    clock = FakeClock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    pacer.acquire(KEY, rate=RATE, burst=BURST, max_wait=0)
    pacer.throttled(KEY, RATE, BURST)
    # one token plus the lead: 1 + RATE * LAG tokens at the local refill
    expected = (1 + RATE * Pacer.LAG) * STEP
    assert pacer.delay(KEY, RATE, BURST) == pytest.approx(expected)


def test_throttled_leaves_operations_without_plan_alone():
    """eBay documents no per-second plan: a 429 there is the engine's to
    defer (by its Retry-After), the pacer keeps no hold."""
    pacer = Pacer(clock=FakeClock())
    ebay = ("https://api.ebay.com", "seller", "CompleteSale")
    pacer.throttled(ebay, None, None)
    assert pacer.delay(ebay, None, None) == 0.0
    pacer.acquire(ebay, rate=None, burst=None, max_wait=0)


def test_reset_forgets_announced_rates_and_drained_buckets():
    pacer = Pacer(clock=FakeClock())
    pacer.observe_rate(KEY, 1.0, RATE, BURST)
    pacer.throttled(KEY, RATE, BURST)
    pacer.reset()
    assert pacer.rate(KEY, RATE) == RATE
    assert pacer.delay(KEY, RATE, BURST) == 0.0


# -- token cache -----------------------------------------------------------------


def _token(value, seconds):
    expires = tokens.utcnow() + datetime.timedelta(seconds=seconds)
    return tokens.AccessToken(value=value, expires_at=expires)


def test_token_cache_keeps_token_until_a_minute_before_expiry():
    cache = tokens.TokenCache()
    key = cache.key("https://t", "client", "client-secret", "refresh-secret")
    assert "refresh-secret" not in repr(key)
    assert "client-secret" not in repr(key)
    cache.put(key, _token("fresh", 3600))
    assert cache.get(key).value == "fresh"
    cache.put(key, _token("stale", 59))
    assert cache.get(key) is None


def test_token_cache_invalidate_only_the_rejected_token():
    cache = tokens.TokenCache()
    key = cache.key("https://t", "client", "s", "r")
    cache.put(key, _token("new", 3600))
    cache.invalidate(key, "old")  # another thread already replaced "old"
    assert cache.get(key).value == "new"
    cache.invalidate(key)
    assert cache.get(key) is None


def test_token_cache_key_covers_every_credential():
    base_args = {
        "token_url": "https://t",
        "client_id": "client",
        "client_secret": "secret",
        "refresh_token": "refresh",
        "scopes": ("scope/a", "scope/b"),
    }
    key = tokens.TokenCache.key(**base_args)
    for name, other in (
        ("token_url", "https://t2"),
        ("client_id", "client2"),
        ("client_secret", "wrong-secret"),
        ("refresh_token", "refresh2"),
        ("scopes", ("scope/a",)),
        ("scopes", ()),
    ):
        assert tokens.TokenCache.key(**dict(base_args, **{name: other})) != key, name
    # The same scopes in another order ask for the same token.
    swapped = dict(base_args, scopes=("scope/b", "scope/a"))
    assert tokens.TokenCache.key(**swapped) == key
    # No field can leak into its neighbour: ("ab", "c") is not ("a", "bc").
    assert tokens.TokenCache.key("https://t", "ab", "c", "r") != tokens.TokenCache.key(
        "https://t", "a", "bc", "r"
    )
    assert len(key) == 64 and "secret" not in key and "refresh" not in key


def test_access_token_repr_hides_value():
    assert "sekrit" not in repr(_token("sekrit", 10))


# -- journaling and secrets (no network needed) ---------------------------------


class _Client(http.HttpClient):
    marketplace = "Test"

    def _token_request(self):
        return {"data": {"refresh_token": self._refresh_token}}


def _client(**kw):
    return _Client(
        client_id="cid",
        client_secret="the-client-secret",
        refresh_token="the-refresh-token",
        api_base_url="https://example.invalid",
        token_url="https://example.invalid/token",
        **kw,
    )


def test_client_refuses_plain_http_to_remote_hosts():
    with pytest.raises(ValueError):
        _Client(
            client_id="c",
            client_secret="s",
            refresh_token="r",
            api_base_url="http://api.example.com",
            token_url="https://example.com/token",
        )


def test_transport_failure_is_transient_and_journaled_once(monkeypatch):
    records = []
    client = _client(on_call=records.append, timeout=0.5)

    def refuse(*args, **kwargs):
        raise http.requests.exceptions.ConnectionError(
            "boom the-client-secret the-refresh-token"
        )

    monkeypatch.setattr(client.session, "request", refuse)
    with pytest.raises(TransientError) as info:
        client._call("api", "op", "GET", "https://example.invalid/x", parse=bool)
    assert info.value.code == "connection"
    assert "secret" not in str(info.value)
    (record,) = records
    assert isinstance(record, base.CallRecord)
    assert (record.api, record.operation, record.outcome) == ("api", "op", "transient")
    assert record.http_status is None
    assert "the-refresh-token" not in repr(record)


def test_failing_observer_does_not_break_the_client(monkeypatch):
    def observer(record):
        raise RuntimeError("journal down")

    client = _client(on_call=observer)
    monkeypatch.setattr(
        client.session,
        "request",
        lambda *a, **k: _FakeResponse(200, b"ok"),
    )
    assert client._call("api", "op", "GET", "https://example.invalid", parse=bool)


@pytest.mark.parametrize(
    ("status", "body", "error_class", "code"),
    [
        (400, {"error": "invalid_grant"}, AuthError, "invalid_grant"),
        (401, {"error": "invalid_client"}, AuthError, "invalid_client"),
        (400, {"error": "invalid_scope"}, AuthError, "invalid_scope"),
        (503, {"error": "temporarily_unavailable"}, TransientError, None),
        (429, {}, RateLimitedError, None),
        (200, {"token_type": "bearer"}, TransientError, "malformed"),
    ],
)
def test_token_endpoint_failures(monkeypatch, status, body, error_class, code):
    records = []
    client = _client(on_call=records.append)
    body = dict(body, error_description="refresh token the-refresh-token refused")
    answer = _FakeResponse(status, json.dumps(body).encode(), {"Retry-After": "4"})
    monkeypatch.setattr(client.session, "request", lambda *a, **k: answer)

    with pytest.raises(error_class) as info:
        client._access_token("api")

    if code:
        assert info.value.code == code
    if status == 429:
        assert info.value.retry_after == 4.0
    (record,) = records
    assert (record.operation, record.outcome) == ("token", info.value.outcome)
    for text in (str(info.value), repr(record)):
        assert "the-refresh-token" not in text
        assert "the-client-secret" not in text


def test_token_exchange_result_is_cached(monkeypatch):
    records = []
    client = _client(on_call=records.append)
    answer = _FakeResponse(
        200,
        json.dumps(
            {
                "access_token": "the-access-token",
                "expires_in": 7200,
                "refresh_token_expires_in": 47304000,
            }
        ).encode(),
    )
    monkeypatch.setattr(client.session, "request", lambda *a, **k: answer)
    assert client._access_token("api") == "the-access-token"
    assert client._access_token("api") == "the-access-token"

    (record,) = records
    assert record.access_token_expires_at > tokens.utcnow()
    assert record.refresh_token_expires_at > record.access_token_expires_at
    assert "the-access-token" not in repr(record)
    assert client._redact("x the-access-token") == "x ***"


def test_rejected_token_is_dropped_but_not_the_one_another_worker_fetched(
    monkeypatch,
):
    """The refresh-once rule drops only the token the marketplace rejected:
    when another worker has already put a fresh one in the cache, the retry
    uses it instead of exchanging the refresh token once more."""
    client = _client()
    exchanged = []
    monkeypatch.setattr(
        client.session, "request", lambda *a, **k: exchanged.append(a) or None
    )
    key = client._token_key
    client._token_cache.put(key, _token("rejected", 3600))
    sent = []

    def exchange(access_token):
        sent.append(access_token)
        if access_token == "rejected":
            # Meanwhile another worker met the rejection and fetched a new one.
            client._token_cache.put(key, _token("fetched-elsewhere", 3600))
            raise http.TokenRejectedError("Test rejected the access token")
        return "done"

    assert client._with_token("api", exchange) == "done"
    assert sent == ["rejected", "fetched-elsewhere"]
    assert not exchanged, "no token exchange of its own"
    assert client._token_cache.get(key).value == "fetched-elsewhere"


def test_redaction_of_known_secrets():
    client = _client()
    text = "x the-client-secret y the-refresh-token z"
    assert client._redact(text) == "x *** y *** z"


class _FakeResponse:
    def __init__(self, status_code, content, headers=None):
        self.status_code = status_code
        self.content = content
        self.headers = headers or {}

    def json(self):
        return json.loads(self.content)

    def close(self):
        pass

    def __bool__(self):
        return True


# -- redirects (real HTTP to local servers) ------------------------------------


class _LocalServer:
    """An HTTP server on 127.0.0.1 (random port) that answers each request
    from ``routes[(method, path)]``: ``(status, headers, body)`` or a
    function of ``(method, path, headers, body)`` returning one (404 when
    not routed). Records every request as ``(method, path, headers, body)``."""

    def __init__(self, routes=None):
        self.routes = dict(routes or {})
        self.received = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.received.append(
                    (self.command, self.path, dict(self.headers), body)
                )
                path = self.path.split("?")[0]
                answer = server.routes.get((self.command, path), (404, {}, b""))
                if callable(answer):
                    answer = answer(self.command, path, dict(self.headers), body)
                status, headers, content = answer
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_PUT = _answer

            def log_message(self, *args):
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
        )
        self._thread.start()

    def stop(self):
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def local_servers():
    """``make(routes)`` starts a :class:`_LocalServer`; all are stopped after
    the test."""
    servers = []

    def make(routes=None):
        servers.append(_LocalServer(routes))
        return servers[-1]

    yield make
    for server in servers:
        server.stop()


TOKEN_ANSWER = (
    200,
    {"Content-Type": "application/json"},
    json.dumps({"access_token": "the-access-token", "expires_in": 3600}).encode(),
)
API_OPERATION = http.Operation("getThing", "api")


def _redirect(target, status=307):
    location = f"{target.url}/steal?token=abc&the-refresh-token"
    return (status, {"Location": location}, b"")


def _local_client(origin, records, **kw):
    return _Client(
        client_id="cid",
        client_secret="the-client-secret",
        refresh_token="the-refresh-token",
        api_base_url=origin.url,
        token_url=origin.url + "/token",
        on_call=records.append,
        timeout=5,
        **kw,
    )


def _get_thing(client):
    return client._authorized_call(
        API_OPERATION,
        "GET",
        client.api_base_url + "/thing",
        headers_for=lambda token: {"x-amz-access-token": token},
        parse=lambda response: response.status_code,
    )


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirected_token_request_is_refused_and_not_followed(local_servers, status):
    target = local_servers()
    origin = local_servers({("POST", "/token"): _redirect(target, status)})
    records = []
    with _local_client(origin, records) as client, pytest.raises(AuthError) as info:
        client._access_token("api")

    assert info.value.code == "redirect"
    assert info.value.http_status == status
    message = str(info.value)
    assert f"Test answered token with a redirect (HTTP {status}) to " in message
    port = target.url.rsplit(":", 1)[1]
    assert " to http://127.0.0.1: requests" in message  # scheme and host only
    assert port not in message
    for secret in ("steal", "token=abc", "the-refresh-token", "the-client-secret"):
        assert secret not in message
    assert "check the endpoint URL" in message
    assert len(origin.received) == 1
    assert target.received == []  # the credentials went nowhere else
    (record,) = records
    assert (record.operation, record.outcome, record.http_status) == (
        "token",
        "auth",
        status,
    )
    assert record.error_code == "redirect"


def test_redirected_api_call_is_refused_and_not_followed(local_servers):
    target = local_servers()
    origin = local_servers(
        {("POST", "/token"): TOKEN_ANSWER, ("GET", "/thing"): _redirect(target)}
    )
    records = []
    with _local_client(origin, records) as client, pytest.raises(AuthError) as info:
        _get_thing(client)

    assert info.value.code == "redirect"
    assert "Test answered getThing with a redirect (HTTP 307) to http://127.0.0.1" in (
        str(info.value)
    )
    assert "steal" not in str(info.value)
    # One token, one API call: a redirect is not a rejected token, so no retry.
    assert [(m, p) for m, p, _h, _b in origin.received] == [
        ("POST", "/token"),
        ("GET", "/thing"),
    ]
    assert target.received == []
    assert [(r.operation, r.outcome) for r in records] == [
        ("token", "success"),
        ("getThing", "auth"),
    ]


def test_redirect_without_location_is_refused_too(local_servers):
    origin = local_servers(
        {("POST", "/token"): TOKEN_ANSWER, ("GET", "/thing"): (300, {}, b"{}")}
    )
    with _local_client(origin, []) as client, pytest.raises(AuthError) as info:
        _get_thing(client)
    assert info.value.code == "redirect"
    assert "with a redirect (HTTP 300): requests that carry credentials" in str(
        info.value
    )


def test_call_without_credentials_still_follows_redirects(local_servers):
    # What Amazon's download() does: a plain _call, no token, no
    # follow_redirects argument. It is also the control for the tests above:
    # the redirect target does receive a request when redirects are followed.
    target = local_servers({("GET", "/steal"): (200, {}, b"image bytes")})
    origin = local_servers({("GET", "/image.png"): _redirect(target)})
    with _local_client(origin, []) as client:
        content = client._call(
            "api",
            "downloadImage",
            "GET",
            origin.url + "/image.png",
            parse=lambda response: response.content,
            stream=True,
        )
    assert content == b"image bytes"
    assert [p.split("?")[0] for _m, p, _h, _b in target.received] == ["/steal"]


# -- token cache key (real token exchanges with a local server) ----------------


class _FormClient(_Client):
    """Client credentials and scopes in the form body, as Login with Amazon
    takes them; ``scopes`` are set after ``__init__``, as eBay's client does."""

    def __init__(self, *, scopes=(), **kwargs):
        super().__init__(**kwargs)
        self.scopes = tuple(scopes)

    def _token_request(self):
        return {
            "data": {
                "grant_type": "refresh_token",
                "refresh_token": self._refresh_token,
                "client_id": self.client_id,
                "client_secret": self._client_secret,
                "scope": " ".join(self.scopes),
            }
        }


def _token_server(local_servers, secret="right-secret"):
    """A token endpoint that knows one client secret: any other gets
    ``invalid_client`` (RFC 6749 §5.2); each token it issues is new."""
    issued = []

    def answer(method, path, headers, body):
        form = http.urllib.parse.parse_qs(body.decode())
        if form.get("client_secret") != [secret]:
            return (401, {}, json.dumps({"error": "invalid_client"}).encode())
        issued.append(f"token-{len(issued) + 1}")
        content = {"access_token": issued[-1], "expires_in": 3600}
        return (200, {}, json.dumps(content).encode())

    return local_servers({("POST", "/token"): answer})


def _form_client(server, **kwargs):
    kwargs.setdefault("client_secret", "right-secret")
    return _FormClient(
        client_id="cid",
        refresh_token="the-refresh-token",
        api_base_url=server.url,
        token_url=server.url + "/token",
        timeout=5,
        **kwargs,
    )


def test_wrong_client_secret_does_not_get_a_cached_token(local_servers):
    server = _token_server(local_servers)
    with _form_client(server) as good:
        assert good._access_token("api") == "token-1"
    records = []
    wrong = _form_client(server, client_secret="wrong-secret", on_call=records.append)
    # Same token URL, client id and refresh token: before, this client
    # silently used token-1 and its wrong secret went unnoticed until the
    # token expired.
    with wrong, pytest.raises(AuthError) as info:
        wrong._access_token("api")
    assert info.value.code == "invalid_client"
    assert "wrong-secret" not in str(info.value)
    assert len(server.received) == 2
    assert [(r.operation, r.outcome) for r in records] == [("token", "auth")]
    # The good client still has its token cached.
    with _form_client(server) as good_again:
        assert good_again._access_token("api") == "token-1"
    assert len(server.received) == 2


def test_clients_asking_for_other_scopes_do_not_share_a_token(local_servers):
    server = _token_server(local_servers)
    with _form_client(server, scopes=("scope/a", "scope/b")) as both:
        assert both._access_token("api") == "token-1"
    with _form_client(server, scopes=("scope/b", "scope/a")) as same:
        assert same._access_token("api") == "token-1"  # same scopes: cached
    with _form_client(server, scopes=("scope/a",)) as fewer:
        assert fewer._access_token("api") == "token-2"
    scopes_asked = [
        http.urllib.parse.parse_qs(body.decode())["scope"]
        for _m, _p, _h, body in server.received
    ]
    assert scopes_asked == [["scope/a scope/b"], ["scope/a"]]


# -- invalid_scope ---------------------------------------------------------------


def _invalid_scope_server(local_servers):
    body = {
        "error": "invalid_scope",
        "error_description": "The requested scope is invalid, unknown, malformed, "
        "or exceeds the scope granted to the client",
    }
    return local_servers({("POST", "/token"): (400, {}, json.dumps(body).encode())})


def test_invalid_scope_names_the_scopes_and_what_to_do(local_servers):
    server = _invalid_scope_server(local_servers)
    scopes = (
        "https://api.ebay.com/oauth/api_scope",
        "https://api.ebay.com/oauth/api_scope/sell.fulfillment",
    )
    records = []
    client = _form_client(server, scopes=scopes, on_call=records.append)
    with client, pytest.raises(AuthError) as info:
        client._access_token("api")

    assert info.value.code == "invalid_scope"
    assert info.value.http_status == 400
    assert info.value.message == (
        "Test refused the scopes asked for (https://api.ebay.com/oauth/api_scope, "
        "https://api.ebay.com/oauth/api_scope/sell.fulfillment): the seller's "
        "consent does not include them. Re-authorize the Test account granting "
        "them, or choose the write-back API that the consent covers."
    )
    (record,) = records
    assert (record.outcome, record.error_code) == ("auth", "invalid_scope")
    assert record.error_message == info.value.message


def test_invalid_scope_without_scopes_asked(local_servers):
    server = _invalid_scope_server(local_servers)
    with _form_client(server) as client, pytest.raises(AuthError) as info:
        client._access_token("api")
    assert info.value.code == "invalid_scope"
    assert info.value.message.startswith(
        "Test refused the scopes asked for: the seller's consent does not include them."
    )


def test_pacer_hands_a_used_burst_to_the_next_process():
    """A queue job of a seller used its burst on one worker: the next job
    of that seller, on another worker, starts from that bucket, not from a
    full burst the marketplace no longer has; a process that paced the
    seller more recently keeps its own bucket."""
    first = Pacer()
    for _ in range(BURST - HELD_BACK):
        first.acquire(KEY, rate=RATE, burst=BURST, max_wait=2.0)
    state = first.export(KEY[:-1])
    assert list(state) == ["confirmShipment"]
    assert json.loads(json.dumps(state)) == state  # stored as JSON

    fresh = Pacer()
    assert fresh.delay(KEY, RATE, BURST) == 0.0
    fresh.restore(KEY[:-1], state)
    assert fresh.delay(KEY, RATE, BURST) > 0.3, "the burst is used"
    assert fresh.export(("https://x", "seller-b")) == {}, "other sellers apart"

    recent = Pacer()
    recent.restore(KEY[:-1], {"confirmShipment": [9.0, 0.0]})  # long ago
    assert recent.delay(KEY, RATE, BURST) == 0.0
    recent.restore(KEY[:-1], state)  # newer: taken over
    assert recent.delay(KEY, RATE, BURST) > 0.3
    recent.restore(KEY[:-1], {"confirmShipment": [9.0, 0.0]})  # older: ignored
    assert recent.delay(KEY, RATE, BURST) > 0.3


@pytest.mark.parametrize(
    "state",
    [
        None,
        {},
        {"confirmShipment": "x"},
        {"confirmShipment": [1]},
        {"confirmShipment": ["a", "b"]},
        {"confirmShipment": [float("nan"), 1.0]},
        {"confirmShipment": [1.0, float("inf")]},
    ],
)
def test_pacer_restore_ignores_what_it_cannot_read(state):
    pacer = Pacer()
    pacer.restore(KEY[:-1], state)
    assert pacer.delay(KEY, RATE, BURST) == 0.0
    assert pacer.export(KEY[:-1]) == {}


def test_capacity_is_the_bucket_and_its_refill_consuming_nothing():
    """How many requests the pacer lets go within some seconds: what the
    bucket holds now plus its refill; None without a usage plan; a wait
    already owed counts against it."""
    clock = FakeClock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    full = BURST - HELD_BACK  # the burst, minus what is kept in hand
    assert pacer.capacity("k", RATE, BURST, 0) == full
    assert pacer.capacity("k", RATE, BURST, 10) == full + int(10 / STEP)
    assert pacer.capacity("k", None, BURST, 10) is None
    for _ in range(full):
        pacer.acquire("k", RATE, BURST, max_wait=0)
    assert pacer.capacity("k", RATE, BURST, 0) == 0
    assert pacer.capacity("k", RATE, BURST, 10) == int(10 / STEP)
    assert pacer.capacity("k", RATE, BURST, -5) == 0
    assert pacer.delay("k", RATE, BURST) > 0, "nothing was consumed by asking"


def test_no_stored_bucket_or_announced_rate_makes_the_pacer_wait_for_ages():
    """A stored state owing a billion tokens, or a marketplace announcing
    one request a century: the pacer never asks for more than MAX_PAUSE."""
    clock = FakeClock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    pacer.restore(("seller",), {"getOrder": [-1e9, time.time()]})
    assert 0 < pacer.delay(("seller", "getOrder"), 0.5, 30) <= pacer_module.MAX_PAUSE
    pacer.observe_rate("k", 1e-9, RATE, BURST)  # ignored: below 1 per MAX_PAUSE
    for _ in range(BURST):
        with contextlib.suppress(RateLimitedError):
            pacer.acquire("k", RATE, BURST, max_wait=0)
    assert pacer.delay("k", RATE, BURST) <= STEP
