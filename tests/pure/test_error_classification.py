"""How the clients classify what a marketplace answered, answer by answer
(README, *Outcomes*), on ``requests.Response`` objects built here: the
edges the sandbox does not produce (unwrapped SP-API errors, details only,
HTTP-date Retry-After, statuses no operation documents). The same classes
are exercised over real HTTP in the client and sandbox tests."""

import datetime
import email.utils
import json
import types

import pytest
import requests
from lxml import etree

from marketplaces import amazon, ebay_fulfillment, ebay_trading, http
from marketplaces.errors import (
    AuthError,
    PermanentError,
    RateLimitedError,
    TransientError,
)


def response(status, body=None, headers=None):
    answer = requests.Response()
    answer.status_code = status
    if body is None:
        answer._content = b""
    elif isinstance(body, bytes):
        answer._content = body
    else:
        answer._content = json.dumps(body).encode()
    answer.headers.update(headers or {})
    return answer


# -- Amazon SP-API error bodies ----------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"errors": [{"code": "InvalidInput", "message": "Bad", "details": "d"}]},
            ("InvalidInput", "Bad (d)"),
        ),
        ({"errors": [{"code": "X", "message": "first"}, {"code": "Y"}]}, ("X", "first")),  # noqa: E501
        ({"errors": [{"details": "only details"}]}, (None, "only details")),
        ({"code": "Unauthorized", "message": "Access to requested resource is denied."},
         ("Unauthorized", "Access to requested resource is denied.")),
        ({"code": "Unauthorized"}, ("Unauthorized", "")),
        ({"message": "unwrapped"}, (None, "unwrapped")),
        ({"errors": []}, (None, "")),
        ({"errors": ["not a dict"]}, (None, "")),
        ({"errors": "nope", "code": "C"}, ("C", "")),
        ({"other": 1}, (None, "")),
        (["code", "message"], (None, "")),
        (None, (None, "")),
        (b"<html>gateway</html>", (None, "")),
    ],
)  # fmt: skip
def test_amazon_first_error(body, expected):
    assert amazon._first_error(response(400, body)) == expected


OPERATION = http.Operation("confirmShipment", "amazon_writeback")


def amazon_error(status, body=None, headers=None):
    client = types.SimpleNamespace(marketplace="Amazon")
    with pytest.raises(Exception) as info:
        amazon.AmazonClient._raise_for_status(
            client, response(status, body, headers), OPERATION, "Order 1 not found"
        )
    return info.value


@pytest.mark.parametrize(
    ("status", "kind", "code", "message"),
    [
        (400, PermanentError, "InvalidInput", "Amazon rejected the request as invalid"),
        (404, PermanentError, "NotFound", "Order 1 not found"),
        (401, http.TokenRejectedError, "Unauthorized",
         "Amazon denied access to this operation"),
        (403, http.TokenRejectedError, "Unauthorized",
         "Amazon denied access to this operation"),
        (429, RateLimitedError, "QuotaExceeded", "Amazon is throttling confirmShipment"),  # noqa: E501
        (500, TransientError, None, "Amazon failed on confirmShipment (HTTP 500)"),
        (503, TransientError, None, "Amazon failed on confirmShipment (HTTP 503)"),
        (499, PermanentError, None, "Amazon refused confirmShipment (HTTP 499)"),
        (302, PermanentError, None, "Amazon refused confirmShipment (HTTP 302)"),
    ],
)  # fmt: skip
def test_amazon_status_without_a_body(status, kind, code, message):
    error = amazon_error(status)
    assert type(error) is kind
    assert (error.code, error.message, error.http_status) == (code, message, status)


def test_amazon_status_with_amazons_words():
    body = {"errors": [{"code": "C", "message": "M"}]}
    for status, kind in ((400, PermanentError), (403, http.TokenRejectedError),
                         (429, RateLimitedError), (500, TransientError),
                         (409, PermanentError)):  # fmt: skip
        error = amazon_error(status, body)
        assert (type(error), error.code, error.message) == (kind, "C", "M")
    assert amazon_error(404, body).message == "Order 1 not found: M"
    assert amazon_error(429, headers={"Retry-After": "3"}).retry_after == 3.0
    assert amazon_error(429).retry_after is None
    client = types.SimpleNamespace(marketplace="Amazon")
    for status in (200, 204, 299):
        assert (
            amazon.AmazonClient._raise_for_status(
                client, response(status), OPERATION, "x"
            )
            is None
        )


# -- any marketplace: statuses no operation documents ------------------------------


@pytest.mark.parametrize(
    ("status", "kind", "message"),
    [
        (429, RateLimitedError, "eBay is throttling getOrder"),
        (500, TransientError, "eBay failed on getOrder (HTTP 500)"),
        (599, TransientError, "eBay failed on getOrder (HTTP 599)"),
        (499, PermanentError, "eBay refused getOrder (HTTP 499)"),
        (400, PermanentError, "eBay refused getOrder (HTTP 400)"),
    ],
)
def test_error_for_unexpected_status(status, kind, message):
    error = http.error_for_unexpected_status(
        "eBay", "getOrder", response(status, headers={"Retry-After": "12"})
    )
    assert type(error) is kind
    assert (error.message, error.http_status) == (message, status)
    if kind is RateLimitedError:
        assert error.retry_after == 12.0


def _http_date(delta):
    when = datetime.datetime.now(datetime.UTC) + delta
    return email.utils.format_datetime(when, usegmt=True)


def test_retry_after_seconds_or_http_date():
    assert http.parse_retry_after("7") == 7.0
    assert http.parse_retry_after(" 2.5 ") == 2.5
    assert http.parse_retry_after("0") == 0.0
    assert http.parse_retry_after("-5") == 0.0
    assert http.parse_retry_after("0.5") == 0.5
    assert http.parse_retry_after(None) is None
    assert http.parse_retry_after("") is None
    assert http.parse_retry_after("   ") is None
    assert http.parse_retry_after("soon") is None
    later = http.parse_retry_after(_http_date(datetime.timedelta(seconds=120)))
    assert 110 <= later <= 120
    assert http.parse_retry_after(_http_date(-datetime.timedelta(hours=1))) == 0.0
    # an HTTP-date without a zone is read as UTC
    naive = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=600)
    text = naive.strftime("%a, %d %b %Y %H:%M:%S")
    assert 590 <= http.parse_retry_after(text) <= 600
    soon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=0.4)
    assert http.parse_retry_after(soon.strftime("%a, %d %b %Y %H:%M:%S GMT")) < 1


# -- eBay Sell Fulfillment -----------------------------------------------------------


def test_rest_status_edges():
    operation = http.Operation("createShippingFulfillment", "ebay_fulfillment")
    for status in (200, 201, 204, 299):
        assert (
            ebay_fulfillment.raise_for_rest_error(response(status), operation) is None
        )
    with pytest.raises(PermanentError) as info:
        ebay_fulfillment.raise_for_rest_error(response(300), operation)
    assert info.value.http_status == 300
    with pytest.raises(AuthError) as info:
        ebay_fulfillment.raise_for_rest_error(response(401), operation)
    assert info.value.http_status == 401


def test_tracking_taken_keeps_ebays_code_and_status():
    refused = PermanentError("Fulfillment exists", code="34500", http_status=409)
    error = ebay_fulfillment.tracking_taken_error("12-1", "1Z1", refused)
    assert (error.code, error.http_status) == ("34500", 409)
    assert error.message == (
        "eBay already holds tracking number 1Z1 for other items of order 12-1; "
        "correct the tracking on eBay (eBay: Fulfillment exists)"
    )


# -- eBay Trading -------------------------------------------------------------------


def test_trading_errors_read_every_field():
    ns = ebay_trading.NS
    root = etree.fromstring(
        f'<CompleteSaleResponse xmlns="{ns}"><Ack>Failure</Ack>'
        "<Errors><ShortMessage>Short.</ShortMessage><LongMessage>Long.</LongMessage>"
        "<ErrorCode>10007</ErrorCode><SeverityCode>Error</SeverityCode>"
        "<ErrorClassification>SystemError</ErrorClassification></Errors>"
        "<Errors><ShortMessage>Only short.</ShortMessage><ErrorCode>37</ErrorCode>"
        "<SeverityCode>Warning</SeverityCode>"
        "<ErrorClassification>RequestError</ErrorClassification></Errors>"
        "</CompleteSaleResponse>".encode()
    )
    first, second = ebay_trading.trading_errors(root)
    assert first == ebay_trading.TradingError(
        "10007", "Error", "SystemError", "Short.", "Long."
    )
    assert second == ebay_trading.TradingError(
        "37", "Warning", "RequestError", "Only short.", ""
    )
    assert (first.text, second.text) == ("Long.", "Only short.")
    assert ebay_trading.TradingError("1", "Error", "", "", "").text == "eBay error"


def _trading(code, classification="RequestError", text="Long text."):
    return ebay_trading.TradingError(code, "Error", classification, "Short.", text)


@pytest.mark.parametrize(
    ("errors", "kind", "message"),
    [
        ([], PermanentError, "eBay reported a failure without an error message"),
        ([_trading("932")], AuthError,
         ("Long text. The eBay authorization has expired or was revoked: "
         "re-authorize the eBay account.")),
        ([_trading("931")], http.TokenRejectedError, "Long text."),
        ([_trading("518")], RateLimitedError, "Long text."),
        ([_trading("1", "SystemError")], TransientError, "Long text."),
        ([_trading("21916964")], PermanentError,
         ("Long text. (the tracking number is already on an order of another buyer "
         "or another seller: check it)")),
        ([_trading("37"), _trading("38", text="Other.")], PermanentError,
         "Long text.; Other."),
    ],
)  # fmt: skip
def test_trading_failure_messages(errors, kind, message):
    failure = ebay_trading.trading_failure(errors)
    assert type(failure) is kind
    assert failure.message == message


# -- transport and redirects ----------------------------------------------------------


def test_redirect_names_the_target_host_only():
    client = types.SimpleNamespace(marketplace="Amazon")
    relative = response(302, headers={"Location": "/elsewhere?token=secret"})
    error = http.HttpClient._redirect_error(
        client, "getOrder", "https://sellingpartnerapi-na.amazon.com/orders", relative
    )
    assert type(error) is AuthError
    assert (error.code, error.http_status) == ("redirect", 302)
    assert "secret" not in error.message
    assert error.message.endswith(
        "(HTTP 302) to https://sellingpartnerapi-na.amazon.com: requests that carry "
        "credentials never follow redirects; check the endpoint URL of the account."
    )
    bare = http.HttpClient._redirect_error(
        client, "getOrder", "https://x", response(307)
    )
    assert bare.message.startswith(
        "Amazon answered getOrder with a redirect (HTTP 307): requests"
    )


def test_transport_error_names_the_exception():
    client = types.SimpleNamespace(marketplace="eBay")
    error = http.HttpClient._transport_error(
        client, "GetOrders", requests.exceptions.ConnectionError("refused")
    )
    assert type(error) is TransientError
    assert (error.code, error.message) == (
        "connection",
        "Could not reach eBay for GetOrders (ConnectionError)",
    )


# -- eBay Sell Fulfillment error bodies ------------------------------------------------

REST_OPERATION = http.Operation("createShippingFulfillment", "ebay_fulfillment")


def rest_error(status, errors=None, headers=None, order_ref="12-1"):
    body = None if errors is None else {"errors": errors}
    with pytest.raises(Exception) as info:
        ebay_fulfillment.raise_for_rest_error(
            response(status, body, headers), REST_OPERATION, order_ref
        )
    return info.value


@pytest.mark.parametrize(
    ("status", "errors", "kind", "code", "message"),
    [
        (401, None, http.TokenRejectedError, None, "eBay rejected the access token"),
        (400, [{"errorId": 1001}], http.TokenRejectedError, "1001",
         "eBay rejected the access token"),
        (429, None, RateLimitedError, None,
         "eBay is throttling createShippingFulfillment"),
        (500, None, TransientError, None,
         "eBay failed on createShippingFulfillment (HTTP 500)"),
        (400, [{"errorId": 30500, "message": "System error."}], TransientError,
         "30500", "System error."),
        (403, None, AuthError, None,
         ("eBay denied access. Check the app's scopes and re-authorize the eBay "
         "account.")),
        (401, [{"errorId": "1100", "domain": "ACCESS", "message": "Denied."}],
         http.TokenRejectedError, "1100", "Denied."),
        (418, [{"errorId": 1100, "domain": "ACCESS", "message": "Insufficient."}],
         AuthError, "1100",
         "Insufficient. Check the app's scopes and re-authorize the eBay account."),
        (400, [{"errorId": 32100, "domain": "ACCESS", "message": "Bad line."}],
         PermanentError, "32100", "Bad line."),
        (409, [{"errorId": 34500, "domain": "API_FULFILLMENT",
                "longMessage": "Long words.", "message": "Short."}],
         PermanentError, "34500", "Long words."),
        (404, None, PermanentError, None, "eBay has no order 12-1 (order not found)"),
        (404, [{"errorId": "x", "message": "Gone."}], PermanentError, None, "Gone."),
        (418, None, PermanentError, None,
         "eBay refused createShippingFulfillment (HTTP 418)"),
    ],
)  # fmt: skip
def test_rest_error_classification(status, errors, kind, code, message):
    error = rest_error(status, errors)
    assert type(error) is kind
    assert (error.code, error.message, error.http_status) == (code, message, status)


def test_rest_retry_after_is_read():
    assert rest_error(429, headers={"Retry-After": "30"}).retry_after == 30.0
    assert rest_error(429).retry_after is None


def test_amazon_300_is_not_a_success_and_statuses_are_kept():
    assert type(amazon_error(300)) is PermanentError
    body = {"errors": [{"code": "C", "message": "M"}]}
    assert amazon_error(409, body).http_status == 409


def test_an_error_carries_its_message_as_its_argument():
    from marketplaces import errors

    error = errors.PermanentError("Bad carrier", code="InvalidInput", http_status=400)
    assert error.args == ("Bad carrier",)
    assert str(error) == "Bad carrier (InvalidInput)"


# -- token exchange answers (RFC 6749 §5.2) --------------------------------------------


def token_error(status, body=None, headers=None, scopes=()):
    client = types.SimpleNamespace(marketplace="eBay", scopes=scopes)
    client._invalid_scope_error = types.MethodType(
        http.HttpClient._invalid_scope_error, client
    )
    client._access_token_from = types.MethodType(
        http.HttpClient._access_token_from, client
    )
    with pytest.raises(Exception) as info:
        http.HttpClient._parse_token_response(client, response(status, body, headers))
    return info.value


REAUTHORIZE = "Re-authorize the eBay account."


@pytest.mark.parametrize(
    ("status", "body", "kind", "code", "message"),
    [
        (400, {"error": "invalid_grant", "error_description": "token revoked"},
         AuthError, "invalid_grant",
         (f"eBay refused the stored authorization (invalid_grant: token revoked). "
         f"{REAUTHORIZE}")),
        (400, {"error": "invalid_grant"}, AuthError, "invalid_grant",
         f"eBay refused the stored authorization (invalid_grant). {REAUTHORIZE}"),
        (401, {"error": "invalid_client", "error_description": "client authentication failed"},  # noqa: E501
         AuthError, "invalid_client",
         ("eBay refused the stored authorization (invalid_client: client "
         f"authentication failed). {REAUTHORIZE}")),
        (401, None, AuthError, None,
         f"eBay refused the stored authorization (HTTP 401). {REAUTHORIZE}"),
        (400, {"error": "invalid_request", "error_description": "grant_type is required."},  # noqa: E501
         AuthError, "invalid_request",
         ("eBay token request refused (invalid_request: grant_type is required.). "
         "Check the app credentials and scopes, then re-authorize the account.")),
        (400, {"error_description": "no code"}, AuthError, None,
         ("eBay token request refused (: no code). Check the app credentials and "
         "scopes, then re-authorize the account.")),
        (400, ["not", "an", "object"], AuthError, None,
         ("eBay token request refused (HTTP 400). Check the app credentials and "
         "scopes, then re-authorize the account.")),
        (503, None, TransientError, None, "eBay token service unavailable (HTTP 503)"),
        (400, {"error": "temporarily_unavailable"}, TransientError,
         "temporarily_unavailable",
         "eBay token service unavailable (temporarily_unavailable)"),
        (429, {"error": "rate_limited"}, RateLimitedError, "rate_limited",
         "eBay token service is throttling requests"),
        (200, {"access_token": ""}, TransientError, "malformed",
         "eBay token service sent an unreadable answer"),
    ],
)  # fmt: skip
def test_token_answers(status, body, kind, code, message):
    error = token_error(status, body)
    assert type(error) is kind
    assert (error.code, error.message, error.http_status) == (code, message, status)


def test_invalid_scope_names_the_scopes_asked_for():
    error = token_error(
        400,
        {"error": "invalid_scope"},
        scopes=("https://api.ebay.com/oauth/api_scope/sell.fulfillment",),
    )
    assert type(error) is AuthError and error.code == "invalid_scope"
    assert error.message == (
        "eBay refused the scopes asked for "
        "(https://api.ebay.com/oauth/api_scope/sell.fulfillment): the seller's "
        "consent does not include them. Re-authorize the eBay account granting "
        "them, or choose the write-back API that the consent covers."
    )
    assert token_error(429, headers={"Retry-After": "9"}).retry_after == 9.0


def test_last_edges_mutation_testing_found():
    # a 500 from the token service is the service's failure, not ours
    error = token_error(500)
    assert (type(error), error.message) == (
        TransientError,
        "eBay token service unavailable (HTTP 500)",
    )
    # no order reference given: the message still reads
    with pytest.raises(PermanentError) as info:
        ebay_fulfillment.raise_for_rest_error(response(404), REST_OPERATION)
    assert info.value.message == "eBay has no order  (order not found)"
    # only the final full stop of eBay's message goes
    error = rest_error(418, [{"errorId": 1100, "domain": "ACCESS", "message": "No X."}])
    assert error.message.startswith("No X. Check the app's scopes")
    # a redirect to another host names that host
    client = types.SimpleNamespace(marketplace="eBay")
    away = response(301, headers={"Location": "https://login.example.net/x?y=1"})
    error = http.HttpClient._redirect_error(
        client, "token", "https://api.ebay.com/t", away
    )
    assert "(HTTP 301) to https://login.example.net:" in error.message
