"""AmazonClient against the local sandbox, over real HTTP."""

import dataclasses
import datetime
import functools
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import client_checks
import pytest

from marketplaces import base, http, pacer
from marketplaces.amazon import (
    MARKETPLACE_REGIONS,
    AmazonClient,
    order_view,
    region_for_marketplace,
)
from marketplaces.errors import (
    AuthError,
    PermanentError,
    RateLimitedError,
    TransientError,
)

ORDER = "902-1106328-1059050"
MARKETPLACE = "ATVPDKIKX0DER"
ASIN = "B07N4M94X4"
SECRETS = ("amzn-client-secret", "Atzr|refresh-token-secret")


@pytest.fixture
def make_client(sandbox, sandbox_client):
    options = {
        "client_id": "amzn1.application-oa2-client.test",
        "client_secret": SECRETS[0],
        "refresh_token": SECRETS[1],
        "marketplace_id": MARKETPLACE,
        "auth_url": sandbox.url + "/auth/o2/token",
    }
    return functools.partial(sandbox_client, AmazonClient, options)


@pytest.fixture
def order(sandbox):
    return sandbox.add_amazon_order(
        ORDER,
        marketplace_id=MARKETPLACE,
        items=[
            {"order_item_id": "79039765272157", "quantity": 2, "asin": ASIN},
            {"order_item_id": "79039765272158", "quantity": 1, "asin": "B0000000X2"},
        ],
    )


def shipment(*packages, carrier_code="FedEx", carrier_name="FedEx"):
    return base.Shipment(
        order_ref=ORDER,
        carrier_code=carrier_code,
        carrier_name=carrier_name,
        shipping_method="FedEx Ground",
        ship_date=datetime.datetime(2026, 2, 11, 1, 0, 0),
        packages=packages
        or (
            base.Package(
                "1",
                "112345678",
                (base.ShipmentItem("79039765272157", 2),),
            ),
        ),
    )


def outcomes(journal):
    return [(r.api, r.operation, r.outcome, r.http_status) for r in journal]


assert_no_secret = functools.partial(client_checks.assert_no_secret, SECRETS)


# -- accepted ------------------------------------------------------------------


def test_confirm_shipment_sends_the_contract_request(sandbox, client, order, journal):
    two_packages = shipment(
        base.Package("1", "1Z001", (base.ShipmentItem("79039765272157", 2),)),
        base.Package("2", "1Z002", (base.ShipmentItem("79039765272158", 1),)),
    )

    result = client.confirm_shipment(two_packages)

    assert isinstance(result, base.ConfirmResult)
    assert not result.duplicate
    (token_request,) = sandbox.requests("amazon.token")
    assert token_request["form"] == {
        "grant_type": "refresh_token",
        "refresh_token": SECRETS[1],
        "client_id": "amzn1.application-oa2-client.test",
        "client_secret": SECRETS[0],
    }
    first, second = sandbox.requests("amazon.confirmShipment")
    assert first["method"] == "POST"
    assert first["path"] == f"/orders/v0/orders/{ORDER}/shipmentConfirmation"
    assert first["json"] == {
        "marketplaceId": MARKETPLACE,
        "packageDetail": {
            "packageReferenceId": "1",  # a string, never a number
            "carrierCode": "FedEx",
            "carrierName": "FedEx",
            "shippingMethod": "FedEx Ground",
            "trackingNumber": "1Z001",
            "shipDate": "2026-02-11T01:00:00.000Z",
            "orderItems": [{"orderItemId": "79039765272157", "quantity": 2}],
        },
    }
    assert second["json"]["packageDetail"]["packageReferenceId"] == "2"
    headers = first["headers"]
    assert headers["x-amz-access-token"]
    assert headers["user-agent"] == http.USER_AGENT
    assert headers["content-type"] == "application/json"
    assert "authorization" not in headers  # LWA token only, no SigV4
    assert [r["status"] for r in sandbox.requests()] == [200, 204, 204]
    assert len(journal) == 3  # one record per exchange
    assert outcomes(journal) == [
        (base.API_AMAZON_WRITEBACK, "token", "success", 200),
        (base.API_AMAZON_WRITEBACK, "confirmShipment", "success", 204),
        (base.API_AMAZON_WRITEBACK, "confirmShipment", "success", 204),
    ]
    token_record, confirm_record = journal[0], journal[1]
    assert token_record.access_token_expires_at > datetime.datetime.now(
        datetime.UTC
    ).replace(tzinfo=None)
    assert confirm_record.order_ref == ORDER
    assert confirm_record.rate_limit == 2.0  # x-amzn-RateLimit-Limit
    assert confirm_record.started_at.tzinfo is None
    assert confirm_record.duration_ms >= 0
    assert_no_secret(journal)


def test_carrier_other_sends_the_carrier_name(sandbox, client, order):
    client.confirm_shipment(shipment(carrier_code="Other", carrier_name="Chronopost"))

    (request,) = sandbox.requests("amazon.confirmShipment")
    assert request["json"]["packageDetail"]["carrierCode"] == "Other"
    assert request["json"]["packageDetail"]["carrierName"] == "Chronopost"


def test_invalid_package_data_is_refused_before_any_call(sandbox, client, order):
    bad = shipment(base.Package("A1", "1Z", (base.ShipmentItem("7903", 1),)))

    with pytest.raises(PermanentError, match="positive number"):
        client.confirm_shipment(bad)
    with pytest.raises(PermanentError, match="carrier name"):
        client.confirm_shipment(shipment(carrier_code="Other", carrier_name=""))
    assert sandbox.requests() == []


def test_request_count_is_one_per_package(client):
    two_packages = shipment(
        base.Package("1", "1Z001", (base.ShipmentItem("79039765272157", 2),)),
        base.Package("2", "1Z002", (base.ShipmentItem("79039765272158", 1),)),
    )

    assert client.request_count(two_packages) == 2
    assert client.request_count(shipment()) == 1


def test_token_is_cached_between_calls(sandbox, client, order, journal):
    client.confirm_shipment(shipment())
    client.read_order(ORDER)

    assert len(sandbox.requests("amazon.token")) == 1
    assert [r.operation for r in journal] == ["token", "confirmShipment", "getOrder"]


def test_two_clients_of_one_account_share_the_token(sandbox, make_client, order):
    make_client().read_order(ORDER)
    make_client().read_order(ORDER)

    assert len(sandbox.requests("amazon.token")) == 1


# -- read_order ----------------------------------------------------------------


def test_read_order_after_confirmation(sandbox, client, order, journal):
    client.confirm_shipment(shipment())

    view = client.read_order(ORDER)

    (request,) = sandbox.requests("amazon.getOrder")
    assert request["path"] == f"/orders/2026-01-01/orders/{ORDER}"
    assert request["query"] == {"includedData": ["FULFILLMENT,PACKAGES"]}
    assert view.order_ref == ORDER
    assert (view.status, view.status_label) == (
        "PARTIALLY_SHIPPED",
        "Partially shipped",
    )
    assert not view.cancelled
    assert view.shipped_time.startswith("2026-02-11T01:00:00")
    (package,) = view.packages
    assert package == base.PackageView(
        package_ref="1",
        carrier="FedEx",
        tracking_number="112345678",
        ship_time=view.shipped_time,
        status="SHIPPED",
        items=[("79039765272157", 2)],
    )
    assert view.has_tracking("1123-45678")
    # getOrder 2026-01-01 always includes the items (Order.orderItems).
    assert view.lines == [
        base.OrderLine(line_item_id="79039765272157", quantity=2),
        base.OrderLine(line_item_id="79039765272158", quantity=1),
    ]
    assert journal[-1].api == base.API_AMAZON_ORDERS
    assert journal[-1].operation == "getOrder"


def test_read_order_statuses(sandbox, client, order):
    assert client.read_order(ORDER).status_label == "Unshipped"
    sandbox.add_amazon_order(
        "902-0000000-0000001",
        items=[{"order_item_id": "1", "quantity": 1}],
        status="CANCELLED",
    )

    view = client.read_order("902-0000000-0000001")

    assert (view.status, view.status_label, view.cancelled) == (
        "CANCELLED",
        "Canceled",
        True,
    )


def test_read_unknown_order_is_permanent(client, journal):
    with pytest.raises(PermanentError, match="order not found") as info:
        client.read_order("902-9999999-9999999")

    assert info.value.http_status == 404
    assert outcomes(journal)[-1] == (
        base.API_AMAZON_ORDERS,
        "getOrder",
        "permanent",
        404,
    )


# -- permanent -----------------------------------------------------------------


def test_invalid_input_keeps_amazons_message(sandbox, client, order, journal):
    unknown_item = shipment(base.Package("1", "1Z", (base.ShipmentItem("123", 1),)))

    with pytest.raises(PermanentError) as info:
        client.confirm_shipment(unknown_item)

    assert info.value.code == "InvalidInput"
    assert info.value.http_status == 400
    assert "OrderItemId is invalid" in info.value.message
    record = journal[-1]
    assert (record.outcome, record.error_code) == ("permanent", "InvalidInput")
    assert "OrderItemId is invalid" in record.error_message


def test_injected_400_is_permanent(sandbox, client, order):
    sandbox.inject_fault(
        "amazon.confirmShipment",
        status=400,
        body={"errors": [{"code": "InvalidInput", "message": "Bad carrier."}]},
    )

    with pytest.raises(PermanentError, match=r"^Bad carrier\. \(InvalidInput\)$"):
        client.confirm_shipment(shipment())


# -- transient -----------------------------------------------------------------


def test_503_is_transient(sandbox, client, order, journal):
    sandbox.inject_fault("amazon.confirmShipment", status=503)

    with pytest.raises(TransientError) as info:
        client.confirm_shipment(shipment())

    assert info.value.http_status == 503
    assert outcomes(journal)[-1] == (
        base.API_AMAZON_WRITEBACK,
        "confirmShipment",
        "transient",
        503,
    )


def test_dropped_connection_is_transient(sandbox, client, order, journal):
    sandbox.inject_fault("amazon.confirmShipment", drop=True)

    with pytest.raises(TransientError) as info:
        client.confirm_shipment(shipment())

    assert info.value.code == "connection"
    assert journal[-1].outcome == "transient"
    assert journal[-1].http_status is None


def test_malformed_answer_is_transient(sandbox, client, order, journal):
    sandbox.inject_fault("amazon.getOrder", malformed=True)

    with pytest.raises(TransientError) as info:
        client.read_order(ORDER)

    assert info.value.code == "malformed"
    assert outcomes(journal)[-1][2:] == ("transient", 200)


def test_slow_answer_times_out(sandbox, make_client, order, journal):
    # The token is fetched by a client with the default timeout (the token
    # cache is shared), so a busy machine cannot time out that part.
    make_client().read_order(ORDER)
    client = make_client(timeout=0.5)
    sandbox.inject_fault("amazon.getOrder", delay=3.0)

    start = time.monotonic()
    with pytest.raises(TransientError) as info:
        client.read_order(ORDER)

    assert time.monotonic() - start < 2.5
    assert info.value.code == "timeout"
    assert "0.5 s" in str(info.value)
    assert journal[-1].outcome == "transient"


def test_token_service_down_is_transient(sandbox, client, order):
    sandbox.inject_fault("amazon.token", status=500)

    with pytest.raises(TransientError):
        client.read_order(ORDER)


# -- rate limited --------------------------------------------------------------


def test_429_with_retry_after(sandbox, client, order, journal):
    sandbox.inject_fault(
        "amazon.confirmShipment", status=429, headers={"Retry-After": "7"}
    )

    with pytest.raises(RateLimitedError) as info:
        client.confirm_shipment(shipment())

    assert info.value.retry_after == 7.0
    assert info.value.code == "QuotaExceeded"
    assert outcomes(journal)[-1][2:] == ("rate_limited", 429)


def test_429_without_retry_after_leaves_the_delay_to_the_engine(sandbox, client, order):
    sandbox.inject_fault("amazon.getOrder", status=429)

    with pytest.raises(RateLimitedError) as info:
        client.read_order(ORDER)

    # Amazon sends no Retry-After as a rule: the engine's own growing delay
    # applies (policy), not a guess here.
    assert info.value.retry_after is None
    assert info.value.code == "QuotaExceeded"


def test_token_service_429(sandbox, client, order):
    sandbox.inject_fault("amazon.token", status=429, headers={"Retry-After": "3"})

    with pytest.raises(RateLimitedError) as info:
        client.read_order(ORDER)

    assert info.value.retry_after == 3.0


def test_client_pacer_holds_back_before_amazon_throttles(sandbox, make_client, journal):
    sandbox.add_catalog_item(ASIN, title="TV")
    client = make_client(max_wait=0)
    # getCatalogItem: rate 2/s, burst 2; the pacer keeps one token of the
    # burst in hand (Pacer.LAG: half a second at 2/s) against network delays.
    client.get_catalog_item(ASIN)

    with pytest.raises(RateLimitedError) as info:
        client.get_catalog_item(ASIN)

    assert 0 < info.value.retry_after <= 0.5 / pacer.Pacer.SAFETY  # rate 2/s
    assert len(sandbox.requests("amazon.getCatalogItem")) == 1  # never sent
    assert [r.operation for r in journal].count("getCatalogItem") == 1


# -- auth ----------------------------------------------------------------------


def test_revoked_refresh_token(sandbox, client, order, journal):
    sandbox.revoke_refresh_token(SECRETS[1])

    with pytest.raises(AuthError) as info:
        client.confirm_shipment(shipment())

    assert info.value.code == "invalid_grant"
    assert "Re-authorize" in str(info.value)
    assert outcomes(journal) == [
        (base.API_AMAZON_WRITEBACK, "token", "auth", 400),
    ]
    assert sandbox.requests("amazon.confirmShipment") == []
    assert_no_secret(journal, info.value)


def test_expired_access_token_is_refreshed_once(sandbox, client, order, journal):
    client.read_order(ORDER)
    sandbox.expire_access_tokens()

    view = client.read_order(ORDER)

    assert view.status == "UNSHIPPED"
    assert outcomes(journal) == [
        (base.API_AMAZON_ORDERS, "token", "success", 200),
        (base.API_AMAZON_ORDERS, "getOrder", "success", 200),
        (base.API_AMAZON_ORDERS, "getOrder", "auth", 403),
        (base.API_AMAZON_ORDERS, "token", "success", 200),
        (base.API_AMAZON_ORDERS, "getOrder", "success", 200),
    ]
    assert len(journal) == len(sandbox.requests())  # one record per exchange
    old, new = (r["headers"]["x-amz-access-token"] for r in sandbox.requests()[2:5:2])
    assert old != new
    assert_no_secret(journal)


def test_second_auth_failure_raises_auth_error(sandbox, client, order, journal):
    sandbox.inject_fault("amazon.getOrder", status=403, times=2)

    with pytest.raises(AuthError) as info:
        client.read_order(ORDER)

    assert "re-authorize" in str(info.value)
    assert info.value.http_status == 403
    assert [r.operation for r in journal] == ["token", "getOrder", "token", "getOrder"]
    assert len(sandbox.requests("amazon.getOrder")) == 2
    assert_no_secret(journal, info.value)


def test_probe_always_exchanges_a_token(sandbox, client, journal):
    client.probe(base.API_AMAZON_PRODUCTS)
    client.probe(base.API_AMAZON_PRODUCTS)

    assert len(sandbox.requests("amazon.token")) == 2
    assert (
        outcomes(journal) == [(base.API_AMAZON_PRODUCTS, "token", "success", 200)] * 2
    )
    with pytest.raises(ValueError):
        client.probe("ebay_trading")


def test_probe_reports_a_revoked_authorization(sandbox, client):
    sandbox.revoke_refresh_token(SECRETS[1])

    with pytest.raises(AuthError):
        client.probe(base.API_AMAZON_WRITEBACK)


# -- catalog -------------------------------------------------------------------


def test_catalog_item_is_normalised(sandbox, client, journal):
    sandbox.add_catalog_item(
        ASIN,
        title="Samsung 82-Inch QLED",
        brand="SAMSUNG",
        item_weight=(107.6, "pounds"),
        package_weight=(62.142, "kilograms"),
        images=[("MAIN", 500, 333), ("MAIN", 2560, 1707), ("PT01", 4000, 4000)],
        identifiers=[("EAN", "0887276302195"), ("UPC", "887276302195")],
    )

    item = client.get_catalog_item(ASIN)

    (request,) = sandbox.requests("amazon.getCatalogItem")
    assert request["path"] == f"/catalog/2022-04-01/items/{ASIN}"
    assert request["query"] == {
        "marketplaceIds": [MARKETPLACE],
        "includedData": ["summaries,dimensions,images,identifiers"],
    }
    assert item["asin"] == ASIN
    assert (item["title"], item["brand"]) == ("Samsung 82-Inch QLED", "SAMSUNG")
    assert item["item_weight"] == (107.6, "pounds")
    assert item["package_weight"] == (62.142, "kilograms")
    assert (item["main_image"]["width"], item["main_image"]["height"]) == (2560, 1707)
    assert item["identifiers"] == {"EAN": "0887276302195", "UPC": "887276302195"}
    assert outcomes(journal)[-1] == (
        base.API_AMAZON_PRODUCTS,
        "getCatalogItem",
        "success",
        200,
    )

    image = client.download(item["main_image"]["link"])

    assert image.startswith(b"\x89PNG")
    assert outcomes(journal)[-1] == (
        base.API_AMAZON_PRODUCTS,
        "downloadImage",
        "success",
        200,
    )
    with pytest.raises(PermanentError, match="larger than"):
        client.download(item["main_image"]["link"], max_bytes=100)


def test_catalog_item_without_weights_or_images(sandbox, client):
    sandbox.add_catalog_item(ASIN, title="Bare")

    item = client.get_catalog_item(ASIN)

    assert item["item_weight"] is None
    assert item["package_weight"] is None
    assert item["main_image"] is None


def test_unknown_asin_is_permanent(client, journal):
    with pytest.raises(PermanentError, match="no catalog item with ASIN B000NOPE00"):
        client.get_catalog_item("B000NOPE00")

    assert journal[-1].outcome == "permanent"
    assert journal[-1].http_status == 404


def test_download_needs_https_or_loopback(client):
    with pytest.raises(PermanentError, match="Image not downloaded"):
        client.download("http://m.media-amazon.com/images/I/x.jpg")


@pytest.fixture
def image_host():
    """A local host serving /image.png, redirecting /moved to it, /away to a
    plain-http host elsewhere and /loop to itself."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            targets = {
                "/moved": "/image.png",
                "/away": "http://images.example.com/x.png",
                "/loop": "/loop",
            }
            if self.path in targets:
                self.send_response(302)
                self.send_header("Location", targets[self.path])
                self.end_headers()
                return
            body = b"\x89PNG image"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_download_follows_a_redirect_only_where_the_account_may_go(
    make_client, image_host, journal
):
    """Each redirect's target must pass the account's endpoint rule, as the
    first URL does; a production account never downloads from this machine
    over plain http."""
    sandbox_client = make_client()
    assert sandbox_client.download(image_host + "/moved") == b"\x89PNG image"
    with pytest.raises(PermanentError, match="Image not downloaded"):
        sandbox_client.download(image_host + "/away")
    with pytest.raises(PermanentError, match="more than 3 redirects"):
        sandbox_client.download(image_host + "/loop")
    production = make_client(
        api_base_url="https://sellingpartnerapi-na.amazon.com",
        auth_url="https://api.amazon.com/auth/o2/token",
        allow_http_loopback=False,
    )
    calls = len(journal)
    with pytest.raises(PermanentError, match="Image not downloaded"):
        production.download(image_host + "/image.png")
    assert len(journal) == calls, "nothing was requested"


# -- reading answers (no network) -------------------------------------------------


def test_order_view_reads_the_order_items():
    body = {
        "order": {
            "orderId": ORDER,
            "fulfillment": {"fulfillmentStatus": "UNSHIPPED"},
            "orderItems": [
                {
                    "orderItemId": "79039765272157",
                    "quantityOrdered": 2,
                    "product": {
                        "asin": ASIN,
                        "sellerSku": "TV-82",
                        "title": "Samsung 82-Inch QLED",
                    },
                }
            ],
        }
    }

    (line,) = order_view(ORDER, body).lines

    assert line == base.OrderLine(
        line_item_id="79039765272157",
        sku="TV-82",
        quantity=2,
        title="Samsung 82-Inch QLED",
    )


# -- marketplaces and regions ----------------------------------------------------

# developer-docs.amazon.com/sp-api/docs/marketplace-ids and .../sp-api-endpoints
AMAZON_MARKETPLACES = {
    "na": {
        "A2EUQ1WTGCTBG2": "CA",
        "ATVPDKIKX0DER": "US",
        "A1AM78C64UM0Y8": "MX",
        "A2Q3Y263D00KWC": "BR",
    },
    "eu": {
        "A28R8C7NBKEWEA": "IE",
        "A1RKKUPIHCS9HS": "ES",
        "A1F83G8C2ARO7P": "UK",
        "A13V1IB3VIYZZH": "FR",
        "AMEN7PMS3EDWL": "BE",
        "A1805IZSGTT6HS": "NL",
        "A1PA6795UKMFR9": "DE",
        "APJ6JRA9NG5V4": "IT",
        "A2NODRKZP88ZB9": "SE",
        "AE08WJ6YKNBMC": "ZA",
        "A1C3SOZRARQ6R3": "PL",
        "ARBP9OOSHTCHU": "EG",
        "A33AVAJ2PDY3EV": "TR",
        "A17E79C6D8DWNP": "SA",
        "A2VIGQ35RCS4UG": "AE",
        "A21TJRUUN4KGV": "IN",
    },
    "fe": {
        "A19VAU5U5O7RUS": "SG",
        "A39IBJ37TRP1C6": "AU",
        "A1VC38T7YXB528": "JP",
    },
}


def test_every_marketplace_has_its_region():
    expected = {
        marketplace_id: region
        for region, marketplaces in AMAZON_MARKETPLACES.items()
        for marketplace_id in marketplaces
    }

    assert MARKETPLACE_REGIONS == expected
    assert len(MARKETPLACE_REGIONS) == 23
    for marketplace_id, region in expected.items():
        assert region_for_marketplace(marketplace_id) == region


def test_unknown_marketplace_has_no_region():
    with pytest.raises(ValueError, match="A1NOPE00000000"):
        region_for_marketplace("A1NOPE00000000")


def _client(**options):
    return AmazonClient(client_id="c", client_secret="s", refresh_token="r", **options)


@pytest.mark.parametrize(
    ("marketplace_id", "host"),
    [
        ("ATVPDKIKX0DER", "sellingpartnerapi-na.amazon.com"),
        ("A2Q3Y263D00KWC", "sellingpartnerapi-na.amazon.com"),
        ("A1PA6795UKMFR9", "sellingpartnerapi-eu.amazon.com"),
        ("A21TJRUUN4KGV", "sellingpartnerapi-eu.amazon.com"),
        ("A1VC38T7YXB528", "sellingpartnerapi-fe.amazon.com"),
    ],
)
def test_the_host_follows_the_marketplace(marketplace_id, host):
    production = _client(marketplace_id=marketplace_id)
    sandbox = _client(marketplace_id=marketplace_id, environment="sandbox")

    assert production.api_base_url == f"https://{host}"
    assert sandbox.api_base_url == f"https://sandbox.{host}"
    assert production.region == MARKETPLACE_REGIONS[marketplace_id]


def test_a_region_that_does_not_serve_the_marketplace_is_refused():
    with pytest.raises(ValueError) as info:
        _client(marketplace_id="A1PA6795UKMFR9", region="na")

    assert str(info.value) == (
        "Marketplace A1PA6795UKMFR9 (Germany) is served by the Europe (eu) "
        "endpoint, not North America (na)"
    )


def test_a_matching_region_is_accepted():
    client = _client(marketplace_id="A39IBJ37TRP1C6", region="fe")

    assert client.api_base_url == "https://sellingpartnerapi-fe.amazon.com"


def test_a_marketplace_newer_than_the_list_needs_its_region():
    with pytest.raises(ValueError, match="A1NEWMARKET000"):
        _client(marketplace_id="A1NEWMARKET000")

    client = _client(marketplace_id="A1NEWMARKET000", region="eu")

    assert client.api_base_url == "https://sellingpartnerapi-eu.amazon.com"


def test_an_explicit_base_url_still_checks_the_region():
    with pytest.raises(ValueError, match="Far East"):
        _client(
            marketplace_id="A1VC38T7YXB528",
            region="eu",
            api_base_url="https://sp-api.example.invalid",
        )


# -- construction --------------------------------------------------------------


def test_default_endpoints():
    client = AmazonClient(
        client_id="c",
        client_secret="s",
        refresh_token="r",
        marketplace_id="A1PA6795UKMFR9",
        environment="sandbox",
    )

    assert client.api_base_url == "https://sandbox.sellingpartnerapi-eu.amazon.com"
    assert client.token_url == "https://api.amazon.com/auth/o2/token"
    assert client.timeout == (5.0, 30.0)


@pytest.mark.parametrize(
    "options",
    [
        {"api_base_url": "http://sellingpartnerapi-na.amazon.com"},
        {"auth_url": "http://api.amazon.com/auth/o2/token"},
        {"region": "mars"},
        {"environment": "staging"},
    ],
)
def test_refused_configuration(options):
    with pytest.raises(ValueError):
        AmazonClient(
            client_id="c",
            client_secret="s",
            refresh_token="r",
            marketplace_id=MARKETPLACE,
            **options,
        )


# -- the order's marketplace (pan-European selling) -------------------------------

DE, FR = "A1PA6795UKMFR9", "A13V1IB3VIYZZH"


@pytest.fixture
def fr_order(sandbox):
    """An Amazon.fr order held by a seller whose account is on Amazon.de."""
    return sandbox.add_amazon_order(
        ORDER,
        marketplace_id=FR,
        items=[{"order_item_id": "79039765272157", "quantity": 2, "asin": ASIN}],
    )


@pytest.fixture
def de_client(sandbox, make_client):
    with make_client(
        marketplace_id=DE, api_base_url=sandbox.amazon_url("eu")
    ) as client:
        yield client


def test_confirmation_carries_the_orders_marketplace(sandbox, de_client, fr_order):
    de_client.confirm_shipment(dataclasses.replace(shipment(), marketplace_id=FR))

    [package] = sandbox.amazon_order(ORDER)["packages"]
    assert package["tracking_number"] == "112345678"
    [sent] = [e for e in sandbox.requests() if e["path"].endswith("Confirmation")]
    assert sent["json"]["marketplaceId"] == FR


def test_confirmation_falls_back_to_the_accounts_marketplace(
    sandbox, de_client, fr_order
):
    with pytest.raises(PermanentError) as refused:
        de_client.confirm_shipment(shipment())

    assert DE in str(refused.value)
    assert sandbox.amazon_order(ORDER)["packages"] == []


def test_marketplace_of_another_region_is_refused_before_any_call(
    sandbox, de_client, fr_order, journal
):
    with pytest.raises(PermanentError) as refused:
        de_client.confirm_shipment(
            dataclasses.replace(shipment(), marketplace_id=MARKETPLACE)
        )

    assert "North America" in str(refused.value)
    assert not [r for r in journal if r.operation == "confirmShipment"]


def test_read_order_names_the_orders_marketplace(sandbox, de_client, fr_order):
    view = de_client.read_order(ORDER)
    assert view.marketplace_id == FR
    assert view.as_dict()["marketplace_id"] == FR


def test_packages_without_package_items_are_read(sandbox, client, order):
    sandbox.update_amazon_order(ORDER, package_items=False)
    client.confirm_shipment(shipment())

    view = client.read_order(ORDER)

    [package] = view.packages
    assert package.tracking_number == "112345678"
    assert package.items == []
    assert view.status == "PARTIALLY_SHIPPED"


def test_package_to_update_not_found_is_permanent_with_amazons_words(
    sandbox, client, order
):
    client.confirm_shipment(shipment())
    other = base.Package(
        "2", "1Z999AA10123456784", (base.ShipmentItem("79039765272157", 1),)
    )

    with pytest.raises(PermanentError) as refused:
        client.confirm_shipment(shipment(other))

    assert refused.value.http_status == 400
    assert "PackageToUpdateNotFound" in str(refused.value)
