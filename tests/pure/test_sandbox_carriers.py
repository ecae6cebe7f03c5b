"""Carrier codes: each marketplace takes only its own list (sandbox/carriers.py,
which reads data/ecommerce.carrier.code.csv).

Amazon: the CarrierCode values of Seller Central ("must match ... exactly"),
"Other" with a carrierName; eBay: ShippingCarrierDetails codes, for Trading
ShippingCarrierUsed and REST shippingCarrierCode.
"""

import re

import pytest
from test_sandbox import (
    AMAZON_ORDER,
    REPO_ROOT,
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

from sandbox import carriers
from sandbox.carriers import AMAZON_CARRIER_CODES, EBAY_CARRIER_CODES

ORDER = "12-34567-89012"  # the conftest ebay_order fixture's order
LINE = "110012345678-0"  # and its one line


# ------------------------------------------------------------------ Amazon


@pytest.mark.parametrize("code", ["Fedex", "ups", "UPS Ground", "Chronopost Express"])
def test_amazon_unknown_carrier_code_is_invalid_input(sandbox, code):
    add_amazon_order(sandbox)

    response = confirm(sandbox, amazon_token(sandbox), confirmation(carrierCode=code))

    assert response.status_code == 400
    assert first_error(response) == {
        "code": "InvalidInput",
        "message": "The input you have submitted is not valid. Please check the "
        "fields with invalid values [packageDetail.carrierCode].",
    }
    assert sandbox.amazon_order(AMAZON_ORDER)["packages"] == []


@pytest.mark.parametrize(
    ("code", "name"),
    [("UPS", None), ("USPS", None), ("FedEx", "FedEx"), ("DHL", None),
     ("Royal Mail", None), ("GO!", None), ("Other", "Speedy Parcels")],
)  # fmt: skip
def test_amazon_listed_carrier_codes_are_accepted(sandbox, code, name):
    add_amazon_order(sandbox)
    body = confirmation(carrierCode=code, carrierName=name)

    assert confirm(sandbox, amazon_token(sandbox), body).status_code == 204


def test_amazon_other_needs_a_carrier_name(sandbox):
    add_amazon_order(sandbox)
    body = confirmation(carrierCode="Other", carrierName="")

    response = confirm(sandbox, amazon_token(sandbox), body)

    assert response.status_code == 400
    assert "carrierName" in first_error(response)["message"]


# -------------------------------------------------------------------- eBay


@pytest.mark.parametrize("code", ["UPS", "USPS", "FedEx", "DHL", "Other"])
def test_ebay_listed_codes_are_accepted_by_both_apis(sandbox, ebay_order, code):
    token = ebay_access_token(sandbox)
    path = f"/order/{ORDER}/shipping_fulfillment"
    body = fulfillment([(LINE, 1)], "940010000001", code)
    assert rest(sandbox, "POST", path, token, json=body).status_code == 201
    inner = shipped_by_line(LINE, "940010000002", code)
    assert ack(trading(sandbox, "CompleteSale", inner, token)[1]) == "Success"
    carriers = [f["carrier_code"] for f in sandbox.ebay_order(ORDER)["fulfillments"]]
    assert carriers == [code, code]


@pytest.mark.parametrize("code", ["ups", "UPS Ground", "Royal Mail", "Hermes Germany"])
def test_ebay_rest_unknown_carrier_is_32300(sandbox, ebay_order, code):
    token = ebay_access_token(sandbox)
    path = f"/order/{ORDER}/shipping_fulfillment"

    response = rest(
        sandbox, "POST", path, token, json=fulfillment([(LINE, 1)], carrier=code)
    )

    assert response.status_code == 400
    error = first_error(response)
    assert (error["errorId"], error["message"]) == (
        32300,
        "Invalid shipment tracking number or carrier",
    )
    assert sandbox.ebay_order(ORDER)["fulfillments"] == []


@pytest.mark.parametrize("flat", [False, True])
def test_ebay_trading_unknown_carrier_is_37(sandbox, ebay_order, flat):
    token = ebay_access_token(sandbox)
    if flat:  # the deprecated Shipment/ShippingCarrierUsed form
        inner = (
            "<Shipped>true</Shipped><Shipment>"
            "<ShippingCarrierUsed>UPS Ground</ShippingCarrierUsed>"
            "<ShipmentTrackingNumber>1Z999</ShipmentTrackingNumber>"
            f"</Shipment><OrderLineItemID>{LINE}</OrderLineItemID>"
        )
        tag = "CompleteSaleRequest.Shipment.ShippingCarrierUsed"
    else:
        inner = shipped_by_line(LINE, "1Z999", "UPS Ground")
        tag = "CompleteSaleRequest.Shipment.ShipmentTrackingDetails.ShippingCarrierUsed"

    _r, root = trading(sandbox, "CompleteSale", inner, token)

    assert (ack(root), error_code(root)) == ("Failure", "37")
    assert root.findtext("e:Errors/e:ErrorParameters/e:Value", namespaces=X) == tag
    assert root.findtext("e:Errors/e:SeverityCode", namespaces=X) == "Error"
    order = sandbox.ebay_order(ORDER)
    assert order["fulfillments"] == []
    assert order["line_items"][0]["shipped_time"] is None


# ------------------------------------- the codes the project itself uses


def test_the_addon_keeps_no_list_of_its_own():
    """One list (data/ecommerce.carrier.code.csv), not a copy in the model."""
    model = (REPO_ROOT / "models" / "delivery_carrier.py").read_text(encoding="utf-8")
    assert "AMAZON_CARRIER_CODES" not in model
    assert "fields.Selection" not in model


def test_codes_of_the_demo_and_tests_are_listed():
    demo = (REPO_ROOT / "demo" / "demo.xml").read_text(encoding="utf-8")
    ids = {row["id"]: row for row in carriers.load_rows()}
    for platform in ("amazon", "ebay"):
        used = re.findall(rf'name="{platform}_carrier_code_id" ref="([^"]*)"', demo)
        assert used
        assert all(ids[xmlid]["platform"] == platform for xmlid in used)
    # The Odoo tier's carrier (tests/fixtures.py, its defaults).
    fixtures = (REPO_ROOT / "tests" / "fixtures.py").read_text(encoding="utf-8")
    for platform, codes in (
        ("amazon", AMAZON_CARRIER_CODES),
        ("ebay", EBAY_CARRIER_CODES),
    ):
        used = re.findall(rf'{platform}_code="([^"]*)"', fixtures)
        assert used
        assert set(used) <= codes
