"""Shared HTTP plumbing of the marketplace clients (marketplaces/http.py)."""

import datetime
import email.utils
import json

import pytest

from marketplaces import base, http
from marketplaces.errors import AuthError, RateLimitedError, TransientError


@pytest.fixture(autouse=True)
def _empty_token_cache():
    http.TOKEN_CACHE.clear()
    yield
    http.TOKEN_CACHE.clear()


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
    assert http.check_endpoint_url(url) == url


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
        http.check_endpoint_url(url)


def test_endpoint_url_message_hides_path_and_userinfo():
    with pytest.raises(ValueError) as info:
        http.check_endpoint_url("http://user:s3cret@example.com/path?token=abc")
    assert "s3cret" not in str(info.value)
    assert "token=abc" not in str(info.value)


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


def test_pacer_allows_burst_then_waits_then_refuses():
    clock = FakeClock()
    pacer = http.Pacer(clock=clock, sleep=clock.sleep)
    key = ("https://x", "getCatalogItem")
    pacer.acquire(key, rate=2.0, burst=2, max_wait=2.0)
    pacer.acquire(key, rate=2.0, burst=2, max_wait=2.0)
    assert clock.slept == []
    pacer.acquire(key, rate=2.0, burst=2, max_wait=2.0)  # waits for one token
    # 1 / rate, plus the pacer's safety margin
    assert clock.slept == [pytest.approx(0.5 / http.Pacer.SAFETY)]
    with pytest.raises(RateLimitedError) as info:
        pacer.acquire(key, rate=2.0, burst=2, max_wait=0.1)
    assert info.value.retry_after == pytest.approx(0.5 / http.Pacer.SAFETY)
    assert info.value.outcome == "rate_limited"
    # The refusal consumed nothing: after the wait the call goes through.
    clock.now += 0.5 / http.Pacer.SAFETY
    pacer.acquire(key, rate=2.0, burst=2, max_wait=0.0)


def test_pacer_buckets_are_per_operation():
    clock = FakeClock()
    pacer = http.Pacer(clock=clock, sleep=clock.sleep)
    pacer.acquire(("u", "a"), rate=0.5, burst=1, max_wait=0)
    pacer.acquire(("u", "b"), rate=0.5, burst=1, max_wait=0)
    with pytest.raises(RateLimitedError) as info:
        pacer.acquire(("u", "a"), rate=0.5, burst=1, max_wait=0)
    assert info.value.retry_after == pytest.approx(2.0 / http.Pacer.SAFETY)


# -- token cache -----------------------------------------------------------------


def _token(value, seconds):
    expires = http.utcnow() + datetime.timedelta(seconds=seconds)
    return http.AccessToken(value=value, expires_at=expires)


def test_token_cache_keeps_token_until_a_minute_before_expiry():
    cache = http.TokenCache()
    key = cache.key("https://t", "client", "refresh-secret")
    assert "refresh-secret" not in repr(key)
    cache.put(key, _token("fresh", 3600))
    assert cache.get(key).value == "fresh"
    cache.put(key, _token("stale", 59))
    assert cache.get(key) is None


def test_token_cache_invalidate_only_the_rejected_token():
    cache = http.TokenCache()
    key = cache.key("https://t", "client", "r")
    cache.put(key, _token("new", 3600))
    cache.invalidate(key, "old")  # another thread already replaced "old"
    assert cache.get(key).value == "new"
    cache.invalidate(key)
    assert cache.get(key) is None


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
    assert record.access_token_expires_at > http.utcnow()
    assert record.refresh_token_expires_at > record.access_token_expires_at
    assert "the-access-token" not in repr(record)
    assert client._redact("x the-access-token") == "x ***"


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
