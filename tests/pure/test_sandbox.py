"""The marketplace sandbox, driven over real HTTP with ``requests``.

Each test states one behaviour of the Amazon / eBay contracts the sandbox
must reproduce (see sandbox/*.py for the sources of each rule).
"""

import copy
import datetime
import json
import pathlib
import struct
import subprocess
import sys
import time

import pytest
import requests
from lxml import etree

from sandbox.server import SandboxServer

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
TIMEOUT = 5  # seconds, on every call
NS = "urn:ebay:apis:eBLBaseComponents"
X = {"e": NS}

AMAZON_ORDER = "902-1106328-1059050"
AMAZON_ITEM = "79039765272157"
MARKETPLACE = "ATVPDKIKX0DER"
EBAY_ORDER = "12-34567-89012"
EBAY_LINE = "110012345678-0"

# The static sandbox example of ordersV0.json confirmShipment (204 case).
STATIC_CONFIRMATION = {
    "marketplaceId": "ATVPDKIKX0DER",
    "packageDetail": {
        "packageReferenceId": "1",
        "carrierCode": "FedEx",
        "carrierName": "FedEx",
        "shippingMethod": "FedEx Ground",
        "trackingNumber": "112345678",
        "shipDate": "2022-02-11T01:00:00.000Z",
        "shipFromSupplySourceId": "057d3fcc-b750-419f-bbcd-4d340c60c430",
        "orderItems": [
            {
                "orderItemId": "79039765272157",
                "quantity": 1,
                "transparencyCodes": ["09876543211234567890"],
            }
        ],
    },
}


# ------------------------------------------------------------------ helpers


def amazon_token(sandbox, refresh_token="Atzr|test-refresh"):
    response = requests.post(
        sandbox.url + "/auth/o2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": "amzn1.application-oa2-client.test",
            "client_secret": "secret",
        },
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def add_amazon_order(sandbox, quantity=2, **kwargs):
    sandbox.add_amazon_order(
        AMAZON_ORDER,
        marketplace_id=MARKETPLACE,
        items=[
            {
                "order_item_id": AMAZON_ITEM,
                "quantity": quantity,
                "asin": "B07N4M94X4",
                "sku": "SKU-1",
                "title": "QLED TV",
            }
        ],
        **kwargs,
    )


def confirmation(reference="1", quantity=1, **detail):
    body = copy.deepcopy(STATIC_CONFIRMATION)
    body["packageDetail"]["packageReferenceId"] = reference
    body["packageDetail"]["orderItems"][0]["quantity"] = quantity
    body["packageDetail"].update(detail)
    return body


def confirm(sandbox, token, body, order_id=AMAZON_ORDER, timeout=TIMEOUT):
    return requests.post(
        f"{sandbox.url}/orders/v0/orders/{order_id}/shipmentConfirmation",
        json=body,
        headers={"x-amz-access-token": token},
        timeout=timeout,
    )


def amazon_order(
    sandbox, token, included="FULFILLMENT,PACKAGES", order_id=AMAZON_ORDER
):
    return requests.get(
        f"{sandbox.url}/orders/2026-01-01/orders/{order_id}",
        params={"includedData": included} if included else None,
        headers={"x-amz-access-token": token},
        timeout=TIMEOUT,
    )


def first_error(response):
    return response.json()["errors"][0]


def ebay_token(
    sandbox, refresh_token="v^1.1#test-refresh", auth=("app", "cert"), **form
):
    return requests.post(
        sandbox.url + "/identity/v1/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token, **form},
        auth=auth,
        timeout=TIMEOUT,
    )


def ebay_access_token(sandbox, refresh_token="v^1.1#test-refresh"):
    response = ebay_token(sandbox, refresh_token=refresh_token)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def add_ebay_order(sandbox, order_id=EBAY_ORDER, lines=((EBAY_LINE, 2),), **kwargs):
    kwargs.setdefault("created_time", "2026-01-01T00:00:00Z")  # before ship dates
    sandbox.add_ebay_order(
        order_id,
        line_items=[
            {
                "line_item_id": line_id,
                "quantity": quantity,
                "item_id": line_id.split("-")[0],
                "transaction_id": "0",
                "sku": f"SKU-{line_id}",
                "title": "Widget",
            }
            for line_id, quantity in lines
        ],
        **kwargs,
    )


def trading(sandbox, call, inner, token, body=None, **headers):
    """POST a Trading call; returns (response, parsed root)."""
    sent = {
        "X-EBAY-API-CALL-NAME": call,
        "X-EBAY-API-SITEID": "0",
        "X-EBAY-API-COMPATIBILITY-LEVEL": "1451",
        "X-EBAY-API-IAF-TOKEN": token,
        "Content-Type": "text/xml",
    }
    sent.update({name.replace("_", "-"): value for name, value in headers.items()})
    if body is None:
        body = (
            f'<?xml version="1.0" encoding="utf-8"?>'
            f'<{call}Request xmlns="{NS}">{inner}</{call}Request>'
        )
    response = requests.post(
        sandbox.url + "/ws/api.dll",
        data=body.encode("utf-8"),
        headers={k: v for k, v in sent.items() if v is not None},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200
    return response, etree.fromstring(response.content)


def ack(root):
    return root.findtext("e:Ack", namespaces=X)


def error_code(root):
    return root.findtext("e:Errors/e:ErrorCode", namespaces=X)


def shipped_by_line(line_id, number="9400111899223100000001", carrier="USPS"):
    return (
        "<Shipped>true</Shipped><Shipment><ShipmentTrackingDetails>"
        f"<ShippingCarrierUsed>{carrier}</ShippingCarrierUsed>"
        f"<ShipmentTrackingNumber>{number}</ShipmentTrackingNumber>"
        f"</ShipmentTrackingDetails></Shipment><OrderLineItemID>{line_id}</OrderLineItemID>"
    )


def get_orders(sandbox, token, order_id=EBAY_ORDER):
    _response, root = trading(
        sandbox,
        "GetOrders",
        f"<OrderIDArray><OrderID>{order_id}</OrderID></OrderIDArray>",
        token,
    )
    assert ack(root) == "Success", etree.tostring(root)
    return root.find("e:OrderArray/e:Order", X)


def rest(sandbox, method, path, token, **kwargs):
    return requests.request(
        method,
        f"{sandbox.url}/sell/fulfillment/v1{path}",
        headers={"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})},
        timeout=TIMEOUT,
        **kwargs,
    )


def fulfillment(line_items, tracking="9400111899223100000001", carrier="USPS", **extra):
    body = {
        "lineItems": [{"lineItemId": lid, "quantity": qty} for lid, qty in line_items],
        "shippedDate": "2026-01-15T10:00:00.000Z",
        "shippingCarrierCode": carrier,
        "trackingNumber": tracking,
    }
    body.update(extra)
    return {key: value for key, value in body.items() if value is not None}


# ---------------------------------------------------------- Amazon: LWA


def test_lwa_token_is_a_bearer_token_for_an_hour(sandbox):
    response = requests.post(
        sandbox.url + "/auth/o2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": "Atzr|r",
            "client_id": "c",
            "client_secret": "s",
        },
        timeout=TIMEOUT,
    )
    body = response.json()
    assert response.status_code == 200
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["refresh_token"] == "Atzr|r"
    assert response.headers["x-amzn-RequestId"]


@pytest.mark.parametrize("missing", ["refresh_token", "client_id", "client_secret"])
def test_lwa_token_missing_parameter_is_invalid_request(sandbox, missing):
    form = {"grant_type": "refresh_token", "refresh_token": "r", "client_id": "c"}
    form["client_secret"] = "s"
    form[missing] = ""
    response = requests.post(sandbox.url + "/auth/o2/token", data=form, timeout=TIMEOUT)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert missing in response.json()["error_description"]


def test_lwa_token_wants_a_form(sandbox):
    response = requests.post(
        sandbox.url + "/auth/o2/token",
        json={"grant_type": "refresh_token", "refresh_token": "r"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_lwa_revoked_refresh_token_is_invalid_grant(sandbox):
    sandbox.revoke_refresh_token("Atzr|gone")
    response = requests.post(
        sandbox.url + "/auth/o2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": "Atzr|gone",
            "client_id": "c",
            "client_secret": "s",
        },
        timeout=TIMEOUT,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


# ---------------------------------------------- Amazon: confirmShipment


def test_static_sandbox_example_204(sandbox):
    add_amazon_order(sandbox)
    response = confirm(sandbox, amazon_token(sandbox), STATIC_CONFIRMATION)
    assert response.status_code == 204
    assert response.content == b""
    assert response.headers["x-amzn-RateLimit-Limit"] == "2.0"
    assert response.headers["x-amzn-RequestId"]
    [package] = sandbox.amazon_order(AMAZON_ORDER)["packages"]
    assert package["tracking_number"] == "112345678"
    assert package["items"][0]["transparency_codes"] == ["09876543211234567890"]


def test_static_sandbox_example_400_ship_date(sandbox):
    add_amazon_order(sandbox)
    body = confirmation(shipDate="02/21/2022")
    response = confirm(sandbox, amazon_token(sandbox), body)
    assert response.status_code == 400
    assert response.json() == {
        "errors": [{"code": "Invalid Input", "message": "Invalid Input"}]
    }
    assert response.headers["x-amzn-RateLimit-Limit"] == "2.0"
    assert sandbox.amazon_order(AMAZON_ORDER)["packages"] == []


def test_package_reference_id_must_be_a_string(sandbox):
    add_amazon_order(sandbox)
    response = confirm(sandbox, amazon_token(sandbox), confirmation(reference=1))
    assert response.status_code == 400
    assert first_error(response) == {
        "code": "InvalidInput",
        "message": "The input you have submitted is not valid. Please check the "
        "fields with invalid type [packageDetail.packageReferenceId].",
    }


@pytest.mark.parametrize("reference", ["PKG-1", "0", "-3", "1.5"])
def test_package_reference_id_must_be_positive_numeric(sandbox, reference):
    add_amazon_order(sandbox)
    response = confirm(
        sandbox, amazon_token(sandbox), confirmation(reference=reference)
    )
    assert response.status_code == 400
    assert first_error(response)["message"] == (
        "PackageReferenceId: is invalid, must be a positive numeric value."
    )


def test_missing_required_field_and_carrier_name_for_other(sandbox):
    add_amazon_order(sandbox)
    token = amazon_token(sandbox)
    body = confirmation()
    del body["packageDetail"]["trackingNumber"]
    response = confirm(sandbox, token, body)
    assert response.status_code == 400
    assert "packageDetail.trackingNumber" in first_error(response)["message"]
    response = confirm(
        sandbox, token, confirmation(carrierCode="Other", carrierName=None)
    )
    assert response.status_code == 400
    assert "carrierName" in first_error(response)["message"]
    response = confirm(sandbox, token, confirmation(quantity=0))
    assert response.status_code == 400


def test_unknown_and_malformed_order_ids(sandbox):
    token = amazon_token(sandbox)
    response = confirm(sandbox, token, confirmation(), order_id="111-2222222-3333333")
    assert response.status_code == 404
    assert response.headers["x-amzn-RateLimit-Limit"] == "2.0"
    assert first_error(response)["code"] == "NotFound"
    response = confirm(sandbox, token, confirmation(), order_id="12345")
    assert response.status_code == 400


def test_order_item_marketplace_and_cancellation_are_checked(sandbox):
    add_amazon_order(sandbox)
    token = amazon_token(sandbox)
    body = confirmation()
    body["packageDetail"]["orderItems"][0]["orderItemId"] = "99999999999999"
    response = confirm(sandbox, token, body)
    assert response.status_code == 400
    assert first_error(response)["message"].startswith("OrderItemId is invalid")
    body = confirmation()
    body["marketplaceId"] = "A1PA6795UKMFR9"
    assert confirm(sandbox, token, body).status_code == 400
    add_amazon_order(sandbox, status="CANCELLED")
    response = confirm(sandbox, token, confirmation())
    assert response.status_code == 400
    assert "CANCELLED" in first_error(response)["message"]


def test_same_package_reference_edits_the_package(sandbox):
    add_amazon_order(sandbox, quantity=2)
    token = amazon_token(sandbox)
    assert confirm(sandbox, token, confirmation("7", 2)).status_code == 204
    edit = confirmation("7", 2, trackingNumber="1Z999AA10123456784", carrierCode="UPS")
    assert confirm(sandbox, token, edit).status_code == 204
    [package] = sandbox.amazon_order(AMAZON_ORDER)["packages"]
    assert package["tracking_number"] == "1Z999AA10123456784"
    assert package["carrier_code"] == "UPS"


def test_total_shipped_cannot_exceed_quantity_ordered(sandbox):
    add_amazon_order(sandbox, quantity=2)
    token = amazon_token(sandbox)
    assert confirm(sandbox, token, confirmation("1", 1)).status_code == 204
    assert confirm(sandbox, token, confirmation("2", 1)).status_code == 204
    response = confirm(sandbox, token, confirmation("3", 1))
    assert response.status_code == 400
    assert "already fulfilled" in first_error(response)["message"]
    assert len(sandbox.amazon_order(AMAZON_ORDER)["packages"]) == 2


def test_bad_or_expired_access_token_is_403(sandbox):
    add_amazon_order(sandbox)
    unauthorized = {
        "code": "Unauthorized",
        "message": "Access to requested resource is denied.",
        "details": "The access token you provided is revoked, malformed or invalid.",
    }
    response = confirm(sandbox, "Atza|made-up", confirmation())
    assert response.status_code == 403
    assert first_error(response) == unauthorized
    assert "x-amzn-RateLimit-Limit" not in response.headers
    token = amazon_token(sandbox)
    sandbox.expire_access_tokens()
    assert confirm(sandbox, token, confirmation()).status_code == 403
    fresh = amazon_token(sandbox)
    sandbox.clock.advance(3601)  # the LWA token lives one hour
    assert confirm(sandbox, fresh, confirmation()).status_code == 403


# -------------------------------------------------------- Amazon: getOrder


def test_get_order_reflects_packages_and_fulfillment_status(sandbox):
    add_amazon_order(sandbox, quantity=2)
    token = amazon_token(sandbox)
    order = amazon_order(sandbox, token).json()["order"]
    assert order["fulfillment"]["fulfillmentStatus"] == "UNSHIPPED"
    assert order["packages"] == []
    confirm(sandbox, token, confirmation("1", 1))
    response = amazon_order(sandbox, token)
    assert response.headers["x-amzn-RateLimit-Limit"] == "0.5"
    order = response.json()["order"]
    assert order["fulfillment"]["fulfillmentStatus"] == "PARTIALLY_SHIPPED"
    assert order["orderItems"][0]["fulfillment"] == {
        "quantityFulfilled": 1,
        "quantityUnfulfilled": 1,
    }
    confirm(sandbox, token, confirmation("2", 1, trackingNumber="1Z2"))
    # includedData as repeated parameters is accepted too.
    response = requests.get(
        f"{sandbox.url}/orders/2026-01-01/orders/{AMAZON_ORDER}"
        "?includedData=FULFILLMENT&includedData=PACKAGES",
        headers={"x-amz-access-token": token},
        timeout=TIMEOUT,
    )
    order = response.json()["order"]
    assert order["fulfillment"]["fulfillmentStatus"] == "SHIPPED"
    assert [p["trackingNumber"] for p in order["packages"]] == ["112345678", "1Z2"]
    package = order["packages"][0]
    assert package["packageStatus"] == {"status": "SHIPPED"}
    assert package["carrier"] == "FedEx"
    assert package["packageItems"][0]["orderItemId"] == AMAZON_ITEM


def test_get_order_datasets_and_errors(sandbox):
    add_amazon_order(sandbox, status="CANCELLED")
    token = amazon_token(sandbox)
    order = amazon_order(sandbox, token, included=None).json()["order"]
    assert {"orderId", "createdTime", "lastUpdatedTime", "salesChannel"} <= set(order)
    assert "packages" not in order
    assert "fulfillment" not in order
    assert order["orderItems"][0]["product"]["sellerSku"] == "SKU-1"
    order = amazon_order(sandbox, token, included="FULFILLMENT").json()["order"]
    assert order["fulfillment"]["fulfillmentStatus"] == "CANCELLED"
    assert amazon_order(sandbox, token, included="NOPE").status_code == 400
    missing = amazon_order(sandbox, token, order_id="111-1111111-1111111")
    assert missing.status_code == 404
    assert missing.headers["x-amzn-RateLimit-Limit"] == "0.5"


# -------------------------------------------------- Amazon: getCatalogItem


def test_catalog_item_with_downloadable_images(sandbox):
    sandbox.add_catalog_item(
        "B07N4M94X4",
        marketplace_id=MARKETPLACE,
        title="Samsung QLED TV",
        brand="SAMSUNG",
        item_weight=(1.2, "pounds"),
        package_weight=(0.62, "kilograms"),
        images=[("MAIN", 2560, 1707), ("MAIN", 500, 333), ("PT01", 500, 500)],
        identifiers=[("EAN", "0887276302195")],
    )
    response = requests.get(
        sandbox.url + "/catalog/2022-04-01/items/B07N4M94X4",
        params={
            "marketplaceIds": MARKETPLACE,
            "includedData": "summaries,dimensions,images,identifiers",
        },
        headers={"x-amz-access-token": amazon_token(sandbox)},
        timeout=TIMEOUT,
    )
    item = response.json()
    assert response.status_code == 200
    assert item["summaries"][0]["itemName"] == "Samsung QLED TV"
    assert item["summaries"][0]["brand"] == "SAMSUNG"
    assert item["dimensions"][0]["item"]["weight"] == {"unit": "pounds", "value": 1.2}
    assert item["dimensions"][0]["package"]["weight"]["unit"] == "kilograms"
    assert item["identifiers"][0]["identifiers"][0]["identifierType"] == "EAN"
    images = item["images"][0]["images"]
    assert [(i["variant"], i["width"], i["height"]) for i in images][1] == (
        "MAIN",
        500,
        333,
    )
    picture = requests.get(images[1]["link"], timeout=TIMEOUT)
    assert picture.headers["Content-Type"] == "image/png"
    assert picture.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", picture.content[16:24]) == (500, 333)


def test_catalog_errors(sandbox):
    token = amazon_token(sandbox)
    headers = {"x-amz-access-token": token}
    url = sandbox.url + "/catalog/2022-04-01/items/"
    sandbox.clock.freeze()  # burst 2: let each call find a token
    response = requests.get(
        url + "B000000000",
        params={"marketplaceIds": MARKETPLACE},
        headers=headers,
        timeout=TIMEOUT,
    )
    assert response.status_code == 404
    sandbox.clock.advance(1)
    assert first_error(response)["message"] == (
        "Requested item, B000000000, not found in marketplace(s) ATVPDKIKX0DER."
    )
    response = requests.get(url + "B000000000", headers=headers, timeout=TIMEOUT)
    assert response.status_code == 400  # marketplaceIds is required
    sandbox.clock.advance(1)
    response = requests.get(
        url, params={"marketplaceIds": MARKETPLACE}, headers=headers, timeout=TIMEOUT
    )
    # The model's static example for asin "".
    assert response.json() == {
        "errors": [
            {
                "code": "400",
                "message": "Request has missing or invalid parameters and cannot be "
                "parsed.",
            }
        ]
    }


# ------------------------------------------------------------ rate limits


def test_confirm_shipment_is_throttled_after_its_burst(sandbox):
    add_amazon_order(sandbox)
    token = amazon_token(sandbox)
    sandbox.clock.freeze()
    statuses = [confirm(sandbox, token, confirmation()).status_code for _ in range(11)]
    assert statuses == [204] * 10 + [429]
    throttled = confirm(sandbox, token, confirmation())
    assert first_error(throttled) == {
        "code": "QuotaExceeded",
        "message": "You exceeded your quota for the requested resource.",
        "details": "",
    }
    assert "x-amzn-RateLimit-Limit" not in throttled.headers
    # Another selling partner has its own bucket (and orders of its own).
    other = amazon_token(sandbox, refresh_token="Atzr|other-seller")
    theirs = "902-3159896-1390916"
    sandbox.add_amazon_order(
        theirs,
        marketplace_id=MARKETPLACE,
        items=[{"order_item_id": AMAZON_ITEM, "quantity": 2}],
    )
    assert confirm(sandbox, other, confirmation(), order_id=theirs).status_code == 204
    sandbox.clock.advance(0.5)  # rate 2/s: one token back
    assert confirm(sandbox, token, confirmation()).status_code == 204
    assert confirm(sandbox, token, confirmation()).status_code == 429
    logged = [e["status"] for e in sandbox.requests("amazon.confirmShipment")]
    assert logged.count(429) == 3


def test_catalog_burst_is_two(sandbox):
    sandbox.add_catalog_item("B07N4M94X4", title="TV")
    token = amazon_token(sandbox)
    sandbox.clock.freeze()

    def get():
        return requests.get(
            sandbox.url + "/catalog/2022-04-01/items/B07N4M94X4",
            params={"marketplaceIds": MARKETPLACE},
            headers={"x-amz-access-token": token},
            timeout=TIMEOUT,
        ).status_code

    assert [get(), get(), get()] == [200, 200, 429]
    sandbox.clock.advance(1)
    assert [get(), get(), get()] == [200, 200, 429]


def test_rate_limits_can_be_overridden():
    with SandboxServer(rate_limits={"amazon.getOrder": (1, 1)}) as server:
        add_amazon_order(server)
        token = amazon_token(server)
        server.clock.freeze()
        assert amazon_order(server, token).status_code == 200
        response = amazon_order(server, token)
        assert response.status_code == 429
        server.clock.advance(1)
        assert amazon_order(server, token).status_code == 200


# ------------------------------------------------------------------ faults


def test_fault_status_with_retry_after(sandbox):
    add_amazon_order(sandbox)
    token = amazon_token(sandbox)
    sandbox.inject_fault(
        "amazon.confirmShipment", status=503, headers={"Retry-After": "7"}
    )
    response = confirm(sandbox, token, confirmation())
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "7"
    assert first_error(response)["code"] == "ServiceUnavailable"
    assert sandbox.amazon_order(AMAZON_ORDER)["packages"] == []
    assert confirm(sandbox, token, confirmation()).status_code == 204  # times=1
    [faulted, ok] = sandbox.requests("amazon.confirmShipment")
    assert (faulted["status"], faulted["fault"], ok["status"]) == (503, "status", 204)
    assert faulted["json"]["packageDetail"]["trackingNumber"] == "112345678"


def test_fault_delay_still_records_after_the_client_gave_up(sandbox):
    add_amazon_order(sandbox)
    token = amazon_token(sandbox)
    sandbox.inject_fault("amazon.confirmShipment", delay=0.6)
    with pytest.raises(requests.Timeout):
        confirm(sandbox, token, confirmation(), timeout=0.2)
    assert sandbox.wait_idle(timeout=5)
    [entry] = sandbox.requests("amazon.confirmShipment")
    assert entry["status"] == 204
    assert len(sandbox.amazon_order(AMAZON_ORDER)["packages"]) == 1


def test_fault_drop_closes_the_connection(sandbox):
    add_amazon_order(sandbox)
    token = amazon_token(sandbox)
    sandbox.inject_fault("amazon.confirmShipment", drop=True)
    with pytest.raises(requests.ConnectionError):
        confirm(sandbox, token, confirmation())
    [entry] = sandbox.requests("amazon.confirmShipment")
    assert entry["status"] is None
    assert entry["fault"] == "drop"
    assert sandbox.amazon_order(AMAZON_ORDER)["packages"] == []


def test_fault_malformed_answers(sandbox):
    sandbox.inject_fault("amazon.token", malformed=True)
    response = requests.post(
        sandbox.url + "/auth/o2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": "r",
            "client_id": "c",
            "client_secret": "s",
        },
        timeout=TIMEOUT,
    )
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()
    add_ebay_order(sandbox)
    token = ebay_access_token(sandbox)
    sandbox.inject_fault("ebay.CompleteSale", malformed=True)
    response = requests.post(
        sandbox.url + "/ws/api.dll",
        data=f'<CompleteSaleRequest xmlns="{NS}"/>',
        headers={
            "X-EBAY-API-CALL-NAME": "CompleteSale",
            "X-EBAY-API-SITEID": "0",
            "X-EBAY-API-COMPATIBILITY-LEVEL": "1451",
            "X-EBAY-API-IAF-TOKEN": token,
        },
        timeout=TIMEOUT,
    )
    assert response.status_code == 200
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(response.content)


def test_fault_swallow_answers_success_without_recording(sandbox):
    add_amazon_order(sandbox)
    token = amazon_token(sandbox)
    sandbox.inject_fault("amazon.confirmShipment", swallow=True)
    assert confirm(sandbox, token, confirmation()).status_code == 204
    assert sandbox.amazon_order(AMAZON_ORDER)["packages"] == []
    order = amazon_order(sandbox, token).json()["order"]
    assert order["fulfillment"]["fulfillmentStatus"] == "UNSHIPPED"


def test_fault_order_ref_and_times(sandbox):
    add_amazon_order(sandbox)
    sandbox.add_amazon_order(
        "111-2222222-3333333", items=[{"order_item_id": "1", "quantity": 5}]
    )
    token = amazon_token(sandbox)
    sandbox.inject_fault("amazon.getOrder", status=500, times=2, order_ref=AMAZON_ORDER)
    assert (
        amazon_order(sandbox, token, order_id="111-2222222-3333333").status_code == 200
    )
    assert amazon_order(sandbox, token).status_code == 500
    assert amazon_order(sandbox, token).status_code == 500
    assert amazon_order(sandbox, token).status_code == 200


def test_fault_arguments_are_checked(sandbox):
    with pytest.raises(ValueError):
        sandbox.inject_fault("amazon.nope", status=500)
    with pytest.raises(ValueError):
        sandbox.inject_fault("amazon.confirmShipment", trading_error={"code": "1"})
    with pytest.raises(ValueError):
        sandbox.inject_fault("ebay.GetOrders", drop=True, status=500)


# --------------------------------------------------------- eBay: Trading


def test_complete_sale_by_line_then_get_orders(sandbox):
    add_ebay_order(sandbox, lines=((EBAY_LINE, 2), ("110012345679-0", 1)))
    token = ebay_access_token(sandbox)
    _response, root = trading(
        sandbox, "CompleteSale", shipped_by_line(EBAY_LINE), token
    )
    assert ack(root) == "Success"
    assert root.findtext("e:Version", namespaces=X)
    assert root.findtext("e:Build", namespaces=X)
    order = get_orders(sandbox, token)
    assert order.findtext("e:OrderStatus", namespaces=X) == "Completed"
    assert order.findtext("e:CheckoutStatus/e:Status", namespaces=X) == "Complete"
    assert order.findtext("e:PaidTime", namespaces=X)
    assert order.find("e:ShippedTime", X) is None  # KB 1640: lines only
    first, second = order.findall("e:TransactionArray/e:Transaction", X)
    assert first.findtext("e:OrderLineItemID", namespaces=X) == EBAY_LINE
    assert first.findtext("e:Item/e:ItemID", namespaces=X) == "110012345678"
    assert first.findtext("e:QuantityPurchased", namespaces=X) == "2"
    assert first.findtext("e:ShippedTime", namespaces=X)
    assert (
        first.findtext(
            "e:ShippingDetails/e:ShipmentTrackingDetails/e:ShipmentTrackingNumber",
            namespaces=X,
        )
        == "9400111899223100000001"
    )
    assert second.find("e:ShippedTime", X) is None
    tracking = order.findall("e:ShippingDetails/e:ShipmentTrackingDetails", X)
    assert len(tracking) == 1


def test_complete_sale_by_order_id_sets_order_shipped_time(sandbox):
    add_ebay_order(sandbox, lines=((EBAY_LINE, 1), ("110012345679-0", 1)))
    token = ebay_access_token(sandbox)
    inner = (
        "<Shipped>true</Shipped><Shipment><ShippedTime>2026-01-15T10:00:00.000Z"
        "</ShippedTime></Shipment>"
        f"<OrderID>{EBAY_ORDER}</OrderID>"
    )
    _response, root = trading(sandbox, "CompleteSale", inner, token)
    assert ack(root) == "Success"
    order = get_orders(sandbox, token)
    assert order.findtext("e:ShippedTime", namespaces=X) == "2026-01-15T10:00:00.000Z"
    for transaction in order.findall("e:TransactionArray/e:Transaction", X):
        assert transaction.findtext("e:ShippedTime", namespaces=X)
    assert sandbox.ebay_order(EBAY_ORDER)["fulfillment_status"] == "FULFILLED"


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({"X_EBAY_API_SITEID": "US"}, "10012"),
        ({"X_EBAY_API_COMPATIBILITY_LEVEL": "latest"}, "10012"),
        ({"X_EBAY_API_CALL_NAME": "GetOrders"}, "2"),
        ({"X_EBAY_API_CALL_NAME": "AddItem"}, "2"),
        ({"X_EBAY_API_IAF_TOKEN": None}, "930"),
        ({"X_EBAY_API_IAF_TOKEN": "v^1.1#i^1#unknown"}, "21916984"),
    ],
)
def test_trading_header_checks(sandbox, headers, code):
    add_ebay_order(sandbox)
    token = ebay_access_token(sandbox)
    inner = shipped_by_line(EBAY_LINE)
    _response, root = trading(sandbox, "CompleteSale", inner, token, **headers)
    assert ack(root) == "Failure"
    assert error_code(root) == code
    assert root.findtext("e:Errors/e:SeverityCode", namespaces=X) == "Error"
    assert root.findtext("e:Errors/e:ErrorClassification", namespaces=X) == (
        "RequestError"
    )
    assert root.findtext("e:Timestamp", namespaces=X)
    assert sandbox.ebay_order(EBAY_ORDER)["fulfillments"] == []


def test_trading_expired_iaf_token(sandbox):
    add_ebay_order(sandbox)
    token = ebay_access_token(sandbox)
    sandbox.clock.advance(7200)  # user access tokens live two hours
    _response, root = trading(
        sandbox, "CompleteSale", shipped_by_line(EBAY_LINE), token
    )
    assert error_code(root) == "21917053"
    assert (
        root.findtext("e:Errors/e:ShortMessage", namespaces=X) == "Expired IAF token."
    )


def test_trading_namespace_and_malformed_xml(sandbox):
    add_ebay_order(sandbox)
    token = ebay_access_token(sandbox)
    wrong_ns = '<CompleteSaleRequest xmlns="urn:example"><OrderID>1</OrderID>'
    _r, root = trading(
        sandbox, "CompleteSale", "", token, body=wrong_ns + "</CompleteSaleRequest>"
    )
    assert (ack(root), error_code(root)) == ("Failure", "5")
    _r, root = trading(sandbox, "CompleteSale", "", token, body="<CompleteSaleRequest")
    assert (ack(root), error_code(root)) == ("Failure", "5")
    assert root.findtext("e:Errors/e:ErrorClassification", namespaces=X) == (
        "RequestError"
    )


@pytest.mark.parametrize(
    "inner",
    [
        # OrderLineItemID must come after Shipped (CompleteSaleRequestType).
        f"<OrderLineItemID>{EBAY_LINE}</OrderLineItemID><Shipped>true</Shipped>",
        # Not an element of the schema.
        f"<Carrier>UPS</Carrier><OrderLineItemID>{EBAY_LINE}</OrderLineItemID>",
        f"<Shipped>yes</Shipped><OrderLineItemID>{EBAY_LINE}</OrderLineItemID>",
        # Carrier and tracking number are mutually dependent.
        (
            "<Shipment><ShipmentTrackingDetails><ShipmentTrackingNumber>1Z1"
            "</ShipmentTrackingNumber></ShipmentTrackingDetails></Shipment>"
            f"<OrderLineItemID>{EBAY_LINE}</OrderLineItemID>"
        ),
        # ShippedTime: xs:dateTime, at most 3 days ahead.
        (
            "<Shipment><ShippedTime>15/01/2026</ShippedTime></Shipment>"
            f"<OrderLineItemID>{EBAY_LINE}</OrderLineItemID>"
        ),
        (
            "<Shipment><ShippedTime>2999-01-01T00:00:00.000Z</ShippedTime></Shipment>"
            f"<OrderLineItemID>{EBAY_LINE}</OrderLineItemID>"
        ),
        # Exactly one way to name the order.
        (
            f"<Shipped>true</Shipped><OrderID>{EBAY_ORDER}</OrderID>"
            f"<OrderLineItemID>{EBAY_LINE}</OrderLineItemID>"
        ),
        "<ItemID>110012345678</ItemID><Shipped>true</Shipped>",
        "<Shipped>true</Shipped>",
        "<Shipped>true</Shipped><OrderID>99-99999-99999</OrderID>",
    ],
)
def test_complete_sale_request_errors(sandbox, inner):
    add_ebay_order(sandbox)
    token = ebay_access_token(sandbox)
    _response, root = trading(sandbox, "CompleteSale", inner, token)
    assert ack(root) == "Failure"
    assert root.findtext("e:Errors/e:ErrorClassification", namespaces=X) == (
        "RequestError"
    )
    assert sandbox.ebay_order(EBAY_ORDER)["line_items"][0]["shipped_time"] is None


def test_complete_sale_identifies_lines_by_item_and_transaction(sandbox):
    add_ebay_order(sandbox)
    token = ebay_access_token(sandbox)
    inner = "<ItemID>110012345678</ItemID><TransactionID>0</TransactionID>"
    _response, root = trading(
        sandbox, "CompleteSale", inner + "<Shipped>true</Shipped>", token
    )
    assert ack(root) == "Success"
    inner = "<Shipped>true</Shipped><OrderLineItemID>999-0</OrderLineItemID>"
    _response, root = trading(sandbox, "CompleteSale", inner, token)
    assert error_code(root) == "20822"


def test_tracking_number_of_another_order_is_refused(sandbox):
    add_ebay_order(sandbox)
    add_ebay_order(sandbox, order_id="12-34567-89013", lines=(("220012345678-0", 1),))
    token = ebay_access_token(sandbox)
    trading(sandbox, "CompleteSale", shipped_by_line(EBAY_LINE, "1Z999"), token)
    again = shipped_by_line(EBAY_LINE, "1Z999")
    _response, root = trading(sandbox, "CompleteSale", again, token)
    assert ack(root) == "Success"  # same order: no harm done
    other = shipped_by_line("220012345678-0", "1Z999")
    _response, root = trading(sandbox, "CompleteSale", other, token)
    assert error_code(root) == "21916964"


def test_trading_error_fault(sandbox):
    add_ebay_order(sandbox)
    token = ebay_access_token(sandbox)
    sandbox.inject_fault(
        "ebay.CompleteSale",
        trading_error={
            "code": "10007",
            "classification": "SystemError",
            "short": "Internal error",
            "long": "System error.",
        },
    )
    _response, root = trading(
        sandbox, "CompleteSale", shipped_by_line(EBAY_LINE), token
    )
    assert (ack(root), error_code(root)) == ("Failure", "10007")
    assert (
        root.findtext("e:Errors/e:ErrorClassification", namespaces=X) == "SystemError"
    )
    assert sandbox.ebay_order(EBAY_ORDER)["fulfillments"] == []


def test_get_orders_by_number_of_days_with_pagination(sandbox):
    for number in range(3):
        add_ebay_order(
            sandbox,
            order_id=f"12-00000-0000{number}",
            lines=((f"33000000000{number}-0", 1),),
        )
    token = ebay_access_token(sandbox)
    inner = (
        "<Pagination><EntriesPerPage>2</EntriesPerPage><PageNumber>2</PageNumber>"
        "</Pagination><NumberOfDays>1</NumberOfDays>"
    )
    _response, root = trading(sandbox, "GetOrders", inner, token)
    assert ack(root) == "Success"
    assert (
        root.findtext("e:PaginationResult/e:TotalNumberOfEntries", namespaces=X) == "3"
    )
    assert root.findtext("e:ReturnedOrderCountActual", namespaces=X) == "1"
    assert root.findtext("e:HasMoreOrders", namespaces=X) == "false"
    _response, root = trading(
        sandbox, "GetOrders", "<NumberOfDays>31</NumberOfDays>", token
    )
    assert error_code(root) == "37"


# ------------------------------------------------------------ eBay: REST


def test_ebay_token_endpoint(sandbox):
    response = ebay_token(sandbox)
    body = response.json()
    assert response.status_code == 200
    assert body["token_type"] == "User Access Token"
    assert body["expires_in"] == 7200
    response = ebay_token(sandbox, auth=None)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    sandbox.revoke_refresh_token("v^1.1#gone")
    response = ebay_token(sandbox, refresh_token="v^1.1#gone")
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_grant",
        "error_description": "the provided authorization grant code is invalid or "
        "was issued to another client",
    }


def test_a_revoked_consent_ends_its_access_tokens_too(sandbox):
    """eBay: a seller who revokes the app from My eBay ends the consent, not
    only the next refresh (KB 5218): a cached access token is refused on
    its next call, by both APIs, so the client meets invalid_grant."""
    add_ebay_order(sandbox, lines=((EBAY_LINE, 1),))
    other = ebay_access_token(sandbox, refresh_token="v^1.1#other")
    token = ebay_access_token(sandbox, refresh_token="v^1.1#gone")
    assert rest(sandbox, "GET", f"/order/{EBAY_ORDER}", token).status_code == 200
    sandbox.revoke_refresh_token("v^1.1#gone")
    response = rest(sandbox, "GET", f"/order/{EBAY_ORDER}", token)
    assert response.status_code == 401
    assert response.json()["errors"][0]["message"] == "Invalid access token"
    _response, root = trading(
        sandbox, "GetOrders", "<NumberOfDays>1</NumberOfDays>", token
    )
    assert error_code(root) == "21916984"
    assert rest(sandbox, "GET", f"/order/{EBAY_ORDER}", other).status_code == 200


def test_create_shipping_fulfillment_then_read_it_back(sandbox):
    add_ebay_order(sandbox, lines=((EBAY_LINE, 2), ("110012345679-0", 1)))
    token = ebay_access_token(sandbox)
    response = rest(
        sandbox,
        "POST",
        f"/order/{EBAY_ORDER}/shipping_fulfillment",
        token,
        json=fulfillment([(EBAY_LINE, 1)]),
    )
    assert response.status_code == 201
    assert response.content == b""
    location = response.headers["Location"]
    assert location == (
        f"{sandbox.url}/sell/fulfillment/v1/order/{EBAY_ORDER}"
        "/shipping_fulfillment/9400111899223100000001"
    )
    package = requests.get(
        location, headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT
    ).json()
    assert package["shipmentTrackingNumber"] == "9400111899223100000001"
    assert package["lineItems"] == [{"lineItemId": EBAY_LINE, "quantity": 1}]
    order = rest(sandbox, "GET", f"/order/{EBAY_ORDER}", token).json()
    assert order["orderFulfillmentStatus"] == "IN_PROGRESS"
    assert order["lineItems"][0]["lineItemFulfillmentStatus"] == "FULFILLED"
    assert order["cancelStatus"]["cancelState"] == "NONE_REQUESTED"
    assert order["fulfillmentHrefs"] == [location]
    listing = rest(sandbox, "GET", f"/order/{EBAY_ORDER}/shipping_fulfillment", token)
    assert listing.json()["total"] == 1
    # Trading sees the same order: the line is shipped, with its tracking.
    transaction = get_orders(sandbox, token).find("e:TransactionArray/e:Transaction", X)
    assert transaction.findtext("e:ShippedTime", namespaces=X) == (
        "2026-01-15T10:00:00.000Z"
    )


@pytest.mark.parametrize(
    ("body", "error_id"),
    [
        (fulfillment([(EBAY_LINE, 1)], tracking="1Z 999"), 32300),
        (fulfillment([(EBAY_LINE, 1)], tracking="1Z-999"), 32300),
        (fulfillment([(EBAY_LINE, 1)], tracking=None), 32300),
        (fulfillment([("999", 1)]), 32200),
        (fulfillment([(EBAY_LINE, 1), (EBAY_LINE, 1)]), 32210),
        (fulfillment([(EBAY_LINE, 1)], shippedDate="2026-01-15 10:00"), 32500),
        (fulfillment([(EBAY_LINE, 3)]), 32600),
        (fulfillment([(EBAY_LINE, 0)]), 32600),
        (fulfillment([]), 32600),
    ],
)
def test_create_shipping_fulfillment_errors(sandbox, body, error_id):
    add_ebay_order(sandbox)
    token = ebay_access_token(sandbox)
    path = f"/order/{EBAY_ORDER}/shipping_fulfillment"
    response = rest(sandbox, "POST", path, token, json=body)
    assert response.status_code == 400
    error = first_error(response)
    assert error["errorId"] == error_id
    assert (error["domain"], error["category"]) == ("API_FULFILLMENT", "REQUEST")
    assert sandbox.ebay_order(EBAY_ORDER)["fulfillments"] == []


def test_create_shipping_fulfillment_content_type_and_repeat(sandbox):
    add_ebay_order(sandbox)
    token = ebay_access_token(sandbox)
    path = f"/order/{EBAY_ORDER}/shipping_fulfillment"
    response = rest(
        sandbox,
        "POST",
        path,
        token,
        data=json.dumps(fulfillment([(EBAY_LINE, 1)])),
        headers={"Content-Type": "text/plain"},
    )
    assert response.status_code == 415
    assert rest(sandbox, "POST", path, token, json=fulfillment([(EBAY_LINE, 1)])).ok
    again = rest(sandbox, "POST", path, token, json=fulfillment([(EBAY_LINE, 1)]))
    assert first_error(again)["errorId"] == 34500
    missing = rest(
        sandbox,
        "POST",
        "/order/99-99999-99999/shipping_fulfillment",
        token,
        json=fulfillment([(EBAY_LINE, 1)]),
    )
    assert first_error(missing)["errorId"] == 32100


def test_rest_token_checks(sandbox):
    add_ebay_order(sandbox)
    response = rest(sandbox, "GET", f"/order/{EBAY_ORDER}", "v^1.1#i^1#bogus")
    assert response.status_code == 401
    assert first_error(response)["errorId"] == 1001
    token = ebay_access_token(sandbox)
    sandbox.expire_access_tokens()
    assert rest(sandbox, "GET", f"/order/{EBAY_ORDER}", token).status_code == 401
    amazon = amazon_token(sandbox)
    assert rest(sandbox, "GET", f"/order/{EBAY_ORDER}", amazon).status_code == 401
    readonly = ebay_token(
        sandbox, scope="https://api.ebay.com/oauth/api_scope/sell.fulfillment.readonly"
    ).json()["access_token"]
    assert rest(sandbox, "GET", f"/order/{EBAY_ORDER}", readonly).status_code == 200
    path = f"/order/{EBAY_ORDER}/shipping_fulfillment"
    denied = rest(sandbox, "POST", path, readonly, json=fulfillment([(EBAY_LINE, 1)]))
    assert denied.status_code == 403


def test_get_orders_by_ids_and_newest_order_probe(sandbox):
    long_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=200)
    add_ebay_order(sandbox, created_time=long_ago)
    add_ebay_order(
        sandbox,
        order_id="12-34567-89013",
        lines=(("220012345678-0", 1),),
        created_time=None,  # now
    )
    token = ebay_access_token(sandbox)
    page = rest(
        sandbox, "GET", "/order", token, params={"orderIds": f"{EBAY_ORDER},unknown-1"}
    ).json()
    assert page["total"] == 1
    assert page["orders"][0]["orderId"] == EBAY_ORDER
    assert page["href"].startswith(sandbox.url + "/sell/fulfillment/v1/order?")
    probe = rest(sandbox, "GET", "/order", token, params={"limit": "1"}).json()
    assert [o["orderId"] for o in probe["orders"]] == ["12-34567-89013"]
    assert (probe["limit"], probe["offset"], probe["total"]) == (1, 0, 1)
    assert "next" not in probe  # the older order is outside the default 90 days
    bad = rest(sandbox, "GET", "/order", token, params={"limit": "500"})
    assert first_error(bad)["errorId"] == 31100
    assert rest(sandbox, "GET", "/order/99-99999-99999", token).status_code == 404


def test_rest_error_fault(sandbox):
    add_ebay_order(sandbox)
    token = ebay_access_token(sandbox)
    sandbox.inject_fault(
        "ebay.createShippingFulfillment", rest_error={"errorId": 30500}
    )
    path = f"/order/{EBAY_ORDER}/shipping_fulfillment"
    response = rest(sandbox, "POST", path, token, json=fulfillment([(EBAY_LINE, 1)]))
    assert response.status_code == 500
    assert first_error(response) == {
        "errorId": 30500,
        "domain": "API_FULFILLMENT",
        "category": "APPLICATION",
        "message": "System error",
    }


# -------------------------------------------------- control API and CLI


def test_control_over_http(sandbox):
    control = sandbox.url + "/_sandbox/"
    order = {"order_id": AMAZON_ORDER, "items": [{"order_item_id": "1", "quantity": 1}]}
    assert requests.post(control + "amazon/orders", json=order, timeout=TIMEOUT).ok
    fault = {"operation": "amazon.getOrder", "status": 500}
    assert requests.post(control + "faults", json=fault, timeout=TIMEOUT).ok
    bad = requests.post(control + "faults", json={"operation": "x"}, timeout=TIMEOUT)
    assert bad.status_code == 400
    token = amazon_token(sandbox)
    assert amazon_order(sandbox, token).status_code == 500
    logged = requests.get(
        control + "requests", params={"operation": "amazon.getOrder"}, timeout=TIMEOUT
    ).json()
    assert [entry["status"] for entry in logged] == [500]
    state = requests.get(control + "state", timeout=TIMEOUT).json()
    assert state["amazon_orders"][0]["order_id"] == AMAZON_ORDER
    assert requests.post(control + "reset", timeout=TIMEOUT).ok
    assert sandbox.requests() == []


def test_loopback_only():
    with pytest.raises(ValueError):
        SandboxServer(host="0.0.0.0")
    with pytest.raises(ValueError):
        SandboxServer(host="10.1.2.3")


def test_cli_serves_a_seed_file(tmp_path):
    seed = {
        "amazon_orders": [
            {"order_id": AMAZON_ORDER, "items": [{"order_item_id": "1", "quantity": 1}]}
        ],
        "ebay_orders": [
            {
                "order_id": EBAY_ORDER,
                "line_items": [{"line_item_id": "1-0", "quantity": 1}],
            }
        ],
        "catalog": [{"asin": "B07N4M94X4", "title": "TV"}],
    }
    seed_file = tmp_path / "seed.json"
    seed_file.write_text(json.dumps(seed))
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", "0", "--seed", str(seed_file)],
        cwd=REPO_ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = _wait_for_listening_line(process)
        state = requests.get(url + "/_sandbox/state", timeout=TIMEOUT).json()
        assert [o["order_id"] for o in state["amazon_orders"]] == [AMAZON_ORDER]
        assert [o["order_id"] for o in state["ebay_orders"]] == [EBAY_ORDER]
        assert state["catalog"] == ["B07N4M94X4"]
    finally:
        process.terminate()
        process.wait(timeout=TIMEOUT)


def _wait_for_listening_line(process):
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if "listening on " in line:
            return line.rsplit("listening on ", 1)[1].strip()
        if not line and process.poll() is not None:
            break
    raise AssertionError("the sandbox CLI did not start")


def test_cli_refuses_a_public_host():
    from sandbox.__main__ import main

    assert main(["--host", "0.0.0.0", "--port", "0"]) == 2
