"""The marketplace's truth, as strict as the marketplaces (issue 18, D).

- eBay orders cancelled, at creation or after they shipped (control API):
  Trading ``OrderStatus`` / ``CancelStatus``, REST ``cancelStatus``.
- Trading tracking numbers: letters and digits only (ShipmentTrackingDetailsType
  note), anything else error 37 on the tag.
- Amazon: a new package on an order other packages already fulfilled is the
  PackageToUpdateNotFound 400 of selling-partner-api-models #5037.
- Amazon getOrder packages without ``packageItems`` (OrderPackage requires
  only packageReferenceId), a switch per order.
- eBay REST 32500 "Invalid shipped date" for a shippedDate in the future or
  before the order was created.
- Amazon orders of another marketplace of the seller's region: getOrder's
  ``salesChannel.marketplaceId`` names it, confirmShipment wants it.
"""

import datetime

import pytest
import requests
from test_sandbox import (
    AMAZON_ITEM,
    AMAZON_ORDER,
    EBAY_LINE,
    EBAY_ORDER,
    TIMEOUT,
    X,
    ack,
    add_amazon_order,
    add_ebay_order,
    amazon_order,
    amazon_token,
    confirm,
    confirmation,
    ebay_access_token,
    error_code,
    first_error,
    fulfillment,
    get_orders,
    rest,
    shipped_by_line,
    trading,
)

DE, FR = "A1PA6795UKMFR9", "A13V1IB3VIYZZH"  # Amazon.de, Amazon.fr (EU region)


def control(sandbox, path, payload):
    return requests.post(
        f"{sandbox.url}/_sandbox/{path}", json=payload, timeout=TIMEOUT
    )


def rest_order(sandbox, token, order_id=EBAY_ORDER):
    response = rest(sandbox, "GET", f"/order/{order_id}", token)
    assert response.status_code == 200, response.text
    return response.json()


# ------------------------------------------------------- eBay: cancelled


def test_ebay_order_cancelled_at_creation_in_both_apis(sandbox):
    add_ebay_order(sandbox, cancel_state="CANCELED")
    token = ebay_access_token(sandbox)

    order = get_orders(sandbox, token)
    assert order.findtext("e:OrderStatus", namespaces=X) == "Cancelled"
    assert order.findtext("e:CancelStatus", namespaces=X) == "CancelComplete"
    status = rest_order(sandbox, token)["cancelStatus"]
    assert status["cancelState"] == "CANCELED"
    assert status["cancelledDate"].endswith("Z")


def test_ebay_order_cancelled_after_it_shipped_through_the_control_api(sandbox):
    add_ebay_order(sandbox)
    token = ebay_access_token(sandbox)
    _r, root = trading(sandbox, "CompleteSale", shipped_by_line(EBAY_LINE), token)
    assert ack(root) == "Success"
    assert rest_order(sandbox, token)["cancelStatus"] == {
        "cancelState": "NONE_REQUESTED",
        "cancelRequests": [],
    }

    response = control(sandbox, "ebay/orders/cancel", {"order_id": EBAY_ORDER})

    assert response.status_code == 200, response.text
    assert response.json()["cancel_state"] == "CANCELED"
    order = get_orders(sandbox, token)
    assert order.findtext("e:OrderStatus", namespaces=X) == "Cancelled"
    assert order.findtext("e:CancelStatus", namespaces=X) == "CancelComplete"
    # The tracking already given stays on the order.
    assert order.find("e:ShippingDetails/e:ShipmentTrackingDetails", X) is not None
    view = rest_order(sandbox, token)
    assert view["cancelStatus"]["cancelState"] == "CANCELED"
    assert view["orderFulfillmentStatus"] == "FULFILLED"


def test_ebay_cancellation_requested_then_withdrawn(sandbox):
    add_ebay_order(sandbox)
    token = ebay_access_token(sandbox)
    sandbox.cancel_ebay_order(EBAY_ORDER, cancel_state="IN_PROGRESS")
    order = get_orders(sandbox, token)
    assert order.findtext("e:OrderStatus", namespaces=X) == "CancelPending"
    assert order.findtext("e:CancelStatus", namespaces=X) == "CancelPending"
    status = rest_order(sandbox, token)["cancelStatus"]
    assert status["cancelState"] == "IN_PROGRESS"
    assert "cancelledDate" not in status
    sandbox.cancel_ebay_order(EBAY_ORDER, cancel_state="NONE_REQUESTED")
    assert rest_order(sandbox, token)["cancelStatus"]["cancelState"] == "NONE_REQUESTED"


def test_ebay_cancel_control_refuses_unknown_orders_and_states(sandbox):
    add_ebay_order(sandbox)
    assert (
        control(sandbox, "ebay/orders/cancel", {"order_id": "1-2-3"}).status_code == 400
    )
    bad = control(
        sandbox, "ebay/orders/cancel", {"order_id": EBAY_ORDER, "cancel_state": "GONE"}
    )
    assert bad.status_code == 400
    assert "cancel_state" in bad.json()["error"]


# ---------------------------------------------- Trading: tracking characters


@pytest.mark.parametrize(
    "number", ["1Z999-AA1 01 23456784", "1Z999AA1.0123", "1Z/999", "1Z_999", "1Zé999"]
)
def test_trading_tracking_number_takes_letters_and_digits_only(sandbox, number):
    add_ebay_order(sandbox)
    token = ebay_access_token(sandbox)

    _r, root = trading(
        sandbox, "CompleteSale", shipped_by_line(EBAY_LINE, number), token
    )

    assert ack(root) == "Failure"
    assert error_code(root) == "37"
    assert "ShipmentTrackingNumber" in root.findtext(
        "e:Errors/e:LongMessage", namespaces=X
    )
    order = sandbox.ebay_order(EBAY_ORDER)
    assert order["fulfillments"] == []
    assert [line["shipped_time"] for line in order["line_items"]] == [None]


def test_trading_deprecated_flat_tracking_number_is_checked_too(sandbox):
    add_ebay_order(sandbox)
    token = ebay_access_token(sandbox)
    inner = (
        "<Shipped>true</Shipped><Shipment>"
        "<ShippingCarrierUsed>UPS</ShippingCarrierUsed>"
        "<ShipmentTrackingNumber>1Z 999</ShipmentTrackingNumber>"
        f"</Shipment><OrderID>{EBAY_ORDER}</OrderID>"
    )
    _r, root = trading(sandbox, "CompleteSale", inner, token)
    assert (ack(root), error_code(root)) == ("Failure", "37")


def test_trading_holds_the_normalised_number(sandbox):
    add_ebay_order(sandbox)
    token = ebay_access_token(sandbox)
    inner = shipped_by_line(EBAY_LINE, "1Z999AA10123456784", "UPS")
    _r, root = trading(sandbox, "CompleteSale", inner, token)
    assert ack(root) == "Success"
    [package] = sandbox.ebay_order(EBAY_ORDER)["fulfillments"]
    assert package["tracking_number"] == "1Z999AA10123456784"


# ------------------------------------------- Amazon: PackageToUpdateNotFound


PACKAGE_TO_UPDATE_NOT_FOUND = {
    "code": "InvalidInput",
    "message": "Failed to create package due to not finding a matching package or "
    "order already fulfilled.  ErrorMessage(errorCode=GeneralError, "
    "errorDescription=Unable to find package to update for order (), "
    "errorMetric=PackageToUpdateNotFound, packageIndex=null)",
}


def test_new_package_on_an_order_shipped_under_another_is_package_to_update_not_found(
    sandbox,
):
    add_amazon_order(sandbox, quantity=1)
    token = amazon_token(sandbox)
    assert confirm(sandbox, token, confirmation("1", 1)).status_code == 204

    response = confirm(
        sandbox, token, confirmation("2", 1, trackingNumber="1Z999AA10123456784")
    )

    assert response.status_code == 400
    assert response.json() == {"errors": [PACKAGE_TO_UPDATE_NOT_FOUND]}
    assert response.headers["x-amzn-RateLimit-Limit"] == "2.0"
    [package] = sandbox.amazon_order(AMAZON_ORDER)["packages"]
    assert package["package_reference_id"] == "1"
    # The package already there may still be edited (same packageReferenceId).
    edit = confirmation("1", 1, trackingNumber="1Z999AA10123456784", carrierCode="UPS")
    assert confirm(sandbox, token, edit).status_code == 204


# -------------------------------------- Amazon: packages without packageItems


def test_get_order_packages_without_package_items_per_order(sandbox):
    add_amazon_order(sandbox, package_items=False)
    token = amazon_token(sandbox)
    assert confirm(sandbox, token, confirmation("1", 1)).status_code == 204

    [package] = amazon_order(sandbox, token).json()["order"]["packages"]

    assert "packageItems" not in package
    assert package["packageReferenceId"] == "1"
    assert package["trackingNumber"] == "112345678"
    # The confirmation itself was recorded with its items.
    [stored] = sandbox.amazon_order(AMAZON_ORDER)["packages"]
    assert stored["items"][0]["order_item_id"] == AMAZON_ITEM


def test_package_items_switch_through_the_control_api(sandbox):
    add_amazon_order(sandbox)
    token = amazon_token(sandbox)
    confirm(sandbox, token, confirmation("1", 1))
    [package] = amazon_order(sandbox, token).json()["order"]["packages"]
    assert package["packageItems"][0]["orderItemId"] == AMAZON_ITEM

    response = control(
        sandbox,
        "amazon/orders/update",
        {"order_id": AMAZON_ORDER, "package_items": False},
    )

    assert response.status_code == 200, response.text
    assert response.json()["package_items_shown"] is False
    [package] = amazon_order(sandbox, token).json()["order"]["packages"]
    assert "packageItems" not in package
    sandbox.update_amazon_order(AMAZON_ORDER, package_items=True)
    [package] = amazon_order(sandbox, token).json()["order"]["packages"]
    assert package["packageItems"]


def test_amazon_order_cancelled_after_confirmation_through_the_control_api(sandbox):
    add_amazon_order(sandbox, quantity=1)
    token = amazon_token(sandbox)
    confirm(sandbox, token, confirmation("1", 1))
    response = control(
        sandbox,
        "amazon/orders/update",
        {"order_id": AMAZON_ORDER, "status": "Canceled"},
    )
    assert response.status_code == 200, response.text
    order = amazon_order(sandbox, token).json()["order"]
    assert order["fulfillment"]["fulfillmentStatus"] == "CANCELLED"
    assert (
        control(
            sandbox,
            "amazon/orders/update",
            {"order_id": AMAZON_ORDER, "status": "LOST"},
        ).status_code
        == 400
    )


# ----------------------------------------------- eBay REST: 32500 shipped date


def _iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_rest_shipped_date_in_the_future_is_32500(sandbox):
    add_ebay_order(sandbox)
    token = ebay_access_token(sandbox)
    tomorrow = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
    path = f"/order/{EBAY_ORDER}/shipping_fulfillment"

    response = rest(
        sandbox,
        "POST",
        path,
        token,
        json=fulfillment([(EBAY_LINE, 1)], shippedDate=_iso(tomorrow)),
    )

    assert response.status_code == 400
    error = first_error(response)
    assert (error["errorId"], error["category"], error["message"]) == (
        32500,
        "REQUEST",
        "Invalid shipped date",
    )
    assert "future" in error["longMessage"]
    assert sandbox.ebay_order(EBAY_ORDER)["fulfillments"] == []


def test_rest_shipped_date_before_the_order_was_created_is_32500(sandbox):
    add_ebay_order(sandbox, created_time="2026-01-20T08:00:00Z")
    token = ebay_access_token(sandbox)
    path = f"/order/{EBAY_ORDER}/shipping_fulfillment"
    early = fulfillment([(EBAY_LINE, 1)], shippedDate="2026-01-19T23:59:59.000Z")

    response = rest(sandbox, "POST", path, token, json=early)

    assert (response.status_code, first_error(response)["errorId"]) == (400, 32500)
    assert "before the order was created" in first_error(response)["longMessage"]
    # The second the order was created, and now, are fine.
    same = fulfillment([(EBAY_LINE, 1)], shippedDate="2026-01-20T08:00:00.000Z")
    assert rest(sandbox, "POST", path, token, json=same).status_code == 201


def test_rest_shipped_date_within_the_clock_skew_is_taken(sandbox):
    add_ebay_order(sandbox)
    token = ebay_access_token(sandbox)
    sandbox.clock.freeze()
    soon = sandbox.clock.utcnow() + datetime.timedelta(minutes=2)
    body = fulfillment([(EBAY_LINE, 1)], shippedDate=_iso(soon))
    path = f"/order/{EBAY_ORDER}/shipping_fulfillment"
    assert rest(sandbox, "POST", path, token, json=body).status_code == 201


# --------------------------------- Amazon: another marketplace of the region


@pytest.fixture
def fr_order(sandbox):
    """An Amazon.fr order, held by a pan-European seller (its account: .de)."""
    sandbox.add_amazon_order(
        AMAZON_ORDER,
        marketplace_id=FR,
        items=[{"order_item_id": AMAZON_ITEM, "quantity": 1, "sku": "SKU-1"}],
    )


def eu_confirm(sandbox, token, marketplace_id):
    body = confirmation("1", 1)
    body["marketplaceId"] = marketplace_id
    return requests.post(
        f"{sandbox.amazon_url('eu')}/orders/v0/orders/{AMAZON_ORDER}/shipmentConfirmation",
        json=body,
        headers={"x-amz-access-token": token},
        timeout=TIMEOUT,
    )


def test_get_order_names_the_orders_marketplace_in_sales_channel(sandbox, fr_order):
    token = amazon_token(sandbox)
    response = requests.get(
        f"{sandbox.amazon_url('eu')}/orders/2026-01-01/orders/{AMAZON_ORDER}",
        headers={"x-amz-access-token": token},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200
    channel = response.json()["order"]["salesChannel"]
    assert channel["marketplaceId"] == FR
    assert channel["channelName"] == "AMAZON"


def test_confirmation_with_the_accounts_marketplace_is_refused(sandbox, fr_order):
    token = amazon_token(sandbox)

    response = eu_confirm(sandbox, token, DE)

    assert response.status_code == 400
    error = first_error(response)
    assert error["code"] == "InvalidInput"
    assert DE in error["message"]
    assert sandbox.amazon_order(AMAZON_ORDER)["packages"] == []


def test_confirmation_with_the_orders_marketplace_is_recorded(sandbox, fr_order):
    token = amazon_token(sandbox)
    assert eu_confirm(sandbox, token, FR).status_code == 204
    [package] = sandbox.amazon_order(AMAZON_ORDER)["packages"]
    assert package["tracking_number"] == "112345678"
    logged = [
        e for e in sandbox.requests() if e["path"].endswith("shipmentConfirmation")
    ]
    assert [e["json"]["marketplaceId"] for e in logged] == [FR]
