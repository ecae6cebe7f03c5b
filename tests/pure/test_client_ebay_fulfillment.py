"""EbayFulfillmentClient against the local sandbox, over real HTTP, its pure
payload and answer functions, and the line matching of :mod:`base` that
bridges eBay's two line id schemes."""

import datetime
import functools
import json
import time

import client_checks
import pytest
import requests

from marketplaces import base, http, tokens
from marketplaces.ebay_fulfillment import (
    CREATE_SHIPPING_FULFILLMENT,
    EbayFulfillmentClient,
    fulfillment_matches,
    fulfillment_payloads,
    order_view,
    raise_for_rest_error,
    rest_tracking_number,
)
from marketplaces.ebay_oauth import API_SCOPE, SELL_FULFILLMENT_SCOPE
from marketplaces.ebay_trading import EbayTradingClient
from marketplaces.errors import (
    AuthError,
    PermanentError,
    RateLimitedError,
    TransientError,
)
from marketplaces.http import TokenRejectedError

ORDER = "12-34567-89012"
CLIENT_ID, SECRETS = client_checks.EBAY_CLIENT_ID, client_checks.EBAY_SECRETS


@pytest.fixture
def make_client(sandbox_client):
    options = client_checks.EBAY_OPTIONS

    def make(cls=EbayFulfillmentClient, **overrides):
        return sandbox_client(cls, options, **overrides)

    return make


@pytest.fixture
def order(sandbox):
    return sandbox.add_ebay_order(
        ORDER,
        # Before the fixed ship dates below: a shipped date before the
        # order's creation is 32500 (sandbox/ebay_rest.py).
        created_time="2026-01-01T00:00:00Z",
        line_items=[
            {
                "line_item_id": "10001",
                "quantity": 1,
                "item_id": "110",
                "transaction_id": "0",
                "sku": "SKU-110",
                "title": "Widget 110",
            },
            {
                "line_item_id": "10002",
                "quantity": 2,
                "item_id": "111",
                "transaction_id": "0",
            },
        ],
    )


def shipment(*packages):
    return base.Shipment(
        order_ref=ORDER,
        carrier_code="UPS",
        carrier_name="UPS",
        shipping_method="UPS Ground",
        ship_date=datetime.datetime(2026, 2, 11, 1, 0, 0),
        packages=packages
        or (
            base.Package(
                "1", "1Z 999 AA1-0123456784", (base.ShipmentItem("10001", 1),)
            ),
            base.Package("2", "1Z999AA10123456785", (base.ShipmentItem("10002", 2),)),
        ),
    )


def outcomes(journal):
    return [(r.api, r.operation, r.outcome, r.http_status) for r in journal]


assert_no_secret = functools.partial(client_checks.assert_no_secret, SECRETS)


# -- tracking numbers ----------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("1Z999AA10123456784", ("1Z999AA10123456784", False)),
        ("1Z 999 aa1-0123456784", ("1Z999aa10123456784", True)),
        ("", ("", False)),
    ],
)
def test_rest_tracking_number(number, expected):
    assert rest_tracking_number(number) == expected


# -- accepted ------------------------------------------------------------------


def test_create_shipping_fulfillment_per_package(sandbox, client, order, journal):
    result = client.confirm_shipment(shipment())

    assert not result.duplicate
    assert result.location.count("/shipping_fulfillment/") == 2
    first, second = sandbox.requests("ebay.createShippingFulfillment")
    assert first["method"] == "POST"
    assert first["path"] == f"/sell/fulfillment/v1/order/{ORDER}/shipping_fulfillment"
    assert first["json"] == {
        "lineItems": [{"lineItemId": "10001", "quantity": 1}],
        "shippedDate": "2026-02-11T01:00:00.000Z",
        "shippingCarrierCode": "UPS",
        "trackingNumber": "1Z999AA10123456784",  # alphanumerics only
    }
    assert second["json"]["lineItems"] == [{"lineItemId": "10002", "quantity": 2}]
    headers = first["headers"]
    assert headers["authorization"].startswith("Bearer ")
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == http.USER_AGENT
    assert [r["status"] for r in sandbox.requests()] == [200, 200, 201, 201]
    assert outcomes(journal) == [
        (base.API_EBAY_FULFILLMENT, "token", "success", 200),
        (base.API_EBAY_FULFILLMENT, "getShippingFulfillments", "success", 200),
        (base.API_EBAY_FULFILLMENT, "createShippingFulfillment", "success", 201),
        (base.API_EBAY_FULFILLMENT, "createShippingFulfillment", "success", 201),
    ]
    assert journal[2].order_ref == ORDER
    assert_no_secret(journal)


def test_duplicate_guard_never_posts_a_tracking_number_twice(sandbox, client, order):
    client.confirm_shipment(shipment())

    again = client.confirm_shipment(shipment())

    assert again.duplicate
    assert "already there" in again.message
    assert len(sandbox.requests("ebay.createShippingFulfillment")) == 2


def test_retry_after_a_lost_answer_only_sends_the_missing_package(
    sandbox, make_client, order
):
    # eBay records the first package, but its answer comes too late. (The
    # token comes from a client with the default timeout: a busy machine
    # must not time out anything but the delayed answer.)
    make_client().probe()
    client = make_client(timeout=1.0)
    sandbox.inject_fault("ebay.createShippingFulfillment", delay=3.0)
    with pytest.raises(TransientError):
        client.confirm_shipment(shipment())
    sandbox.wait_idle()
    assert len(sandbox.ebay_order(ORDER)["fulfillments"]) == 1

    result = client.confirm_shipment(shipment())

    assert not result.duplicate
    assert "already there: 1Z999AA10123456784" in result.message
    posted = [
        r["json"]["trackingNumber"]
        for r in sandbox.requests("ebay.createShippingFulfillment")
    ]
    assert posted == ["1Z999AA10123456784", "1Z999AA10123456785"]


def test_backorder_under_the_same_tracking_number_is_refused(
    sandbox, client, order, journal
):
    first = base.Package("1", "1Z999AA10123456784", (base.ShipmentItem("10001", 1),))
    backorder = base.Package(
        "2", "1Z999AA10123456784", (base.ShipmentItem("10002", 2),)
    )
    client.confirm_shipment(shipment(first))

    # Same tracking number, other lines: not "already sent". eBay keeps one
    # fulfillment per tracking number and answers 34500.
    with pytest.raises(PermanentError) as info:
        client.confirm_shipment(shipment(backorder))

    assert info.value.code == "34500"
    assert "already holds tracking number 1Z999AA10123456784" in info.value.message
    assert "other items" in info.value.message
    assert "correct" in info.value.message
    assert "Please use PUT operation" in info.value.message  # eBay's message
    assert [(r.operation, r.outcome) for r in journal][-3:] == [
        ("getShippingFulfillments", "success"),
        ("createShippingFulfillment", "permanent"),
        ("getShippingFulfillments", "success"),  # read again before refusing
    ]
    (fulfillment,) = sandbox.ebay_order(ORDER)["fulfillments"]
    assert fulfillment["line_items"] == [{"line_item_id": "10001", "quantity": 1}]


def test_34500_for_a_package_already_there_counts_as_sent(sandbox, client, order):
    # One of the two units of line 10002, so that posting it again breaks no
    # quantity rule: only the tracking number is in the way.
    package = base.Package("1", "1Z999AA10123456784", (base.ShipmentItem("10002", 1),))
    client.confirm_shipment(shipment(package))
    # The read before posting misses the fulfillment (e.g. it was made
    # between our read and our post); eBay answers 34500 to the post.
    sandbox.inject_fault(
        "ebay.getShippingFulfillments",
        status=200,
        body={"fulfillments": [], "total": 0},
    )

    result = client.confirm_shipment(shipment(package))

    assert result.duplicate
    assert "already there: 1Z999AA10123456784" in result.message
    read, post, read_again = sandbox.requests()[-3:]
    assert (read["operation"], read_again["operation"]) == (
        "ebay.getShippingFulfillments",
        "ebay.getShippingFulfillments",
    )
    assert post["operation"] == "ebay.createShippingFulfillment"
    assert post["status"] in (400, 409)  # 34500 (OAS: 400 or 409)
    assert len(sandbox.ebay_order(ORDER)["fulfillments"]) == 1


def test_two_packages_with_one_tracking_number_are_refused_before_sending(
    sandbox, client, order
):
    twins = shipment(
        base.Package("1", "1Z1", (base.ShipmentItem("10001", 1),)),
        base.Package("2", "1z-1", (base.ShipmentItem("10002", 2),)),
    )

    with pytest.raises(PermanentError, match="one fulfillment per tracking number"):
        client.confirm_shipment(twins)

    assert sandbox.requests() == []


def test_request_count(make_client):
    one, two = shipment(shipment().packages[0]), shipment()

    client = make_client()

    assert (client.request_count(one), client.request_count(two)) == (2, 3)


# -- the duplicate guard's comparison (no network) ---------------------------------


def _fulfillment(number, *lines):
    return {
        "fulfillmentId": number,
        "shipmentTrackingNumber": number,
        "lineItems": [
            {"lineItemId": line_id, "quantity": quantity} for line_id, quantity in lines
        ],
    }


def _payload(number, *lines):
    return {
        "trackingNumber": number,
        "lineItems": [
            {"lineItemId": line_id, "quantity": quantity} for line_id, quantity in lines
        ],
    }


@pytest.mark.parametrize(
    ("fulfillment", "payload", "expected"),
    [
        # tracking compared normalised, lines as a multiset (any order)
        (
            _fulfillment("1Z999AA1", ("1", 1), ("2", 2)),
            _payload("1z 999-aa1", ("2", 2), ("1", 1)),
            True,
        ),
        # same tracking, other line: a backorder under the same number
        (_fulfillment("1Z1", ("1", 1)), _payload("1Z1", ("2", 1)), False),
        # same tracking and line, other quantity
        (_fulfillment("1Z1", ("1", 1)), _payload("1Z1", ("1", 2)), False),
        # one line more or less
        (_fulfillment("1Z1", ("1", 1)), _payload("1Z1", ("1", 1), ("2", 1)), False),
        (
            _fulfillment("1Z1", ("1", 1), ("1", 1)),
            _payload("1Z1", ("1", 1)),
            False,
        ),
        # other tracking, same lines
        (_fulfillment("1Z1", ("1", 1)), _payload("1Z2", ("1", 1)), False),
        # no tracking at all never matches
        (_fulfillment("", ("1", 1)), _payload("", ("1", 1)), False),
        # LineItemReference.quantity "Default: 1"
        (
            {**_fulfillment("1Z1"), "lineItems": [{"lineItemId": "1"}]},
            _payload("1Z1", ("1", 1)),
            True,
        ),
    ],
)
def test_fulfillment_matches(fulfillment, payload, expected):
    assert fulfillment_matches(fulfillment, payload) is expected


def test_payloads_match_what_ebay_records():
    (payload,) = fulfillment_payloads(shipment(shipment().packages[0]))

    assert fulfillment_matches(
        _fulfillment("1Z999AA10123456784", ("10001", 1)), payload
    )


# -- OAuth scopes ------------------------------------------------------------------


def test_each_client_asks_for_its_own_scopes(sandbox, make_client, order):
    make_client().read_order(ORDER)
    tokens.TOKEN_CACHE.clear()  # whether or not the cache key holds the scopes
    make_client(cls=EbayTradingClient).read_order(ORDER)

    rest, trading = sandbox.requests("ebay.token")
    # sell.fulfillment covers the reads too (OAS securitySchemes); Trading
    # asks for the base scope only, so a Trading-only consent keeps working.
    assert rest["form"]["scope"] == SELL_FULFILLMENT_SCOPE
    assert trading["form"]["scope"] == API_SCOPE
    assert EbayFulfillmentClient.scopes == (SELL_FULFILLMENT_SCOPE,)
    assert EbayTradingClient.scopes == (API_SCOPE,)


def test_scopes_can_be_overridden(sandbox, make_client, order):
    client = make_client(scopes=f"{SELL_FULFILLMENT_SCOPE} {API_SCOPE}")

    client.read_order(ORDER)

    assert client.scopes == (SELL_FULFILLMENT_SCOPE, API_SCOPE)
    (token,) = sandbox.requests("ebay.token")
    assert token["form"]["scope"] == f"{SELL_FULFILLMENT_SCOPE} {API_SCOPE}"


@pytest.mark.parametrize(
    ("cls", "overrides", "expected"),
    [
        (EbayFulfillmentClient, {}, (SELL_FULFILLMENT_SCOPE,)),
        (EbayTradingClient, {}, (API_SCOPE,)),
        (EbayTradingClient, {"scopes": ["x"]}, ("x",)),
    ],
)
def test_scopes_are_set_before_the_http_client_is(
    monkeypatch, cls, overrides, expected
):
    # HttpClient.__init__ computes the token cache key, which depends on the
    # scopes: they must be on the instance by then.
    seen = []
    original = http.HttpClient.__init__

    def spy(self, **kwargs):
        seen.append(self.__dict__.get("scopes"))
        original(self, **kwargs)

    monkeypatch.setattr(http.HttpClient, "__init__", spy)

    cls(client_id="c", client_secret="s", dev_id="d", refresh_token="r", **overrides)

    assert seen == [expected]


# -- read_order and find_fulfillment -------------------------------------------


def test_read_order(sandbox, client, order, journal):
    before = client.read_order(ORDER)

    assert (before.status, before.status_label) == ("NOT_STARTED", "Not shipped")
    assert before.line_status == {"10001": "NOT_STARTED", "10002": "NOT_STARTED"}
    assert before.packages == []
    assert [
        (line.line_item_id, line.item_id, line.sku, line.quantity, line.title)
        for line in before.lines
    ] == [
        ("10001", "110", "SKU-110", 1, "Widget 110"),
        ("10002", "111", "", 2, ""),
    ]
    # REST reports no Trading OrderLineItemID or TransactionID.
    assert {
        (line.order_line_item_id, line.transaction_id) for line in before.lines
    } == {("", "")}

    client.confirm_shipment(shipment(shipment().packages[0]))
    after = client.read_order(ORDER)

    assert (after.status, after.status_label) == ("IN_PROGRESS", "Partially shipped")
    assert after.line_status == {"10001": "FULFILLED", "10002": "NOT_STARTED"}
    assert not after.cancelled
    (package,) = after.packages
    assert package.tracking_number == "1Z999AA10123456784"
    assert package.carrier == "UPS"
    assert package.items == [("10001", 1)]
    assert after.shipped_time.startswith("2026-02-11T01:00:00")
    assert after.has_tracking("1z 999 aa1-0123456784")
    assert sandbox.requests("ebay.getOrder")[0]["path"] == (
        f"/sell/fulfillment/v1/order/{ORDER}"
    )
    assert [r.operation for r in journal][-2:] == [
        "getOrder",
        "getShippingFulfillments",
    ]


def test_read_cancelled_order(sandbox, client):
    sandbox.add_ebay_order(
        ORDER,
        line_items=[
            {"line_item_id": "1", "quantity": 1, "item_id": "1", "transaction_id": "0"}
        ],
        cancel_state="CANCELED",
    )

    view = client.read_order(ORDER)

    assert view.cancelled
    assert view.status_label == "Cancelled"


def test_read_unknown_order_is_permanent(client, journal):
    with pytest.raises(PermanentError) as info:
        client.read_order("99-99999-99999")

    assert info.value.code == "32100"
    assert outcomes(journal)[-1][2:] == ("permanent", 404)


def test_find_fulfillment(sandbox, client, order):
    client.confirm_shipment(shipment())

    found = client.find_fulfillment(ORDER, "1z999aa1 0123456784")

    assert found["shipmentTrackingNumber"] == "1Z999AA10123456784"
    assert found["lineItems"] == [{"lineItemId": "10001", "quantity": 1}]
    assert client.find_fulfillment(ORDER, "NOPE") is None


# -- permanent -----------------------------------------------------------------


def test_invalid_tracking_or_carrier_is_permanent(sandbox, client, order, journal):
    sandbox.inject_fault(
        "ebay.createShippingFulfillment", rest_error={"errorId": 32300, "status": 400}
    )

    with pytest.raises(PermanentError) as info:
        client.confirm_shipment(shipment())

    assert str(info.value) == "Invalid shipment tracking number or carrier (32300)"
    assert outcomes(journal)[-1][2:] == ("permanent", 400)
    assert journal[-1].error_code == "32300"


def test_unknown_line_item_is_permanent(sandbox, client, order):
    bad = shipment(base.Package("1", "1Z1", (base.ShipmentItem("99999", 1),)))

    with pytest.raises(PermanentError) as info:
        client.confirm_shipment(bad)

    assert info.value.code == "32200"


def test_data_refused_before_any_call(sandbox, client, order):
    with pytest.raises(PermanentError):
        client.confirm_shipment(shipment(base.Package("1", " - ", ())))

    assert sandbox.requests() == []


# -- transient -----------------------------------------------------------------


def test_system_error_is_transient(sandbox, client, order, journal):
    sandbox.inject_fault("ebay.createShippingFulfillment", status=500)

    with pytest.raises(TransientError) as info:
        client.confirm_shipment(shipment())

    assert info.value.code == "30500"
    assert outcomes(journal)[-1][2:] == ("transient", 500)


def test_malformed_answer_is_transient(sandbox, client, order):
    sandbox.inject_fault("ebay.getShippingFulfillments", malformed=True)

    with pytest.raises(TransientError) as info:
        client.confirm_shipment(shipment())

    assert info.value.code == "malformed"
    assert sandbox.requests("ebay.createShippingFulfillment") == []


def test_slow_answer_times_out(sandbox, make_client, order):
    make_client().probe()  # the token, at the default timeout
    client = make_client(timeout=0.5)
    sandbox.inject_fault("ebay.getOrder", delay=3.0)

    start = time.monotonic()
    with pytest.raises(TransientError) as info:
        client.read_order(ORDER)

    assert time.monotonic() - start < 2.5
    assert info.value.code == "timeout"


# -- rate limited --------------------------------------------------------------


def test_429_with_retry_after(sandbox, client, order, journal):
    sandbox.inject_fault(
        "ebay.createShippingFulfillment", status=429, headers={"Retry-After": "12"}
    )

    with pytest.raises(RateLimitedError) as info:
        client.confirm_shipment(shipment())

    assert info.value.retry_after == 12.0
    assert outcomes(journal)[-1][2:] == ("rate_limited", 429)


# -- auth ----------------------------------------------------------------------


def test_invalid_access_token_is_refreshed_once(sandbox, client, order, journal):
    client.read_order(ORDER)
    sandbox.expire_access_tokens()

    client.confirm_shipment(shipment())

    assert [(r.operation, r.outcome) for r in journal] == [
        ("token", "success"),
        ("getOrder", "success"),
        ("getShippingFulfillments", "success"),
        ("getShippingFulfillments", "auth"),
        ("token", "success"),
        ("getShippingFulfillments", "success"),
        ("createShippingFulfillment", "success"),
        ("createShippingFulfillment", "success"),
    ]
    assert journal[3].error_code == "1001"
    assert len(journal) == len(sandbox.requests())  # one record per exchange
    assert_no_secret(journal)


def test_second_401_raises_auth_error(sandbox, client, order, journal):
    sandbox.inject_fault("ebay.getOrder", status=401, times=2)

    with pytest.raises(AuthError) as info:
        client.read_order(ORDER)

    assert [r.operation for r in journal] == ["token", "getOrder", "token", "getOrder"]
    assert_no_secret(journal, info.value)


def test_missing_scope_is_an_auth_error_without_retry(sandbox, make_client, order):
    client = make_client(scopes=("https://api.ebay.com/oauth/api_scope",))

    with pytest.raises(AuthError, match="scopes") as info:
        client.read_order(ORDER)

    assert info.value.http_status == 403
    assert len(sandbox.requests("ebay.token")) == 1


def test_revoked_refresh_token(sandbox, client, order, journal):
    sandbox.revoke_refresh_token(SECRETS[1])

    with pytest.raises(AuthError) as info:
        client.confirm_shipment(shipment())

    assert info.value.code == "invalid_grant"
    assert outcomes(journal) == [(base.API_EBAY_FULFILLMENT, "token", "auth", 400)]
    assert_no_secret(journal, info.value)


# -- probe ---------------------------------------------------------------------


def test_probe_lists_one_order(sandbox, client, journal):
    client.probe()

    (request,) = sandbox.requests("ebay.getOrders")
    assert request["path"] == "/sell/fulfillment/v1/order"
    assert request["query"] == {"limit": ["1"]}
    assert outcomes(journal)[-1] == (
        base.API_EBAY_FULFILLMENT,
        "getOrders",
        "success",
        200,
    )


# -- error classification (no network) -------------------------------------------


def _answer(status, error_id=None, domain="API_FULFILLMENT", headers=None):
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers or {})
    if error_id is not None:
        response.headers["Content-Type"] = "application/json"
        response._content = json.dumps(
            {
                "errors": [
                    {
                        "errorId": error_id,
                        "domain": domain,
                        "category": "REQUEST",
                        "message": f"message {error_id}",
                    }
                ]
            }
        ).encode()
    else:
        response._content = b""
    return response


# Every errorId of shared/notes/ebay-api.md §2.2 (createShippingFulfillment),
# §2.4 (tokens) and §6.3 (retry classes).
@pytest.mark.parametrize(
    ("status", "error_id", "expected"),
    [
        (500, 30500, TransientError),
        (400, 30500, TransientError),
        (503, None, TransientError),
        (401, 1001, TokenRejectedError),
        (401, None, TokenRejectedError),
        (429, 2001, RateLimitedError),
        (403, 1100, AuthError),
        (400, 32100, PermanentError),
        (404, 32100, PermanentError),
        (400, 32200, PermanentError),
        (400, 32210, PermanentError),
        (400, 32300, PermanentError),
        (400, 32400, PermanentError),
        (400, 32500, PermanentError),
        (400, 32600, PermanentError),
        (400, 34100, PermanentError),
        (400, 34200, PermanentError),
        (400, 34300, PermanentError),
        # the caller reads the order again (see the 34500 tests above)
        (400, 34500, PermanentError),
        (409, 34500, PermanentError),
    ],
)
def test_every_rest_error_is_classified(status, error_id, expected):
    with pytest.raises(expected) as info:
        raise_for_rest_error(_answer(status, error_id), CREATE_SHIPPING_FULFILLMENT)

    assert type(info.value) is expected
    if error_id is not None:
        assert info.value.code == str(error_id)
        assert f"message {error_id}" in info.value.message
    assert info.value.http_status == status


def test_success_is_not_an_error():
    assert raise_for_rest_error(_answer(201), CREATE_SHIPPING_FULFILLMENT) is None


# -- reading answers (no network) -----------------------------------------------


def test_order_view_reads_lines_and_variations():
    order = {
        "orderId": ORDER,
        "orderFulfillmentStatus": "IN_PROGRESS",
        "cancelStatus": {"cancelState": "NONE_REQUESTED"},
        "lineItems": [
            {
                "lineItemId": "10001",
                "legacyItemId": "110",
                "legacyVariationId": "5001",
                "sku": "SHIRT-RED-M",
                "title": "Shirt",
                "quantity": 2,
                "lineItemFulfillmentStatus": "FULFILLED",
            },
            {"lineItemId": "10002", "legacyItemId": "111", "quantity": 1},
        ],
    }
    fulfillments = [
        {
            "fulfillmentId": "1Z1",
            "shipmentTrackingNumber": "1Z1",
            "shippingCarrierCode": "UPS",
            "shippedDate": "2026-02-11T01:00:00.000Z",
            "lineItems": [
                {"lineItemId": "10001", "quantity": 2},
                {"lineItemId": "10002"},
            ],
        }
    ]

    view = order_view(ORDER, order, fulfillments)

    assert view.lines == [
        base.OrderLine(
            line_item_id="10001",
            item_id="110",
            variation_id="5001",
            sku="SHIRT-RED-M",
            quantity=2,
            title="Shirt",
        ),
        base.OrderLine(line_item_id="10002", item_id="111", quantity=1),
    ]
    (package,) = view.packages
    assert package.items == [("10001", 2), ("10002", 1)]  # quantity "Default: 1"


# -- matching a line across eBay's two id schemes (base.match_order_line) -----------

# The same order as REST reports it (a two-variation shirt and a mug) ...
REST_LINES = [
    base.OrderLine(
        line_item_id="10001", item_id="110", variation_id="5001", sku="SHIRT-RED"
    ),
    base.OrderLine(
        line_item_id="10002", item_id="110", variation_id="5002", sku="SHIRT-BLUE"
    ),
    base.OrderLine(line_item_id="10003", item_id="111", sku="MUG"),
]
# ... and as Trading reports it (no variation id; the SKU of the variation).
TRADING_LINES = [
    base.OrderLine(
        order_line_item_id="110-0", item_id="110", transaction_id="0", sku="SHIRT-RED"
    ),
    base.OrderLine(
        order_line_item_id="110-1", item_id="110", transaction_id="1", sku="SHIRT-BLUE"
    ),
    base.OrderLine(
        order_line_item_id="111-0", item_id="111", transaction_id="0", sku="MUG"
    ),
]


@pytest.mark.parametrize(
    ("lines", "criteria", "expected"),
    [
        # exact ids of the lines' own API
        (REST_LINES, {"line_item_id": "10002"}, "10002"),
        (TRADING_LINES, {"order_line_item_id": "110-1"}, "110-1"),
        # a Trading id against REST lines: its ItemID part, then narrowing
        (REST_LINES, {"order_line_item_id": "111-0"}, "10003"),
        (REST_LINES, {"order_line_item_id": "110-0"}, "ambiguous"),
        (REST_LINES, {"order_line_item_id": "110-0", "sku": "SHIRT-BLUE"}, "10002"),
        (
            REST_LINES,
            {"order_line_item_id": "110-0", "variation_id": "5001"},
            "10001",
        ),
        (
            REST_LINES,
            {"order_line_item_id": "110-0", "variation_id": "5001", "sku": "X"},
            "none",
        ),
        (REST_LINES, {"order_line_item_id": "999-0"}, "none"),
        (REST_LINES, {"order_line_item_id": "110-0", "item_id": "111"}, "none"),
        # REST ids against Trading lines: legacyItemId, then SKU; Trading
        # has no variation id, so that criterion cannot narrow
        (TRADING_LINES, {"line_item_id": "10003", "item_id": "111"}, "111-0"),
        (TRADING_LINES, {"line_item_id": "10001", "item_id": "110"}, "ambiguous"),
        (
            TRADING_LINES,
            {"line_item_id": "10001", "item_id": "110", "variation_id": "5001"},
            "ambiguous",
        ),
        (
            TRADING_LINES,
            {"item_id": "110", "variation_id": "5001", "sku": "SHIRT-RED"},
            "110-0",
        ),
        # a Trading id whose TransactionID is not on the order
        (TRADING_LINES, {"order_line_item_id": "110-7"}, "none"),
        # by SKU alone
        (TRADING_LINES, {"sku": "MUG"}, "111-0"),
        (REST_LINES, {"sku": "NOPE"}, "none"),
        # nothing to go by
        (REST_LINES, {}, "none"),
        ([], {"line_item_id": "10001"}, "none"),
    ],
)
def test_match_order_line(lines, criteria, expected):
    line, reason = base.match_order_line(lines, **criteria)

    if expected in ("none", "ambiguous"):
        assert (line, reason) == (None, expected)
    else:
        assert reason == ""
        assert expected in (line.line_item_id, line.order_line_item_id)


def test_match_order_line_needs_a_criterion_the_lines_report():
    amazon_like = [base.OrderLine(line_item_id="79039765272157", quantity=1)]

    # Amazon reports no SKU here: a SKU alone proves nothing.
    assert base.match_order_line(amazon_like, sku="ABC") == (None, "none")
    assert base.match_order_line(amazon_like, line_item_id="79039765272157") == (
        amazon_like[0],
        "",
    )
