"""Local checks of what a confirmation would send (marketplaces/validate.py)."""

import dataclasses
import datetime

import pytest

from marketplaces import base, validate
from marketplaces.validate import Problem

AMAZON = base.API_AMAZON_WRITEBACK
TRADING = base.API_EBAY_TRADING
REST = base.API_EBAY_FULFILLMENT
APIS = (AMAZON, TRADING, REST)
SHIPPED = datetime.datetime(2026, 2, 11, 1, 0)


def _shipment(order_ref, carrier_code, tracking, item_refs, **fields):
    return base.Shipment(
        order_ref=order_ref,
        carrier_code=carrier_code,
        carrier_name=fields.pop("carrier_name", ""),
        shipping_method=fields.pop("shipping_method", ""),
        ship_date=SHIPPED,
        packages=(
            base.Package(
                package_ref="1",
                tracking_number=tracking,
                items=tuple(base.ShipmentItem(ref, 1) for ref in item_refs),
            ),
        ),
        **fields,
    )


# Realistic shipments each API accepts.
GOOD = {
    AMAZON: _shipment(
        "902-3159896-1390916",
        "FedEx",
        "112345678",  # ordersV0 confirmShipment example
        ["79039765272157"],
        carrier_name="FedEx",
        shipping_method="FedEx Ground",
    ),
    TRADING: _shipment(
        "12-34567-89012", "DHL", "00340434161094042557", ["110123456789-2345678901"]
    ),
    REST: _shipment(
        "01-03955-36441", "USPS", "9405509699937003457459", ["10012345678901"]
    ),
}


def _with(api, field, value):
    """The good shipment of ``api`` with ``field`` set to ``value``."""
    shipment = GOOD[api]
    if field == validate.TRACKING_NUMBER:
        (package,) = shipment.packages
        return dataclasses.replace(
            shipment, packages=(dataclasses.replace(package, tracking_number=value),)
        )
    if field == validate.ITEM_REF:
        (package,) = shipment.packages
        item = base.ShipmentItem(value, 1)
        return dataclasses.replace(
            shipment, packages=(dataclasses.replace(package, items=(item,)),)
        )
    return dataclasses.replace(shipment, **{field: value})


def _problems(api, field, value):
    return validate.shipment_problems(_with(api, field, value), api)


# -- accepted ------------------------------------------------------------------


@pytest.mark.parametrize("api", APIS)
def test_realistic_shipment_accepted(api):
    assert validate.shipment_problems(GOOD[api], api) == []


def test_amazon_accepts_more_realistic_values():
    shipment = _shipment(
        "114-7000002-0000002",
        "Other",
        "1Z999AA10123456784",
        ["05015851154158", "903-1671087-0812628"],  # both ordersV0 examples
        carrier_name="Hermes Logistik Gruppe",
        shipping_method="2nd Day Air",
    )
    assert validate.shipment_problems(shipment, AMAZON) == []


def test_ebay_accepts_legacy_order_ids_and_auction_line_items():
    for order_ref in ("110123456789-0", "865826", "12-34567-89012"):
        assert _problems(TRADING, validate.ORDER_REF, order_ref) == []
        assert _problems(REST, validate.ORDER_REF, order_ref) == []
    assert _problems(TRADING, validate.ITEM_REF, "110123456789-0") == []
    assert _problems(TRADING, validate.ITEM_REF, "1" * 19 + "-" + "2" * 19) == []


def test_fields_an_api_does_not_send_are_not_checked_beyond_invisible_characters():
    assert _problems(REST, validate.CARRIER_NAME, "x" * 500) == []
    assert _problems(TRADING, validate.SHIPPING_METHOD, "Économique ⚡") == []
    whole_order = dataclasses.replace(
        _with(TRADING, validate.ITEM_REF, "not an id"), completes_order=True
    )
    assert validate.shipment_problems(whole_order, TRADING) == []


# -- control and invisible characters --------------------------------------------

INVISIBLE = [
    "\x00",
    "\t",
    "\n",
    "\r",
    "\x1b",
    "\x1f",
    "\x7f",
    "\x85",  # next line (C1)
    "\u00ad",  # soft hyphen
    "\u200b",  # zero-width space
    "\u200d",  # zero-width joiner
    "\u202e",  # right-to-left override
    "\u2028",  # line separator
    "\u2029",  # paragraph separator
    "\ufeff",  # byte order mark / zero-width no-break space
]
FIELDS = (
    validate.ORDER_REF,
    validate.CARRIER_CODE,
    validate.CARRIER_NAME,
    validate.SHIPPING_METHOD,
    validate.TRACKING_NUMBER,
    validate.ITEM_REF,
)


@pytest.mark.parametrize("char", INVISIBLE)
@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("field", FIELDS)
def test_invisible_characters_refused_in_every_field(field, api, char):
    value = "12" + char + "3"
    assert _problems(api, field, value) == [
        Problem(field, value, "control_character", character=char, position=3)
    ]


def test_invisible_character_refused_in_item_refs_not_sent():
    value = "110123456789-0\u200b"
    whole_order = dataclasses.replace(
        _with(TRADING, validate.ITEM_REF, value), completes_order=True
    )
    assert validate.shipment_problems(whole_order, TRADING) == [
        Problem("item_ref", value, "control_character", "\u200b", 15)
    ]


# -- characters a marketplace refuses -------------------------------------------


@pytest.mark.parametrize(
    ("api", "field", "value", "char", "position"),
    [
        # eBay REST: "Only alphanumeric characters are supported"
        (REST, "tracking_number", "1Z-999AA1", "-", 3),
        (REST, "tracking_number", "1Z 999AA1", " ", 3),
        (REST, "tracking_number", "1Z999AA1.", ".", 9),
        # no spaces in any tracking number
        (AMAZON, "tracking_number", "1Z999 AA1", " ", 6),
        (TRADING, "tracking_number", "1Z999\u00a0AA1", "\u00a0", 6),
        # eBay Trading: "only supports alphanumeric characters" too
        (TRADING, "tracking_number", "1Z999-AA1", "-", 6),
        (TRADING, "tracking_number", "1Z999 AA1", " ", 6),
        # order ids: digits and hyphens only
        (AMAZON, "order_ref", "902-3159896-139091O", "O", 19),
        (AMAZON, "order_ref", " 902-3159896-1390916", " ", 1),
        (AMAZON, "order_ref", "902-3159896-139091\u0666", "\u0666", 19),  # Arabic 6
        (TRADING, "order_ref", "12-34567-8901x", "x", 14),
        (REST, "order_ref", "12/34567", "/", 3),
        # line items
        (TRADING, "item_ref", "110123456789_0", "_", 13),
        (REST, "item_ref", "110123456789-0", "-", 13),
        (REST, "item_ref", "v1|1234|0", "v", 1),
        (AMAZON, "item_ref", "79039 765272157", " ", 6),
    ],
)
def test_characters_the_marketplace_refuses(api, field, value, char, position):
    assert _problems(api, field, value) == [
        Problem(field, value, "not_allowed_character", char, position)
    ]


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize(
    ("value", "char", "position"),
    [("1ZÄ99", "Ä", 3), ("JJD\u0661\u0662", "\u0661", 4), ("\uff11Z999", "\uff11", 1)],
)
def test_non_ascii_letters_and_digits_refused_in_tracking_numbers(
    api, value, char, position
):
    assert _problems(api, "tracking_number", value) == [
        Problem("tracking_number", value, "not_allowed_character", char, position)
    ]


def test_amazon_tracking_numbers_may_hold_ascii_punctuation():
    assert _problems(AMAZON, "tracking_number", "LX-123/456") == []


# -- lengths ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("api", "field", "longest_ok", "limit"),
    [
        (AMAZON, "carrier_name", "N" * 50, 50),
        (TRADING, "item_ref", "1" * 19 + "-" + "2" * 19, 39),
        (TRADING, "order_ref", "1" * 19 + "-" + "2" * 19, 39),
    ],
)
def test_values_over_the_documented_length_refused(api, field, longest_ok, limit):
    assert len(longest_ok) == limit
    assert _problems(api, field, longest_ok) == []
    value = longest_ok + "3"
    assert _problems(api, field, value) == [
        Problem(field, value, "too_long", limit=limit)
    ]


def test_amazon_order_id_too_long():
    value = "902-3159896-13909160"
    assert _problems(AMAZON, "order_ref", value) == [
        Problem("order_ref", value, "too_long", limit=19)
    ]


# -- shapes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("api", "field", "value", "expected"),
    [
        (AMAZON, "order_ref", "9023-159896-1390916", "902-3159896-1390916"),
        (AMAZON, "order_ref", "902-3159896-139091", "902-3159896-1390916"),
        (AMAZON, "order_ref", "90231598961390916", "902-3159896-1390916"),
        (TRADING, "item_ref", "110123456789", "110123456789-2345678901"),
        (TRADING, "item_ref", "110123456789-", "110123456789-2345678901"),
        (TRADING, "item_ref", "1-2-3", "110123456789-2345678901"),
        (TRADING, "item_ref", "11012345678901234567-0", "110123456789-2345678901"),
        (TRADING, "order_ref", "12--34567", "12-34567-89012"),
        (REST, "order_ref", "-12-34567", "12-34567-89012"),
    ],
)
def test_values_of_the_wrong_shape_refused(api, field, value, expected):
    assert _problems(api, field, value) == [
        Problem(field, value, "wrong_format", expected=expected)
    ]


# -- empty values -----------------------------------------------------------------


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize(
    "field", ["order_ref", "carrier_code", "tracking_number", "item_ref"]
)
@pytest.mark.parametrize("value", ["", "  "])
def test_required_values_missing(api, field, value):
    assert _problems(api, field, value) == [Problem(field, value, "empty")]


def test_amazon_carrier_name_required_only_for_other():
    named = dataclasses.replace(GOOD[AMAZON], carrier_code="UPS", carrier_name="")
    assert validate.shipment_problems(named, AMAZON) == []
    other = dataclasses.replace(GOOD[AMAZON], carrier_code="Other", carrier_name="")
    assert validate.shipment_problems(other, AMAZON) == [
        Problem("carrier_name", "", "empty")
    ]
    assert _problems(AMAZON, "shipping_method", "") == []


# -- the whole shipment -----------------------------------------------------------


def test_every_bad_value_reported_once_in_field_order():
    package = base.Package(
        package_ref="1",
        tracking_number="1Z-999",
        items=(base.ShipmentItem("10001", 1), base.ShipmentItem("1-0", 1)),
    )
    shipment = base.Shipment(
        order_ref="12-34567-89012",
        carrier_code="\u200bUSPS",
        carrier_name="",
        shipping_method="",
        ship_date=SHIPPED,
        packages=(package, package),  # the same bad values twice
    )
    assert validate.shipment_problems(shipment, REST) == [
        Problem("carrier_code", "\u200bUSPS", "control_character", "\u200b", 1),
        Problem("tracking_number", "1Z-999", "not_allowed_character", "-", 3),
        Problem("item_ref", "1-0", "not_allowed_character", "-", 2),
    ]


def test_unknown_api_refused():
    with pytest.raises(ValueError):
        validate.shipment_problems(GOOD[AMAZON], base.API_AMAZON_ORDERS)


def test_problem_is_a_frozen_value():
    problem = Problem("order_ref", "x", "empty")
    assert (problem.character, problem.position, problem.limit) == ("", 0, 0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        problem.value = "y"


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("quantity", [0, -1, -3, 1.5, None])
def test_quantities_below_one_whole_unit_refused(api, quantity):
    """A negative, zero or fractional quantity never reaches a marketplace:
    the problem names the line and the quantity."""
    shipment = GOOD[api]
    (package,) = shipment.packages
    (item,) = package.items
    bad = dataclasses.replace(
        shipment,
        packages=(
            dataclasses.replace(
                package, items=(base.ShipmentItem(item.item_ref, quantity),)
            ),
        ),
    )
    assert validate.shipment_problems(bad, api) == [
        Problem(
            validate.QUANTITY,
            str(quantity),
            validate.NOT_POSITIVE,
            item_ref=item.item_ref,
        )
    ]
    assert validate.shipment_problems(shipment, api) == []
