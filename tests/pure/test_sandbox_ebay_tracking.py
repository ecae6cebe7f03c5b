"""Where eBay tracking lands, and when eBay refuses it.

- CompleteSale by OrderID applies to the order as a whole ("CompleteSale
  applies to the specified order as a whole (and thus the child transactions
  associated with the order)", CompleteSaleRequestType.OrderID); by line, to
  that line only; the order-level ShippedTime is set by OrderID only (KB 1640).
- REST: one fulfillment per tracking number; POSTing a number the order
  already has is errorId 34500 "Please use PUT operation for updating
  shipping fulfillment" (OAS, listed under 400).
- Trading: a number already used on an order of another buyer is 21916964
  (KB 5021).
"""

import pytest
from test_sandbox import (
    X,
    ack,
    ebay_access_token,
    error_code,
    first_error,
    fulfillment,
    get_orders,
    rest,
    shipped_by_line,
    trading,
)

ORDER = "12-34567-89012"
OTHER = "12-34567-89013"
LINE_A, LINE_B = "110012345678-0", "110012345679-0"  # REST id = Trading id here


def add_order(sandbox, order_id=ORDER, lines=(LINE_A, LINE_B), **kwargs):
    kwargs.setdefault("created_time", "2026-01-01T00:00:00Z")  # before ship dates
    return sandbox.add_ebay_order(
        order_id,
        line_items=[
            {
                "line_item_id": line_id,
                "quantity": 1 + number,
                "item_id": line_id.split("-")[0],
                "transaction_id": "0",
            }
            for number, line_id in enumerate(lines)
        ],
        **kwargs,
    )


def by_order(order_id, *numbers, carrier="USPS", shipped_time=None):
    details = "".join(
        "<ShipmentTrackingDetails>"
        f"<ShippingCarrierUsed>{carrier}</ShippingCarrierUsed>"
        f"<ShipmentTrackingNumber>{number}</ShipmentTrackingNumber>"
        "</ShipmentTrackingDetails>"
        for number in numbers
    )
    when = f"<ShippedTime>{shipped_time}</ShippedTime>" if shipped_time else ""
    return (
        f"<Shipped>true</Shipped><Shipment>{when}{details}</Shipment>"
        f"<OrderID>{order_id}</OrderID>"
    )


def transaction_numbers(order_element):
    return [
        [
            d.findtext("e:ShipmentTrackingNumber", namespaces=X)
            for d in t.findall("e:ShippingDetails/e:ShipmentTrackingDetails", X)
        ]
        for t in order_element.findall("e:TransactionArray/e:Transaction", X)
    ]


def fulfillments(sandbox, token, order_id=ORDER):
    path = f"/order/{order_id}/shipping_fulfillment"
    return rest(sandbox, "GET", path, token).json()["fulfillments"]


# ------------------------------------------------ order-level tracking


def test_tracking_by_order_id_applies_to_every_line(sandbox):
    add_order(sandbox)
    token = ebay_access_token(sandbox)

    _r, root = trading(sandbox, "CompleteSale", by_order(ORDER, "9400100000"), token)

    assert ack(root) == "Success"
    order = get_orders(sandbox, token)
    assert transaction_numbers(order) == [["9400100000"], ["9400100000"]]
    assert order.findtext("e:ShippedTime", namespaces=X)
    [package] = fulfillments(sandbox, token)
    assert package["shipmentTrackingNumber"] == "9400100000"
    assert package["lineItems"] == [
        {"lineItemId": LINE_A, "quantity": 1},
        {"lineItemId": LINE_B, "quantity": 2},
    ]
    body = rest(sandbox, "GET", f"/order/{ORDER}", token).json()
    assert body["orderFulfillmentStatus"] == "FULFILLED"


def test_order_tracking_after_line_tracking_covers_every_line(sandbox):
    add_order(sandbox)
    token = ebay_access_token(sandbox)
    trading(sandbox, "CompleteSale", shipped_by_line(LINE_A, "9400100001"), token)

    _r, root = trading(sandbox, "CompleteSale", by_order(ORDER, "9400100002"), token)

    assert ack(root) == "Success"
    assert transaction_numbers(get_orders(sandbox, token)) == [
        ["9400100001", "9400100002"],
        ["9400100002"],
    ]


def test_shipped_by_order_id_without_tracking_adds_none(sandbox):
    add_order(sandbox)
    token = ebay_access_token(sandbox)
    inner = by_order(ORDER, shipped_time="2026-01-15T10:00:00.000Z")

    _r, root = trading(sandbox, "CompleteSale", inner, token)

    assert ack(root) == "Success"
    order = get_orders(sandbox, token)
    # KB 1640: the order-level ShippedTime comes from a call by OrderID.
    assert order.findtext("e:ShippedTime", namespaces=X) == "2026-01-15T10:00:00.000Z"
    for transaction in order.findall("e:TransactionArray/e:Transaction", X):
        assert transaction.findtext("e:ShippedTime", namespaces=X) == (
            "2026-01-15T10:00:00.000Z"
        )
    assert transaction_numbers(order) == [[], []]
    assert order.find("e:ShippingDetails/e:ShipmentTrackingDetails", X) is None
    assert fulfillments(sandbox, token) == []
    assert sandbox.ebay_order(ORDER)["fulfillments"] == []


def test_tracking_by_line_stays_on_that_line(sandbox):
    add_order(sandbox)
    token = ebay_access_token(sandbox)

    trading(sandbox, "CompleteSale", shipped_by_line(LINE_B, "9400100003"), token)

    order = get_orders(sandbox, token)
    assert transaction_numbers(order) == [[], ["9400100003"]]
    assert order.find("e:ShippedTime", X) is None  # not by OrderID (KB 1640)
    [package] = fulfillments(sandbox, token)
    assert package["lineItems"] == [{"lineItemId": LINE_B, "quantity": 2}]


# ------------------------------------------- REST: duplicate tracking


def post(sandbox, token, body, order_id=ORDER):
    path = f"/order/{order_id}/shipping_fulfillment"
    return rest(sandbox, "POST", path, token, json=body)


@pytest.mark.parametrize(
    "recorded",
    [
        "1Z999AA10123456784",  # the same number
        "1z999aa10123456784",  # the same number, as a carrier reads it
    ],
)
def test_rest_post_of_a_number_the_order_has_is_34500(sandbox, recorded):
    add_order(sandbox)
    token = ebay_access_token(sandbox)
    _r, root = trading(
        sandbox, "CompleteSale", shipped_by_line(LINE_A, recorded, "UPS"), token
    )
    assert ack(root) == "Success"

    response = post(
        sandbox, token, fulfillment([(LINE_B, 1)], "1Z999AA10123456784", "UPS")
    )

    assert response.status_code == 400
    assert first_error(response) == {
        "errorId": 34500,
        "domain": "API_FULFILLMENT",
        "category": "REQUEST",
        "message": "Please use PUT operation for updating shipping fulfillment",
    }
    [package] = fulfillments(sandbox, token)
    assert package["lineItems"] == [{"lineItemId": LINE_A, "quantity": 1}]
    assert (
        rest(sandbox, "GET", f"/order/{ORDER}", token).json()["lineItems"][1][
            "lineItemFulfillmentStatus"
        ]
        == "NOT_STARTED"
    )


def test_rest_post_repeated_creates_nothing_more(sandbox):
    add_order(sandbox)
    token = ebay_access_token(sandbox)
    body = fulfillment([(LINE_A, 1)], "9400100010")
    assert post(sandbox, token, body).status_code == 201

    again = post(sandbox, token, fulfillment([(LINE_B, 1)], "9400100010"))

    assert (again.status_code, first_error(again)["errorId"]) == (400, 34500)
    assert len(sandbox.ebay_order(ORDER)["fulfillments"]) == 1


def test_package_without_tracking_never_takes_a_tracking_number_id(sandbox):
    add_order(sandbox)
    token = ebay_access_token(sandbox)
    untracked = fulfillment([(LINE_A, 1)], tracking=None, carrier=None)
    location = post(sandbox, token, untracked).headers["Location"]
    generated = location.rsplit("/", 1)[1]

    # A real tracking number that happens to equal that generated id.
    response = post(sandbox, token, fulfillment([(LINE_B, 1)], generated))

    assert response.status_code == 201
    assert len(fulfillments(sandbox, token)) == 2


# ------------------------------- Trading: a number of another buyer's order


def errors(root):
    return [
        {
            child.tag.split("}")[1]: (child.text or "")
            for child in error
            if child.tag.split("}")[1] != "ErrorParameters"
        }
        for error in root.findall("e:Errors", X)
    ]


@pytest.mark.parametrize("by_rest", [False, True])
def test_number_of_another_buyers_order_is_21916964(sandbox, by_rest):
    add_order(sandbox)
    add_order(sandbox, OTHER, lines=("120012345678-0",))
    token = ebay_access_token(sandbox)
    if by_rest:
        body = fulfillment([("120012345678-0", 1)], "9400100020")
        assert post(sandbox, token, body, OTHER).status_code == 201
    else:
        other = shipped_by_line("120012345678-0", "9400100020")
        assert ack(trading(sandbox, "CompleteSale", other, token)[1]) == "Success"

    # Two packages in one call, one of them already used elsewhere.
    _r, root = trading(
        sandbox, "CompleteSale", by_order(ORDER, "9400100021", "9400100020"), token
    )

    assert ack(root) == "Failure"
    assert errors(root) == [
        {
            "ShortMessage": "Tracking number(s) already exists.",
            "LongMessage": "One (or more) tracking number(s) in the request "
            "already exists either for a different buyer or for a different "
            "seller.",
            "ErrorCode": "21916964",
            "SeverityCode": "Error",
            "ErrorClassification": "RequestError",
        }
    ]
    # Nothing of the call is recorded: no package, not even shipped.
    order = sandbox.ebay_order(ORDER)
    assert order["fulfillments"] == []
    assert order["shipped_time"] is None
    assert [line["shipped_time"] for line in order["line_items"]] == [None, None]


def test_number_of_the_same_buyers_other_order_is_accepted(sandbox):
    add_order(sandbox, buyer="jordan_b")
    add_order(sandbox, OTHER, lines=("120012345678-0",), buyer="jordan_b")
    token = ebay_access_token(sandbox)
    trading(sandbox, "CompleteSale", by_order(OTHER, "9400100030"), token)

    _r, root = trading(sandbox, "CompleteSale", by_order(ORDER, "9400100030"), token)

    assert ack(root) == "Success"
    assert transaction_numbers(get_orders(sandbox, token)) == [
        ["9400100030"],
        ["9400100030"],
    ]


def test_same_number_again_on_the_same_order_is_success(sandbox):
    add_order(sandbox)
    add_order(sandbox, OTHER, lines=("120012345678-0",))
    token = ebay_access_token(sandbox)
    for inner in (
        shipped_by_line(LINE_A, "9400100040"),
        shipped_by_line(LINE_A, "9400100040"),  # the same line again
        shipped_by_line(LINE_B, "9400100040"),  # another line of the order
        by_order(ORDER, "9400100040"),
    ):
        _r, root = trading(sandbox, "CompleteSale", inner, token)
        assert (ack(root), error_code(root)) == ("Success", None)
        assert root.find("e:Errors", X) is None

    [package] = sandbox.ebay_order(ORDER)["fulfillments"]
    assert [line["line_item_id"] for line in package["line_items"]] == [
        LINE_A,
        LINE_B,
    ]


# ------------------------------- Trading: units of a line in a package
# ShipmentTrackingDetails > ShipmentLineItem > LineItem (Quantity?,
# CountryOfOrigin?, Description?, ItemID, TransactionID): how many units of
# a line one package holds (ShipmentLineItemType / LineItemType).


def line_units(line_id, number, *items):
    """CompleteSale of ``line_id`` whose package ``number`` names ``items``
    as LineItem bodies."""
    units = "".join(f"<LineItem>{item}</LineItem>" for item in items)
    return (
        "<Shipped>true</Shipped><Shipment><ShipmentTrackingDetails>"
        "<ShippingCarrierUsed>USPS</ShippingCarrierUsed>"
        f"<ShipmentTrackingNumber>{number}</ShipmentTrackingNumber>"
        f"<ShipmentLineItem>{units}</ShipmentLineItem>"
        f"</ShipmentTrackingDetails></Shipment><OrderLineItemID>{line_id}"
        "</OrderLineItemID>"
    )


def units_of(line_id, quantity):
    item_id, transaction_id = line_id.split("-")
    return (
        f"<Quantity>{quantity}</Quantity><ItemID>{item_id}</ItemID>"
        f"<TransactionID>{transaction_id}</TransactionID>"
    )


OUT_OF_ORDER = (
    "<ItemID>110012345679</ItemID><Quantity>1</Quantity>"
    "<TransactionID>0</TransactionID>"
)


def transaction_units(order_element):
    """[[(tracking number, units or None)] per Transaction]."""
    return [
        [
            (
                d.findtext("e:ShipmentTrackingNumber", namespaces=X),
                d.findtext("e:ShipmentLineItem/e:LineItem/e:Quantity", namespaces=X),
            )
            for d in t.findall("e:ShippingDetails/e:ShipmentTrackingDetails", X)
        ]
        for t in order_element.findall("e:TransactionArray/e:Transaction", X)
    ]


def test_a_package_holds_the_units_its_line_item_names(sandbox):
    add_order(sandbox)  # LINE_B: 2 units bought
    token = ebay_access_token(sandbox)

    _response, root = trading(
        sandbox,
        "CompleteSale",
        line_units(LINE_B, "9400100011", units_of(LINE_B, 1)),
        token,
    )

    assert ack(root) == "Success"
    order = get_orders(sandbox, token)
    assert transaction_units(order) == [[], [("9400100011", "1")]]
    [package] = fulfillments(sandbox, token)
    assert package["lineItems"] == [{"lineItemId": LINE_B, "quantity": 1}]
    # the rest in a second package: the line is then shipped in full
    _response, root = trading(
        sandbox,
        "CompleteSale",
        line_units(LINE_B, "9400100012", units_of(LINE_B, 1)),
        token,
    )
    assert ack(root) == "Success"
    assert transaction_units(get_orders(sandbox, token))[1] == [
        ("9400100011", "1"),
        ("9400100012", "1"),
    ]


def test_the_same_package_again_replaces_its_units(sandbox):
    add_order(sandbox)
    token = ebay_access_token(sandbox)
    for quantity in (1, 2):
        _response, root = trading(
            sandbox,
            "CompleteSale",
            line_units(LINE_B, "9400100013", units_of(LINE_B, quantity)),
            token,
        )
        assert ack(root) == "Success"
    assert transaction_units(get_orders(sandbox, token))[1] == [("9400100013", "2")]


@pytest.mark.parametrize(
    "items, tag",
    [
        ((units_of(LINE_B, 3),), "LineItem.Quantity"),  # 2 bought
        ((units_of(LINE_B, 0),), "LineItem.Quantity"),
        ((units_of(LINE_B, "1.5"),), "LineItem.Quantity"),
        # another line than the call's OrderLineItemID
        ((units_of(LINE_A, 1),), "LineItem.ItemID"),
        # LineItemType order: Quantity comes first
        (
            (OUT_OF_ORDER,),
            "LineItem.Quantity",
        ),
        (("<Quantity>1</Quantity><ItemID>110012345679</ItemID>",), "TransactionID"),
        ((), "ShipmentLineItem.LineItem"),  # LineItem [1..*]
    ],
)
def test_line_units_eBay_cannot_take_are_refused(sandbox, items, tag):
    add_order(sandbox)
    token = ebay_access_token(sandbox)

    _response, root = trading(
        sandbox, "CompleteSale", line_units(LINE_B, "9400100014", *items), token
    )

    assert ack(root) == "Failure"
    assert error_code(root) == "37"
    assert tag in root.findtext("e:Errors/e:LongMessage", namespaces=X)
    assert sandbox.ebay_order(ORDER)["fulfillments"] == []


def test_more_units_than_bought_across_packages_are_refused(sandbox):
    add_order(sandbox)
    token = ebay_access_token(sandbox)
    first = line_units(LINE_B, "9400100015", units_of(LINE_B, 2))
    assert ack(trading(sandbox, "CompleteSale", first, token)[1]) == "Success"

    second = line_units(LINE_B, "9400100016", units_of(LINE_B, 1))
    _response, root = trading(sandbox, "CompleteSale", second, token)

    assert (ack(root), error_code(root)) == ("Failure", "37")
    assert [
        f["tracking_number"] for f in sandbox.ebay_order(ORDER)["fulfillments"]
    ] == ["9400100015"]
