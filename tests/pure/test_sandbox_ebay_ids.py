"""eBay line identifiers: each API knows a line by its own id.

Trading's CompleteSale names a line by OrderLineItemID = ``ItemID-TransactionID``
or by the ItemID + TransactionID pair (CompleteSaleRequestType, KB 1640); REST
createShippingFulfillment by the ``lineItemId`` of getOrders (OAS
LineItemReference). Each API shows what a client needs to go from one id to
the other: REST legacyItemId / legacyVariationId, Trading Item/ItemID,
TransactionID, OrderLineItemID and Variation/SKU or Item/SKU.
"""

import re

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
REST_LINE = "10000000000001"  # a REST lineItemId
ITEM, TRANSACTION = "110000000001", "2000000001"
TRADING_LINE = f"{ITEM}-{TRANSACTION}"  # its Trading OrderLineItemID


@pytest.fixture
def order(sandbox):
    return sandbox.add_ebay_order(
        ORDER,
        created_time="2026-01-01T00:00:00Z",  # before the ship dates
        line_items=[
            {
                "line_item_id": REST_LINE,
                "quantity": 2,
                "item_id": ITEM,
                "transaction_id": TRANSACTION,
                "sku": "MUG-RED",
                "variation_id": "420000000001",
            },
            {"quantity": 1, "item_id": "110000000002", "sku": "LAMP"},
        ],
    )


def test_trading_refuses_a_rest_line_item_id_like_an_unknown_line(sandbox, order):
    token = ebay_access_token(sandbox)

    _response, root = trading(
        sandbox, "CompleteSale", shipped_by_line(REST_LINE), token
    )

    assert ack(root) == "Failure"
    assert error_code(root) == "20822"
    assert root.findtext("e:Errors/e:SeverityCode", namespaces=X) == "Error"
    assert root.findtext("e:Errors/e:ErrorClassification", namespaces=X) == (
        "RequestError"
    )
    line = sandbox.ebay_order(ORDER)["line_items"][0]
    assert line["shipped_time"] is None
    assert sandbox.ebay_order(ORDER)["fulfillments"] == []


def test_trading_accepts_item_transaction_forms(sandbox, order):
    token = ebay_access_token(sandbox)

    _response, root = trading(
        sandbox, "CompleteSale", shipped_by_line(TRADING_LINE), token
    )
    assert ack(root) == "Success"
    pair = (
        f"<ItemID>{ITEM}</ItemID><TransactionID>{TRANSACTION}</TransactionID>"
        "<Shipped>true</Shipped>"
    )
    _response, root = trading(sandbox, "CompleteSale", pair, token)
    assert ack(root) == "Success"

    [package] = sandbox.ebay_order(ORDER)["fulfillments"]
    assert package["line_items"] == [{"line_item_id": REST_LINE, "quantity": 2}]


def test_rest_refuses_an_item_transaction_id(sandbox, order):
    token = ebay_access_token(sandbox)
    path = f"/order/{ORDER}/shipping_fulfillment"

    response = rest(sandbox, "POST", path, token, json=fulfillment([(TRADING_LINE, 1)]))

    assert response.status_code == 400
    error = first_error(response)
    assert error["errorId"] == 32200
    assert error["message"] == f"Invalid line item id: {TRADING_LINE}"
    assert sandbox.ebay_order(ORDER)["fulfillments"] == []
    assert rest(sandbox, "POST", path, token, json=fulfillment([(REST_LINE, 1)])).ok


def test_generated_rest_ids_never_look_like_trading_ids(sandbox):
    sandbox.add_ebay_order(
        ORDER, line_items=[{"quantity": 1}, {"quantity": 1, "item_id": "1234"}]
    )
    other = sandbox.add_ebay_order("12-34567-89013", line_items=[{"quantity": 1}])

    lines = sandbox.ebay_order(ORDER)["line_items"] + other["line_items"]
    for line in lines:
        assert re.fullmatch(r"\d{14}", line["line_item_id"])
        assert line["line_item_id"] != line["order_line_item_id"]
        assert line["order_line_item_id"] == (
            f"{line['item_id']}-{line['transaction_id']}"
        )
    # Default ItemIDs differ between orders, so their Trading ids do too.
    assert len({line["order_line_item_id"] for line in lines}) == 3
    # Explicit ids are kept as given.
    assert sandbox.ebay_order(ORDER)["line_items"][1]["item_id"] == "1234"


def test_an_item_transaction_pair_belongs_to_one_order(sandbox, order):
    with pytest.raises(ValueError, match="already belongs"):
        sandbox.add_ebay_order(
            "12-34567-89013",
            line_items=[
                {"quantity": 1, "item_id": ITEM, "transaction_id": TRANSACTION}
            ],
        )
    sandbox.add_ebay_order(ORDER, line_items=[{"quantity": 1, "item_id": ITEM}])


def test_rest_get_order_shows_legacy_ids(sandbox, order):
    token = ebay_access_token(sandbox)

    body = rest(sandbox, "GET", f"/order/{ORDER}", token).json()

    first, second = body["lineItems"]
    assert (first["lineItemId"], first["legacyItemId"]) == (REST_LINE, ITEM)
    assert first["legacyVariationId"] == "420000000001"
    assert first["sku"] == "MUG-RED"
    assert second["legacyItemId"] == "110000000002"
    # "only returned if the line item purchased was from a multiple-variation
    # listing" (OAS LineItem.legacyVariationId)
    assert "legacyVariationId" not in second
    assert body["buyer"]["username"]


def test_trading_get_orders_shows_item_transaction_and_sku(sandbox, order):
    token = ebay_access_token(sandbox)

    element = get_orders(sandbox, token, ORDER)

    first, second = element.findall("e:TransactionArray/e:Transaction", X)
    assert first.findtext("e:Item/e:ItemID", namespaces=X) == ITEM
    assert first.findtext("e:TransactionID", namespaces=X) == TRANSACTION
    assert first.findtext("e:OrderLineItemID", namespaces=X) == TRADING_LINE
    assert first.findtext("e:Variation/e:SKU", namespaces=X) == "MUG-RED"
    assert first.find("e:Item/e:SKU", X) is None
    tags = [child.tag.split("}")[1] for child in first]
    assert tags.index("Variation") < tags.index("OrderLineItemID")
    assert second.findtext("e:Item/e:SKU", namespaces=X) == "LAMP"
    assert second.find("e:Variation", X) is None
    assert second.findtext("e:OrderLineItemID", namespaces=X) == "110000000002-0"
    assert REST_LINE not in [e.text for e in element.iter()]
    buyer = element.findtext("e:BuyerUserID", namespaces=X)
    assert buyer == sandbox.ebay_order(ORDER)["buyer"]
