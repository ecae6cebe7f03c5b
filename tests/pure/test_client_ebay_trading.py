"""EbayTradingClient against the local sandbox, over real HTTP, and its
pure request builders and answer readers.

The sandbox's lines have a REST lineItemId (``10001``...) that differs from
their Trading id (``ItemID-TransactionID``, e.g. ``110-0``, KB 1971): the
client must only ever send and report the Trading id."""

import base64
import datetime
import functools
import time

import client_checks
import pytest
import requests
from lxml import etree

from marketplaces import base, http
from marketplaces.ebay_oauth import API_SCOPE
from marketplaces.ebay_trading import (
    NS,
    EbayTradingClient,
    TradingError,
    complete_sale_requests,
    order_shipped_request,
    order_view,
    trading_errors,
    trading_failure,
)
from marketplaces.errors import (
    AuthError,
    PermanentError,
    RateLimitedError,
    TransientError,
)
from marketplaces.http import TokenRejectedError

ORDER = "12-34567-89012"
OTHER_ORDER = "12-34567-89013"
CLIENT_ID, SECRETS = client_checks.EBAY_CLIENT_ID, client_checks.EBAY_SECRETS
E = f"{{{NS}}}"


@pytest.fixture
def make_client(sandbox_client):
    options = client_checks.EBAY_OPTIONS
    return functools.partial(sandbox_client, EbayTradingClient, options)


# (REST lineItemId, ItemID, quantity) of each order's two lines; the
# Trading id of a line is ItemID-TransactionID with TransactionID 0.
LINES = {
    ORDER: (("10001", "110", 1), ("10002", "1101", 2)),
    OTHER_ORDER: (("20001", "120", 1), ("20002", "1201", 2)),
}


@pytest.fixture
def order(sandbox):
    for order_id, lines in LINES.items():
        sandbox.add_ebay_order(
            order_id,
            line_items=[
                {
                    "line_item_id": rest_id,
                    "quantity": quantity,
                    "item_id": item_id,
                    "transaction_id": "0",
                    "sku": f"SKU-{item_id}",
                    "title": f"Widget {item_id}",
                }
                for rest_id, item_id, quantity in lines
            ],
        )
    return sandbox.ebay_order(ORDER)


def trading_ids(order_ref=ORDER):
    return [
        f"{item_id}-0" for _rest, item_id, _qty in LINES.get(order_ref, LINES[ORDER])
    ]


def shipment(
    order_ref=ORDER,
    completes_order=True,
    sole_shipment=True,
    tracking=("1Z999AA10123456784",),
    lines=None,
):
    """Package i holds line i % 2 (its whole quantity), unless ``lines``
    gives each package's [(item_ref, quantity)]."""
    ids = trading_ids(order_ref)
    quantities = [qty for _rest, _item, qty in LINES.get(order_ref, LINES[ORDER])]
    packages = tuple(
        base.Package(
            str(index + 1),
            number,
            tuple(
                base.ShipmentItem(ref, qty)
                for ref, qty in (
                    lines[index] if lines else [(ids[index % 2], quantities[index % 2])]
                )
            ),
        )
        for index, number in enumerate(tracking)
    )
    return base.Shipment(
        order_ref=order_ref,
        carrier_code="UPS",
        carrier_name="UPS",
        shipping_method="UPS Ground",
        ship_date=datetime.datetime(2026, 2, 11, 1, 0, 0),
        packages=packages,
        completes_order=completes_order,
        sole_shipment=sole_shipment,
    )


def xml(request):
    return etree.fromstring(request["xml"].encode())


def children(element):
    return [child.tag.replace(E, "") for child in element]


def outcomes(journal):
    return [(r.api, r.operation, r.outcome, r.error_code) for r in journal]


assert_no_secret = functools.partial(client_checks.assert_no_secret, SECRETS)


# -- accepted ------------------------------------------------------------------


def test_complete_sale_by_order_id(sandbox, client, order, journal):
    # The only delivery, completing the order, one package: eBay may apply
    # the tracking to every line, since every line is in that package.
    sole = shipment()

    result = client.confirm_shipment(sole)

    assert not result.duplicate
    assert client.request_count(sole) == 1
    (token_request,) = sandbox.requests("ebay.token")
    # Only the base scope: a Trading-only consent has no other.
    assert token_request["form"] == {
        "grant_type": "refresh_token",
        "refresh_token": SECRETS[1],
        "scope": API_SCOPE,
    }
    basic = base64.b64encode(f"{CLIENT_ID}:{SECRETS[0]}".encode()).decode()
    assert token_request["headers"]["authorization"] == f"Basic {basic}"
    (request,) = sandbox.requests("ebay.CompleteSale")
    assert request["path"] == "/ws/api.dll"
    headers = request["headers"]
    assert headers["x-ebay-api-call-name"] == "CompleteSale"
    assert headers["x-ebay-api-siteid"] == "0"
    assert headers["x-ebay-api-compatibility-level"] == "1451"
    assert headers["x-ebay-api-iaf-token"]
    assert headers["x-ebay-api-app-name"] == CLIENT_ID
    assert headers["x-ebay-api-dev-name"] == "dev-id-0001"
    # The Cert ID (client secret) only goes to the token endpoint.
    assert "x-ebay-api-cert-name" not in headers
    assert headers["content-type"] == "text/xml"
    assert headers["user-agent"] == http.USER_AGENT
    root = xml(request)
    assert root.tag == f"{E}CompleteSaleRequest"
    # CompleteSaleRequestType sequence (ebay-api.md §1.2).
    assert children(root) == [
        "ErrorLanguage",
        "WarningLevel",
        "Shipped",
        "Shipment",
        "OrderID",
    ]
    assert root.findtext(f"{E}Shipped") == "true"
    assert root.findtext(f"{E}OrderID") == ORDER
    shipment_element = root.find(f"{E}Shipment")
    assert children(shipment_element) == ["ShippedTime", "ShipmentTrackingDetails"]
    assert shipment_element.findtext(f"{E}ShippedTime") == "2026-02-11T01:00:00.000Z"
    (details,) = shipment_element.findall(f"{E}ShipmentTrackingDetails")
    assert children(details) == ["ShippingCarrierUsed", "ShipmentTrackingNumber"]
    assert details.findtext(f"{E}ShipmentTrackingNumber") == "1Z999AA10123456784"
    assert details.findtext(f"{E}ShippingCarrierUsed") == "UPS"
    assert outcomes(journal) == [
        (base.API_EBAY_TRADING, "token", "success", ""),
        (base.API_EBAY_TRADING, "CompleteSale", "success", ""),
    ]
    assert journal[1].order_ref == ORDER
    assert journal[0].access_token_expires_at is not None
    assert_no_secret(journal)


def test_split_order_tracks_each_line_then_marks_the_order_shipped(
    sandbox, client, order
):
    two_packages = shipment(tracking=("1Z999AA10123456784", "1Z999AA10123456785"))

    result = client.confirm_shipment(two_packages)

    assert not result.duplicate
    assert client.request_count(two_packages) == 3
    first, second, last = (xml(r) for r in sandbox.requests("ebay.CompleteSale"))
    assert [
        first.findtext(f"{E}OrderLineItemID"),
        second.findtext(f"{E}OrderLineItemID"),
    ] == [
        "110-0",
        "1101-0",
    ]
    assert children(first)[-1] == "OrderLineItemID"
    assert first.find(f"{E}OrderID") is None
    numbers = [
        [n.text for n in root.iter(f"{E}ShipmentTrackingNumber")]
        for root in (first, second)
    ]
    assert numbers == [["1Z999AA10123456784"], ["1Z999AA10123456785"]]
    # Then the order itself is marked shipped, with no tracking to spread.
    assert children(last) == [
        "ErrorLanguage",
        "WarningLevel",
        "Shipped",
        "Shipment",
        "OrderID",
    ]
    assert last.findtext(f"{E}OrderID") == ORDER
    assert children(last.find(f"{E}Shipment")) == ["ShippedTime"]

    view = client.read_order(ORDER)

    assert view.shipped_time.startswith("2026-02-11T01:00:00")
    assert sorted((p.tracking_number, p.items) for p in view.packages) == [
        ("1Z999AA10123456784", [("110-0", 1)]),
        ("1Z999AA10123456785", [("1101-0", 2)]),
    ]


def test_last_of_several_deliveries_completes_the_order(sandbox, client, order):
    earlier = shipment(
        completes_order=False, sole_shipment=False, lines=[[("110-0", 1)]]
    )
    last = shipment(
        sole_shipment=False,
        tracking=("1Z999AA10123456785",),
        lines=[[("1101-0", 2)]],
    )

    client.confirm_shipment(earlier)
    client.confirm_shipment(last)

    sent = [xml(r) for r in sandbox.requests("ebay.CompleteSale")]
    assert [
        (root.findtext(f"{E}OrderLineItemID"), root.findtext(f"{E}OrderID"))
        for root in sent
    ] == [("110-0", None), ("1101-0", None), (None, ORDER)]
    assert [client.request_count(s) for s in (earlier, last)] == [1, 2]
    view = client.read_order(ORDER)
    assert view.shipped_time
    assert sorted((p.tracking_number, p.items) for p in view.packages) == [
        ("1Z999AA10123456784", [("110-0", 1)]),
        ("1Z999AA10123456785", [("1101-0", 2)]),
    ]


def test_complete_sale_per_line_item(sandbox, client, order):
    partial = shipment(
        completes_order=False,
        sole_shipment=False,
        tracking=("1Z999AA10123456784", "1Z999AA10123456785"),
    )

    client.confirm_shipment(partial)

    first, second = (xml(r) for r in sandbox.requests("ebay.CompleteSale"))
    assert first.findtext(f"{E}OrderLineItemID") == "110-0"
    assert second.findtext(f"{E}OrderLineItemID") == "1101-0"
    assert first.find(f"{E}OrderID") is None
    assert children(first)[-1] == "OrderLineItemID"
    # Each call carries the packages that hold its line.
    numbers = [
        [n.text for n in root.iter(f"{E}ShipmentTrackingNumber")]
        for root in (first, second)
    ]
    assert numbers == [["1Z999AA10123456784"], ["1Z999AA10123456785"]]
    assert not client.read_order(ORDER).shipped_time  # the order is not done


def test_a_package_with_two_lines_goes_to_both(sandbox, client, order):
    mixed = shipment(
        completes_order=False,
        sole_shipment=False,
        tracking=("1Z999AA10123456784", "1Z999AA10123456785"),
        lines=[[("110-0", 1), ("1101-0", 1)], [("1101-0", 1)]],
    )

    client.confirm_shipment(mixed)

    first, second = (xml(r) for r in sandbox.requests("ebay.CompleteSale"))
    assert [
        [n.text for n in root.iter(f"{E}ShipmentTrackingNumber")]
        for root in (first, second)
    ] == [["1Z999AA10123456784"], ["1Z999AA10123456784", "1Z999AA10123456785"]]


@pytest.mark.parametrize("ref", ["10001", "110", "110-0-1", "ABC-0", ""])
def test_only_trading_line_ids_are_sent(sandbox, client, order, ref):
    rest_line = shipment(sole_shipment=False, lines=[[(ref, 1)]])

    with pytest.raises(PermanentError, match="ItemID-TransactionID"):
        client.confirm_shipment(rest_line)

    assert sandbox.requests() == []


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, 1),  # sole, completing, one package: by OrderID
        ({"tracking": ("1Z1", "1Z2")}, 3),  # two lines, then the order
        ({"sole_shipment": False}, 2),  # one line, then the order
        ({"completes_order": False, "sole_shipment": False}, 1),
        ({"completes_order": False, "tracking": ("1Z1", "1Z2")}, 2),
        ({"lines": [[("110-0", 1), ("1101-0", 2)]], "sole_shipment": False}, 3),
    ],
)
def test_request_count(make_client, options, expected):
    planned = shipment(**options)

    assert make_client().request_count(planned) == expected
    assert len(complete_sale_requests(planned)) == expected


def test_order_shipped_request_carries_no_tracking():
    root = order_shipped_request(shipment())

    assert children(root) == [
        "ErrorLanguage",
        "WarningLevel",
        "Shipped",
        "Shipment",
        "OrderID",
    ]
    assert root.findtext(f"{E}Shipped") == "true"
    assert children(root.find(f"{E}Shipment")) == ["ShippedTime"]
    assert root.find(f".//{E}ShipmentTrackingNumber") is None


def test_token_is_cached_between_calls(sandbox, client, order):
    client.confirm_shipment(shipment())
    client.read_order(ORDER)

    assert len(sandbox.requests("ebay.token")) == 1


# -- read_order ----------------------------------------------------------------


def test_read_order_before_and_after_shipping(sandbox, client, order, journal):
    before = client.read_order(ORDER)

    assert (before.status, before.checkout_status) == ("Completed", "Complete")
    assert before.status_label == "Checkout Complete"
    assert before.packages == []
    assert not before.shipped_time
    # Trading reports no REST lineItemId and no variation id.
    assert before.lines == [
        base.OrderLine(
            order_line_item_id="110-0",
            item_id="110",
            transaction_id="0",
            sku="SKU-110",
            quantity=1,
            title="Widget 110",
        ),
        base.OrderLine(
            order_line_item_id="1101-0",
            item_id="1101",
            transaction_id="0",
            sku="SKU-1101",
            quantity=2,
            title="Widget 1101",
        ),
    ]
    (request,) = sandbox.requests("ebay.GetOrders")
    root = xml(request)
    assert children(root) == ["ErrorLanguage", "WarningLevel", "OrderIDArray"]
    assert [e.text for e in root.iter(f"{E}OrderID")] == [ORDER]
    assert request["headers"]["x-ebay-api-call-name"] == "GetOrders"

    client.confirm_shipment(shipment(tracking=("1Z999AA10123456784",)))
    after = client.read_order(ORDER)

    assert after.shipped_time.startswith("2026-02-11T01:00:00")
    # Tracking sent by OrderID is on the order and on every Transaction:
    # one package, on every line (ItemID-TransactionID, QuantityPurchased).
    (package,) = after.packages
    assert package.carrier == "UPS"
    assert package.tracking_number == "1Z999AA10123456784"
    assert sorted(package.items) == [("110-0", 1), ("1101-0", 2)]
    assert after.has_tracking("1z 999 aa1 0123456784")
    assert {r.operation for r in journal} == {"token", "GetOrders", "CompleteSale"}
    assert {r.api for r in journal} == {base.API_EBAY_TRADING}


def test_read_cancelled_order(sandbox, client):
    sandbox.add_ebay_order(
        ORDER,
        line_items=[
            {
                "line_item_id": "1-0",
                "quantity": 1,
                "item_id": "1",
                "transaction_id": "0",
            }
        ],
        cancel_state="CANCELED",
    )

    view = client.read_order(ORDER)

    assert view.cancelled
    assert (view.status, view.status_label) == ("Cancelled", "Cancelled")


def test_read_unknown_order_is_permanent(client, journal):
    with pytest.raises(PermanentError, match="order not found"):
        client.read_order("99-99999-99999")

    assert journal[-1].outcome == "permanent"


# -- permanent and duplicate ------------------------------------------------------


def test_request_error_is_permanent_with_long_message(sandbox, client, journal):
    with pytest.raises(PermanentError) as info:
        client.confirm_shipment(shipment(order_ref="99-99999-99999"))

    assert info.value.code == "37"
    assert str(info.value).endswith("(37)")
    assert "CompleteSaleRequest.OrderID" in info.value.message
    assert outcomes(journal)[-1] == (
        base.API_EBAY_TRADING,
        "CompleteSale",
        "permanent",
        "37",
    )


def test_tracking_number_of_another_order_is_refused(sandbox, client, order, journal):
    client.confirm_shipment(shipment(order_ref=OTHER_ORDER))

    # KB 5021: the number belongs to another buyer's (or seller's) order.
    with pytest.raises(PermanentError) as info:
        client.confirm_shipment(shipment(order_ref=ORDER))

    assert info.value.code == "21916964"
    assert "another buyer or another seller" in info.value.message
    assert "already" in info.value.message  # eBay's own message comes first
    assert outcomes(journal)[-1] == (
        base.API_EBAY_TRADING,
        "CompleteSale",
        "permanent",
        "21916964",
    )
    assert client.read_order(ORDER).packages == []


def test_injected_duplicate_error_code(sandbox, client, order):
    sandbox.inject_fault(
        "ebay.CompleteSale",
        trading_error={
            "code": "21919089",
            "long": "Tracking already uploaded.",
            "classification": "RequestError",
        },
    )

    assert client.confirm_shipment(shipment()).duplicate


# -- transient -----------------------------------------------------------------


def test_system_error_is_transient(sandbox, client, order, journal):
    sandbox.inject_fault(
        "ebay.CompleteSale",
        trading_error={"code": "10007", "classification": "SystemError"},
    )

    with pytest.raises(TransientError) as info:
        client.confirm_shipment(shipment())

    assert info.value.code == "10007"
    assert outcomes(journal)[-1][2:] == ("transient", "10007")


def test_http_503_is_transient(sandbox, client, order, journal):
    sandbox.inject_fault("ebay.CompleteSale", status=503)

    with pytest.raises(TransientError) as info:
        client.confirm_shipment(shipment())

    assert info.value.http_status == 503
    assert journal[-1].http_status == 503


def test_dropped_connection_is_transient(sandbox, client, order):
    sandbox.inject_fault("ebay.CompleteSale", drop=True)

    with pytest.raises(TransientError, match="Could not reach eBay"):
        client.confirm_shipment(shipment())


def test_malformed_xml_is_transient(sandbox, client, order, journal):
    sandbox.inject_fault("ebay.GetOrders", malformed=True)

    with pytest.raises(TransientError) as info:
        client.read_order(ORDER)

    assert info.value.code == "malformed"
    assert journal[-1].outcome == "transient"


def test_slow_answer_times_out(sandbox, make_client, order):
    make_client().read_order(ORDER)  # the token, at the default timeout
    client = make_client(timeout=0.5)
    sandbox.inject_fault("ebay.CompleteSale", delay=3.0)

    start = time.monotonic()
    with pytest.raises(TransientError) as info:
        client.confirm_shipment(shipment())

    assert time.monotonic() - start < 2.5
    assert info.value.code == "timeout"


# -- rate limited --------------------------------------------------------------


def test_call_usage_limit_is_rate_limited(sandbox, client, order, journal):
    sandbox.inject_fault(
        "ebay.CompleteSale",
        trading_error={
            "code": "518",
            "long": "Call usage limit has been reached.",
            "classification": "RequestError",
        },
    )

    with pytest.raises(RateLimitedError):
        client.confirm_shipment(shipment())

    assert outcomes(journal)[-1][2:] == ("rate_limited", "518")


def test_http_429_with_retry_after(sandbox, client, order):
    sandbox.inject_fault("ebay.CompleteSale", status=429, headers={"Retry-After": "30"})

    with pytest.raises(RateLimitedError) as info:
        client.confirm_shipment(shipment())

    assert info.value.retry_after == 30.0


# -- auth ----------------------------------------------------------------------


def test_expired_iaf_token_is_refreshed_once(sandbox, client, order, journal):
    client.read_order(ORDER)
    sandbox.expire_access_tokens()

    client.confirm_shipment(shipment())

    assert outcomes(journal) == [
        (base.API_EBAY_TRADING, "token", "success", ""),
        (base.API_EBAY_TRADING, "GetOrders", "success", ""),
        (base.API_EBAY_TRADING, "CompleteSale", "auth", "21917053"),
        (base.API_EBAY_TRADING, "token", "success", ""),
        (base.API_EBAY_TRADING, "CompleteSale", "success", ""),
    ]
    assert len(journal) == len(sandbox.requests())  # one record per exchange
    assert_no_secret(journal)


def test_invalid_iaf_token_twice_raises_auth_error(sandbox, client, order, journal):
    sandbox.inject_fault(
        "ebay.CompleteSale",
        times=2,
        trading_error={
            "code": "21916984",
            "long": "IAF token supplied is invalid.",
            "classification": "RequestError",
        },
    )

    with pytest.raises(AuthError) as info:
        client.confirm_shipment(shipment())

    assert info.value.code == "21916984"
    assert [r.operation for r in journal] == [
        "token",
        "CompleteSale",
        "token",
        "CompleteSale",
    ]
    assert_no_secret(journal, info.value)


def test_hard_expired_token_needs_reconsent_at_once(sandbox, client, order, journal):
    sandbox.inject_fault(
        "ebay.CompleteSale",
        trading_error={
            "code": "932",
            "long": "Auth token is hard expired.",
            "classification": "RequestError",
        },
    )

    with pytest.raises(AuthError, match="re-authorize") as info:
        client.confirm_shipment(shipment())

    assert info.value.code == "932"
    assert len(sandbox.requests("ebay.token")) == 1  # no pointless refresh


def test_revoked_refresh_token(sandbox, client, order, journal):
    sandbox.revoke_refresh_token(SECRETS[1])

    with pytest.raises(AuthError) as info:
        client.confirm_shipment(shipment())

    assert info.value.code == "invalid_grant"
    assert outcomes(journal) == [
        (base.API_EBAY_TRADING, "token", "auth", "invalid_grant"),
    ]
    assert sandbox.requests("ebay.CompleteSale") == []
    assert_no_secret(journal, info.value)


# -- probe and configuration -------------------------------------------------------


def test_probe_reads_one_order_of_the_last_day(sandbox, client, journal):
    client.probe()

    (request,) = sandbox.requests("ebay.GetOrders")
    root = xml(request)
    assert children(root) == [
        "ErrorLanguage",
        "WarningLevel",
        "Pagination",
        "NumberOfDays",
    ]
    assert root.findtext(f"{E}NumberOfDays") == "1"
    assert root.findtext(f"{E}Pagination/{E}EntriesPerPage") == "1"
    assert outcomes(journal)[-1] == (base.API_EBAY_TRADING, "GetOrders", "success", "")


def test_site_id_header_is_numeric(sandbox, make_client, order):
    make_client(site_id="77").read_order(ORDER)

    (request,) = sandbox.requests("ebay.GetOrders")
    assert request["headers"]["x-ebay-api-siteid"] == "77"


def test_default_endpoints():
    client = EbayTradingClient(
        client_id="c",
        client_secret="s",
        dev_id="d",
        refresh_token="r",
        environment="sandbox",
    )

    assert client.endpoint == "https://api.sandbox.ebay.com/ws/api.dll"
    assert client.token_url == "https://api.sandbox.ebay.com/identity/v1/oauth2/token"


def test_plain_http_to_a_remote_host_is_refused():
    with pytest.raises(ValueError):
        EbayTradingClient(
            client_id="c",
            client_secret="s",
            dev_id="d",
            refresh_token="r",
            api_base_url="http://api.ebay.com",
        )


# -- error classification (no network) -------------------------------------------


def _error(code, classification="RequestError", severity="Error"):
    return TradingError(code, severity, classification, "short", f"long {code}")


# Every Trading code of shared/notes/ebay-api.md §1.3 and §6.3.
@pytest.mark.parametrize(
    ("code", "classification", "expected"),
    [
        # transient: "eBay is unreachable" codes, and any SystemError
        ("10007", "RequestError", TransientError),
        ("21916803", "RequestError", TransientError),
        ("10007", "SystemError", TransientError),
        ("12345", "SystemError", TransientError),
        # the token: fetch a fresh one and retry once
        ("930", "RequestError", TokenRejectedError),
        ("931", "RequestError", TokenRejectedError),
        ("21916984", "RequestError", TokenRejectedError),
        ("21917053", "RequestError", TokenRejectedError),
        # the consent: the seller must authorize again
        ("932", "RequestError", AuthError),
        # call usage limit
        ("518", "RequestError", RateLimitedError),
        # refusals
        ("21916964", "RequestError", PermanentError),
        ("2", "RequestError", PermanentError),
        ("10012", "RequestError", PermanentError),
        ("37", "RequestError", PermanentError),
        # tracking already uploaded (combined order): accepted
        ("21919089", "RequestError", None),
    ],
)
def test_every_trading_code_is_classified(code, classification, expected):
    failure = trading_failure([_error(code, classification)])

    if expected is None:
        assert failure is None
    else:
        assert type(failure) is expected
        assert failure.code == code


def test_tracking_in_use_keeps_ebays_message():
    failure = trading_failure([_error("21916964")])

    assert failure.message.startswith("long 21916964 ")
    assert "another buyer or another seller" in failure.message
    assert str(failure).endswith("(21916964)")


@pytest.mark.parametrize(
    ("errors", "expected"),
    [
        ([_error("932"), _error("21917053")], AuthError),
        ([_error("37"), _error("21917053")], TokenRejectedError),
        ([_error("37"), _error("518")], RateLimitedError),
        ([_error("37"), _error("123", "SystemError")], TransientError),
        ([_error("21916964"), _error("37")], PermanentError),
        ([_error("21916964"), _error("37", severity="Warning")], PermanentError),
        ([_error("21919089"), _error("37", severity="Warning")], None),
        ([_error("21919089"), _error("21916964")], PermanentError),
        ([], PermanentError),
    ],
)
def test_failure_precedence(errors, expected):
    failure = trading_failure(errors)

    if expected is None:
        assert failure is None
    else:
        assert type(failure) is expected


def test_permanent_failure_lists_every_error():
    failure = trading_failure([_error("37"), _error("21919089"), _error("10012")])

    assert str(failure) == "long 37; long 10012 (37,10012)"


# -- reading GetOrders answers (no network) ------------------------------------


def _get_orders_answer(order_xml):
    return etree.fromstring(
        f'<GetOrdersResponse xmlns="{NS}"><Ack>Success</Ack>'
        f"<OrderArray>{order_xml}</OrderArray></GetOrdersResponse>".encode()
    )


def test_order_view_reads_variations_and_trading_line_ids():
    # TransactionType: Item/ItemID, Item/SKU, Item/Title, QuantityPurchased,
    # TransactionID, Variation/SKU, OrderLineItemID.
    root = _get_orders_answer(
        "<Order><OrderID>12-34567-89012</OrderID>"
        "<OrderStatus>Completed</OrderStatus>"
        "<ShippingDetails><ShipmentTrackingDetails>"
        "<ShippingCarrierUsed>UPS</ShippingCarrierUsed>"
        "<ShipmentTrackingNumber>1Z1</ShipmentTrackingNumber>"
        "</ShipmentTrackingDetails></ShippingDetails>"
        "<TransactionArray>"
        "<Transaction><ShippingDetails><ShipmentTrackingDetails>"
        "<ShippingCarrierUsed>UPS</ShippingCarrierUsed>"
        "<ShipmentTrackingNumber>1Z1</ShipmentTrackingNumber>"
        "</ShipmentTrackingDetails></ShippingDetails>"
        "<Item><ItemID>110</ItemID><SKU>LISTING</SKU><Title>Shirt</Title></Item>"
        "<QuantityPurchased>2</QuantityPurchased><TransactionID>0</TransactionID>"
        "<Variation><SKU>SHIRT-RED-M</SKU></Variation>"
        "<OrderLineItemID>110-0</OrderLineItemID></Transaction>"
        "<Transaction><ShippingDetails><ShipmentTrackingDetails>"
        "<ShippingCarrierUsed>UPS</ShippingCarrierUsed>"
        "<ShipmentTrackingNumber>1Z1</ShipmentTrackingNumber>"
        "</ShipmentTrackingDetails></ShippingDetails>"
        "<Item><ItemID>111</ItemID><SKU>MUG</SKU><Title>Mug</Title></Item>"
        "<QuantityPurchased>1</QuantityPurchased><TransactionID>7</TransactionID>"
        "<OrderLineItemID>111-7</OrderLineItemID></Transaction>"
        "</TransactionArray></Order>"
    )

    view = order_view("12-34567-89012", root)

    assert [
        (line.order_line_item_id, line.sku, line.quantity) for line in view.lines
    ] == [
        ("110-0", "SHIRT-RED-M", 2),
        ("111-7", "MUG", 1),
    ]
    assert view.lines[0].variation_id == "" and view.lines[0].line_item_id == ""
    (package,) = view.packages  # order-level tracking, on every Transaction
    assert package.items == [("110-0", 2), ("111-7", 1)]


# -- every token error the sandbox produces, over real HTTP ----------------------


@pytest.mark.parametrize("code", ["930", "931"])
def test_930_and_931_refresh_the_token_once_over_http(
    sandbox, client, order, journal, code
):
    """README, Outcomes: 930/931 are not counted; one token refresh, then
    the call again."""
    sandbox.inject_fault(
        "ebay.CompleteSale",
        trading_error={
            "code": code,
            "long": "Validation of the authentication token in API request failed.",
            "classification": "RequestError",
        },
    )

    result = client.confirm_shipment(shipment())

    assert not result.duplicate
    assert [r.operation for r in journal] == [
        "token",
        "CompleteSale",
        "token",
        "CompleteSale",
    ]
    assert journal[1].outcome == "auth" and journal[1].error_code == code
    assert journal[3].outcome == "success"


@pytest.mark.parametrize("code", ["930", "931"])
def test_930_and_931_twice_flag_the_account(sandbox, client, order, journal, code):
    sandbox.inject_fault(
        "ebay.CompleteSale",
        times=2,
        trading_error={"code": code, "classification": "RequestError"},
    )

    with pytest.raises(AuthError) as info:
        client.confirm_shipment(shipment())

    assert info.value.code == code
    assert len(sandbox.requests("ebay.token")) == 2  # refreshed once, not more
    assert_no_secret(journal, info.value)


def test_auth_n_auth_token_is_answered_931_by_the_sandbox(sandbox):
    """What the sandbox answers a Trading call without an IAF token (the
    source of the 930/931 the client must refresh for)."""
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<GetOrdersRequest xmlns="{NS}"><RequesterCredentials>'
        "<eBayAuthToken>AgAAAA**</eBayAuthToken></RequesterCredentials>"
        "</GetOrdersRequest>"
    )
    headers = {
        "X-EBAY-API-CALL-NAME": "GetOrders",
        "X-EBAY-API-SITEID": "0",
        "X-EBAY-API-COMPATIBILITY-LEVEL": "1451",
        "Content-Type": "text/xml",
    }
    answer = requests.post(f"{sandbox.url}/ws/api.dll", data=body, headers=headers)
    assert [e.code for e in trading_failure_errors(answer.content)] == ["931"]
    failure = trading_failure(trading_failure_errors(answer.content))
    assert type(failure) is TokenRejectedError
    answer = requests.post(
        f"{sandbox.url}/ws/api.dll",
        data=body.replace("<eBayAuthToken>AgAAAA**</eBayAuthToken>", ""),
        headers=headers,
    )
    failure = trading_failure(trading_failure_errors(answer.content))
    assert (type(failure), failure.code) == (TokenRejectedError, "930")


def trading_failure_errors(content):
    return trading_errors(etree.fromstring(content))


def test_client_without_secret_is_invalid_client_over_http(make_client, order, journal):
    with make_client(client_secret="") as client, pytest.raises(AuthError) as info:
        client.confirm_shipment(shipment())

    assert info.value.code == "invalid_client"
    assert [r.operation for r in journal] == ["token"]
    assert journal[0].http_status == 401


def test_part_shipped_line_sends_the_units_of_each_package(sandbox, client, order):
    """Line 1101-0 bought 2; this delivery ships 1 of them: its package's
    ShipmentTrackingDetails names the line and the unit it holds
    (ShipmentLineItem > LineItem: Quantity, ItemID, TransactionID in
    LineItemType order), and eBay is read back holding exactly 1."""
    part = shipment(completes_order=False, sole_shipment=False, lines=[[("1101-0", 1)]])

    [request] = complete_sale_requests(part)

    details = request.find(f"{E}Shipment/{E}ShipmentTrackingDetails")
    assert children(details) == [
        "ShippingCarrierUsed",
        "ShipmentTrackingNumber",
        "ShipmentLineItem",
    ]
    [line_item] = details.findall(f"{E}ShipmentLineItem/{E}LineItem")
    assert [(c.tag.replace(E, ""), c.text) for c in line_item] == [
        ("Quantity", "1"),
        ("ItemID", "1101"),
        ("TransactionID", "0"),
    ]

    client.confirm_shipment(part)

    [sent] = (xml(r) for r in sandbox.requests("ebay.CompleteSale"))
    assert (
        sent.findtext(
            f"{E}Shipment/{E}ShipmentTrackingDetails/{E}ShipmentLineItem/{E}LineItem/"
            f"{E}Quantity"
        )
        == "1"
    )
    [package] = client.read_order(ORDER).packages
    assert package.items == [("1101-0", 1)]


def test_the_units_of_a_line_add_up_over_its_packages():
    """A line whose units travel in two packages of one delivery: each
    package names its own units; a request by OrderID names none (eBay
    applies it to the order as a whole)."""
    split = shipment(
        completes_order=False,
        sole_shipment=False,
        tracking=("1Z999AA10123456784", "1Z999AA10123456785"),
        lines=[[("1101-0", 1), ("110-0", 1)], [("1101-0", 1)]],
    )
    by_1101, by_110 = complete_sale_requests(split)
    assert by_1101.findtext(f"{E}OrderLineItemID") == "1101-0"
    assert [
        d.findtext(f"{E}ShipmentLineItem/{E}LineItem/{E}Quantity")
        for d in by_1101.iter(f"{E}ShipmentTrackingDetails")
    ] == ["1", "1"]
    assert [
        d.findtext(f"{E}ShipmentLineItem/{E}LineItem/{E}ItemID")
        for d in by_110.iter(f"{E}ShipmentTrackingDetails")
    ] == ["110"]
    [whole] = complete_sale_requests(shipment())
    assert whole.find(f".//{E}ShipmentLineItem") is None
