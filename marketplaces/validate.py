"""What a shipment confirmation would send, checked locally before it is
queued, so that a value the marketplace is documented to refuse never costs
an attempt.

:func:`shipment_problems` reads one table, :data:`RULES`: for each write-back
API and each field, the characters, shape and length the marketplace accepts,
each with the place it is documented. Whatever the API, a field never holds a
control or invisible character (``unicodedata`` categories Cc, Cf — zero-width
and bidi marks, soft hyphen, BOM —, Cs, Co, Cn, and the line and paragraph
separators Zl, Zp), not even a field that API does not send.

Contracts read: ``ordersV0.json`` (Amazon SP-API, confirmShipment) and
``sell_fulfillment_v1_oas3.json`` (eBay Sell Fulfillment v1.20.7), both in
``shared/specs``. Neither sets ``maxLength`` or ``pattern`` on these fields,
so a length limit is only given where another eBay/Amazon document states
one; the source is named next to each rule.
"""

import dataclasses
import functools
import re
import unicodedata

from . import base

# Problem.field values
TRACKING_NUMBER = "tracking_number"
CARRIER_CODE = "carrier_code"
CARRIER_NAME = "carrier_name"
SHIPPING_METHOD = "shipping_method"
ORDER_REF = "order_ref"
ITEM_REF = "item_ref"
QUANTITY = "quantity"

# Problem.reason values
CONTROL_CHARACTER = "control_character"
EMPTY = "empty"
NOT_ALLOWED_CHARACTER = "not_allowed_character"
TOO_LONG = "too_long"
NOT_POSITIVE = "not_positive"  # a quantity below one whole unit
WRONG_FORMAT = "wrong_format"  # every character allowed, the shape is not

_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


@dataclasses.dataclass(frozen=True)
class Problem:
    """One value the marketplace would refuse, and why."""

    field: str  # one of the field constants above
    value: str  # the offending value, as entered
    reason: str  # one of the reason constants above
    character: str = ""  # the offending character (control / not allowed)
    position: int = 0  # its 1-based position in value
    limit: int = 0  # the maximum length, when reason == "too_long"
    expected: str = ""  # an example of the accepted shape (wrong_format)
    item_ref: str = ""  # the line a quantity belongs to (field "quantity")


@dataclasses.dataclass(frozen=True)
class Rule:
    """What one API accepts in one field. ``allowed``: a regex for one
    character ('' = any character that is not invisible); ``shape``: a regex
    the whole value must match, ``example`` one value that does; ``limit``:
    the maximum length (0 = none documented); ``sent``: False when the API
    does not send the field (then only invisible characters are refused)."""

    allowed: str = ""
    shape: str = ""
    example: str = ""
    limit: int = 0
    required: bool = False
    sent: bool = True


DIGITS = "[0-9]"  # not \d, which also matches e.g. Arabic-Indic digits
DIGITS_HYPHEN = "[0-9-]"
ASCII_VISIBLE = "[!-~]"  # printable ASCII, no space
ASCII_ALNUM = "[0-9A-Za-z]"
NOT_SPACE = r"\S"
NOT_SENT = Rule(sent=False)

# eBay order IDs: the current format, e.g. 01-03955-36441 (example in
# sell_fulfillment_v1_oas3.json, createShippingFulfillment Location header),
# the legacy ItemID-TransactionID of a single-line order, or a legacy
# all-digit combined order ID (Trading GetOrders: "The OrderLineItemID value
# ... can be passed into the OrderID field").
_EBAY_ORDER = Rule(
    allowed=DIGITS_HYPHEN,
    shape="[0-9]+(-[0-9]+)*",
    example="12-34567-89012",
    required=True,
)

RULES = {
    base.API_AMAZON_WRITEBACK: {
        # "An Amazon-defined order identifier, in 3-7-7 format" (ordersV0.json,
        # confirmShipment path parameter orderId; examples 902-3159896-1390916).
        ORDER_REF: Rule(
            allowed=DIGITS_HYPHEN,
            shape="[0-9]{3}-[0-9]{7}-[0-9]{7}",
            example="902-3159896-1390916",
            limit=19,
            required=True,
        ),
        # PackageDetail requires carrierCode and trackingNumber. Tracking
        # numbers are printable ASCII (no carrier uses other characters).
        TRACKING_NUMBER: Rule(allowed=ASCII_VISIBLE, required=True),
        CARRIER_CODE: Rule(required=True),
        # carrierName is "Required when carrierCode is Other" (PackageDetail;
        # see _rules). Length: Seller Central Shipping Confirmation template
        # (help G641), carrier-name "Alphanumeric text, 1 to 50 characters",
        # mapped there to "CarrierName field in API".
        CARRIER_NAME: Rule(limit=50),
        SHIPPING_METHOD: Rule(),
        # ConfirmShipmentOrderItem.orderItemId is a bare string: the examples
        # are 14 digits, but one ordersV0 example is 903-1671087-0812628 and
        # Seller Central says "Alphanumeric text". Only spaces are refused.
        ITEM_REF: Rule(allowed=NOT_SPACE, required=True),
    },
    base.API_EBAY_TRADING: {
        # OrderID: at most 39 = the longest legacy ItemID-TransactionID form,
        # 19 + 1 + 19 (see ITEM_REF).
        ORDER_REF: dataclasses.replace(_EBAY_ORDER, limit=39),
        # ShipmentTrackingNumber and ShippingCarrierUsed are mutually
        # dependent (ShipmentTrackingDetailsType); the client needs both. No
        # length is documented for either. "The Trading API only supports
        # alphanumeric characters for shipment tracking numbers, and any
        # other characters are not supported, including spaces, hyphens, and
        # all other special characters" (same type): the Odoo layer strips
        # separators before building the Shipment, as for REST.
        TRACKING_NUMBER: Rule(allowed=ASCII_ALNUM, required=True),
        CARRIER_CODE: Rule(required=True),
        CARRIER_NAME: NOT_SENT,
        SHIPPING_METHOD: NOT_SENT,
        # OrderLineItemID "is actually a concatenation of ItemID and
        # TransactionID with a hyphen" (Trading GetOrders). ItemID and
        # TransactionID: "MaxLength: 19" each in the Trading reference, and
        # eBay IDs "will require from 8 to 19 decimal digits" (KB 468); an
        # auction's TransactionID is 0. Not sent when the whole order is
        # completed by OrderID (see _rules).
        ITEM_REF: Rule(
            allowed=DIGITS_HYPHEN,
            shape="[0-9]{1,19}-[0-9]{1,19}",
            example="110123456789-2345678901",
            limit=39,
            required=True,
        ),
    },
    base.API_EBAY_FULFILLMENT: {
        ORDER_REF: _EBAY_ORDER,
        # "Only alphanumeric characters are supported for shipment tracking
        # numbers. Spaces, hyphens, and all other special characters are not
        # supported" (ShippingFulfillmentDetails.trackingNumber). The Odoo
        # layer strips separators before building the Shipment; whatever is
        # left here would be refused.
        TRACKING_NUMBER: Rule(allowed=ASCII_ALNUM, required=True),
        # "This field and the shippingCarrierCode field are mutually
        # dependent."
        CARRIER_CODE: Rule(required=True),
        CARRIER_NAME: NOT_SENT,
        SHIPPING_METHOD: NOT_SENT,
        # LineItemReference.lineItemId comes from getOrders lineItems.lineItemId,
        # an all-digit eBay ID.
        ITEM_REF: Rule(
            allowed=DIGITS, shape="[0-9]+", example="10012345678901", required=True
        ),
    },
}


def shipment_problems(shipment, api):
    """Every value of ``shipment`` (a :class:`~.base.Shipment`) that ``api``
    (one of :data:`RULES`' keys) is documented to refuse, as
    :class:`Problem` objects in field order: order, carrier, then each
    package's tracking number and item references. A value is reported once,
    with the first thing wrong with it. An empty list means: send it."""
    if api not in RULES:
        raise ValueError(f"No write-back rules for API {api!r}")
    rules = _rules(shipment, api)
    values = [
        (ORDER_REF, shipment.order_ref),
        (CARRIER_CODE, shipment.carrier_code),
        (CARRIER_NAME, shipment.carrier_name),
        (SHIPPING_METHOD, shipment.shipping_method),
    ]
    for package in shipment.packages:
        values.append((TRACKING_NUMBER, package.tracking_number))
        values.extend((ITEM_REF, item.item_ref) for item in package.items)
    problems = {}
    for field, value in values:
        value = "" if value is None else str(value)
        if (field, value) not in problems:
            problems[(field, value)] = _problem(field, value, rules[field])
    # Every API takes whole positive quantities: Amazon's
    # ConfirmShipmentOrderItem.quantity and eBay REST's LineItemReference
    # ("must be greater than 0"); Trading's CompleteSale sends none, and a
    # line shipping nothing is not a line of the package.
    for package in shipment.packages:
        for item in package.items:
            quantity = item.quantity
            if not isinstance(quantity, int) or isinstance(quantity, bool):
                quantity = None
            if (quantity is None or quantity < 1) and (
                QUANTITY,
                item.item_ref,
            ) not in problems:
                problems[(QUANTITY, item.item_ref)] = Problem(
                    QUANTITY, str(item.quantity), NOT_POSITIVE, item_ref=item.item_ref
                )
    return [problem for problem in problems.values() if problem is not None]


def _rules(shipment, api):
    """:data:`RULES` for ``api``, with the two rules that depend on the
    shipment itself."""
    rules = dict(RULES[api])
    if api == base.API_AMAZON_WRITEBACK and shipment.carrier_code == "Other":
        rules[CARRIER_NAME] = dataclasses.replace(rules[CARRIER_NAME], required=True)
    if api == base.API_EBAY_TRADING and shipment.completes_order:
        rules[ITEM_REF] = NOT_SENT  # CompleteSale goes by OrderID
    return rules


@functools.cache
def _only(allowed):
    """The compiled pattern of a value made only of characters ``allowed``
    (a one-character pattern) matches."""
    return re.compile(f"(?:{allowed})*")


def _problem(field, value, rule):
    """The first thing wrong with ``value`` under ``rule``, or None."""
    # (printable ASCII has no invisible character: the common case, checked
    # at once; else character by character, for the first one)
    if not (value.isascii() and value.isprintable()):
        for position, char in enumerate(value, start=1):
            if unicodedata.category(char) in _INVISIBLE_CATEGORIES:
                return Problem(field, value, CONTROL_CHARACTER, char, position)
    if not rule.sent:
        return None
    if not value.strip():
        return Problem(field, value, EMPTY) if rule.required else None
    if rule.allowed and not _only(rule.allowed).fullmatch(value):
        for position, char in enumerate(value, start=1):
            if not re.fullmatch(rule.allowed, char):
                return Problem(field, value, NOT_ALLOWED_CHARACTER, char, position)
    if rule.limit and len(value) > rule.limit:
        return Problem(field, value, TOO_LONG, limit=rule.limit)
    if rule.shape and not re.fullmatch(rule.shape, value):
        return Problem(field, value, WRONG_FORMAT, expected=rule.example)
    return None
