"""Tracking numbers with control characters or over-long are refused.

eBay REST: letters and digits only (OAS trackingNumber) -> 32300. Trading:
XML 1.0 cannot carry most C0 controls (error 5, XML parse error); those it
can carry (tab, CR, LF inside the number, DEL, C1) and over-long numbers are
error 37. Amazon: 400 InvalidInput on packageDetail.trackingNumber. The
length cap (50) is the sandbox's: see sandbox/wire.py.
"""

import pytest
from test_sandbox import (
    AMAZON_ORDER,
    X,
    ack,
    add_amazon_order,
    amazon_token,
    confirm,
    confirmation,
    ebay_access_token,
    error_code,
    first_error,
    fulfillment,
    rest,
    shipped_by_line,
    trading,
)

from sandbox.wire import MAX_TRACKING_NUMBER

ORDER = "12-34567-89012"  # the conftest ebay_order fixture's order
LINE = "110012345678-0"  # and its one line
LONGEST = "9" * MAX_TRACKING_NUMBER
TOO_LONG = "9" * (MAX_TRACKING_NUMBER + 1)


@pytest.mark.parametrize(
    "number",
    ["1Z999\x00AA1", "1Z999\tAA1", "1Z999\nAA1", "1Z999\x7fAA1", "1Z999\x85AA1",
     "1Z999AA1\u200b", TOO_LONG, "é1Z999"],
)  # fmt: skip
def test_rest_refuses_non_alphanumeric_or_long_numbers(sandbox, ebay_order, number):
    token = ebay_access_token(sandbox)
    path = f"/order/{ORDER}/shipping_fulfillment"

    response = rest(sandbox, "POST", path, token, json=fulfillment([(LINE, 1)], number))

    assert response.status_code == 400
    assert first_error(response)["errorId"] == 32300
    assert sandbox.ebay_order(ORDER)["fulfillments"] == []


def test_rest_takes_the_longest_number(sandbox, ebay_order):
    token = ebay_access_token(sandbox)
    path = f"/order/{ORDER}/shipping_fulfillment"

    response = rest(
        sandbox, "POST", path, token, json=fulfillment([(LINE, 1)], LONGEST)
    )

    assert response.status_code == 201


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("1Z999&#1;AA1", "5"),  # not a legal XML 1.0 character
        ("1Z999&#9;AA1", "37"),  # tab
        ("1Z999&#10;AA1", "37"),  # line feed
        ("1Z999&#127;AA1", "37"),  # DEL
        ("1Z999&#133;AA1", "37"),  # NEL (C1)
        (TOO_LONG, "37"),
    ],
)
def test_trading_refuses_control_characters_and_long_numbers(
    sandbox, ebay_order, number, code
):
    token = ebay_access_token(sandbox)

    _r, root = trading(sandbox, "CompleteSale", shipped_by_line(LINE, number), token)

    assert (ack(root), error_code(root)) == ("Failure", code)
    if code == "37":
        assert root.findtext("e:Errors/e:ErrorParameters/e:Value", namespaces=X) == (
            "CompleteSaleRequest.Shipment.ShipmentTrackingDetails."
            "ShipmentTrackingNumber"
        )
    order = sandbox.ebay_order(ORDER)
    assert order["fulfillments"] == []
    assert order["line_items"][0]["shipped_time"] is None


def test_trading_takes_letters_digits_and_the_longest_number(sandbox, ebay_order):
    token = ebay_access_token(sandbox)
    for number in (LONGEST, " 1Z999AA10123 "):  # outer blanks are trimmed
        _r, root = trading(
            sandbox, "CompleteSale", shipped_by_line(LINE, number), token
        )
        assert ack(root) == "Success"
    numbers = [f["tracking_number"] for f in sandbox.ebay_order(ORDER)["fulfillments"]]
    assert numbers == [LONGEST, "1Z999AA10123"]


@pytest.mark.parametrize(
    "number", ["", "   ", "1Z999\tAA1", "1Z999\x00AA1", "1Z\u0085999", TOO_LONG]
)
def test_amazon_refuses_blank_control_or_long_numbers(sandbox, number):
    add_amazon_order(sandbox)

    response = confirm(
        sandbox, amazon_token(sandbox), confirmation(trackingNumber=number)
    )

    assert response.status_code == 400
    assert first_error(response) == {
        "code": "InvalidInput",
        "message": "The input you have submitted is not valid. Please check the "
        "fields with invalid values [packageDetail.trackingNumber].",
    }
    assert sandbox.amazon_order(AMAZON_ORDER)["packages"] == []


def test_amazon_takes_the_longest_number_and_spaces(sandbox):
    add_amazon_order(sandbox)
    token = amazon_token(sandbox)

    assert (
        confirm(
            sandbox, token, confirmation("1", 1, trackingNumber=LONGEST)
        ).status_code
        == 204
    )
    body = confirmation("2", 1, trackingNumber="1Z 999 AA1 0123456784")
    assert confirm(sandbox, token, body).status_code == 204
