"""Marketplace-neutral data shapes (shipments, orders as read back, call
records) and the API keys the journal and the status screen use. The
interface every client offers is :mod:`.contract`."""

import dataclasses
import datetime
import re
from collections.abc import Callable

# Journal "api" keys; the status screen shows one health light per key.
API_AMAZON_PRODUCTS = "amazon_products"
API_AMAZON_WRITEBACK = "amazon_writeback"
API_AMAZON_ORDERS = "amazon_orders"
API_EBAY_TRADING = "ebay_trading"
API_EBAY_FULFILLMENT = "ebay_fulfillment"

# CallRecord.outcome values
OUTCOME_SUCCESS = "success"


def normalize_tracking(number):
    """Tracking numbers compare case-insensitively and without separators
    (eBay REST only accepts alphanumerics; labels often print spaces)."""
    return re.sub(r"[^0-9A-Za-z]", "", number or "").upper()


def utc_iso(value):
    """A datetime (naive = UTC, as Odoo stores them) as ISO 8601 with Z and
    milliseconds, e.g. 2026-02-11T01:00:00.000Z."""
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def window_end(value):
    """``value`` (aware) down to the millisecond, as :func:`utc_iso` sends
    it: a window's end is then exactly what the marketplace was asked for,
    and the next window starts there."""
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


@dataclasses.dataclass(frozen=True)
class ShipmentItem:
    item_ref: str  # Amazon OrderItemId / eBay OrderLineItemID (REST lineItemId)
    quantity: int


@dataclasses.dataclass(frozen=True)
class Package:
    package_ref: str  # stable positive numeric string (Amazon packageReferenceId)
    tracking_number: str
    items: tuple  # tuple[ShipmentItem, ...]


@dataclasses.dataclass(frozen=True)
class Shipment:
    """What one picking shipped, in marketplace terms."""

    order_ref: str  # Amazon order id (3-7-7) / eBay OrderID
    carrier_code: str  # Amazon CarrierCode / eBay ShippingCarrierUsed
    carrier_name: str  # sent by Amazon when carrier_code == "Other"
    shipping_method: str  # service name
    ship_date: datetime.datetime  # naive UTC
    packages: tuple  # tuple[Package, ...]
    # This delivery ships the last open marketplace lines of the order.
    completes_order: bool = False
    # Set by the ORM when this is the only delivery of the order that ships
    # marketplace lines. eBay Trading sends tracking by OrderID only for a
    # sole, order-completing, one-package shipment: eBay applies order-level
    # tracking to every line of the order (ebay_trading.complete_sale_requests).
    sole_shipment: bool = False
    # The marketplace the order was placed on (Amazon marketplaceId, e.g.
    # A13V1IB3VIYZZH for an Amazon.fr order of a pan-European seller whose
    # account is on Amazon.de); "" = the account's own marketplace.
    marketplace_id: str = ""

    @property
    def tracking_numbers(self):
        return [p.tracking_number for p in self.packages]


@dataclasses.dataclass
class ConfirmResult:
    """The marketplace accepted the confirmation (it still has to be verified)."""

    duplicate: bool = False  # marketplace said "already has this tracking number"
    message: str = ""
    location: str = ""  # eBay REST Location header, when given


@dataclasses.dataclass
class PackageView:
    package_ref: str = ""
    carrier: str = ""
    tracking_number: str = ""
    ship_time: str = ""
    status: str = ""
    # [(line ref, quantity)] as the marketplace reports them: Amazon
    # orderItemId, eBay REST lineItemId, eBay Trading OrderLineItemID
    # (ItemID-TransactionID).
    items: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class OrderLine:
    """One line of an order as the marketplace reports it, with every id it
    is known by (eBay has two id schemes for the same line).

    * ``line_item_id``: eBay REST ``lineItemId`` / Amazon ``orderItemId``;
    * ``order_line_item_id``: eBay Trading ``OrderLineItemID``, which is
      ``ItemID-TransactionID`` (eBay KB 1971);
    * ``item_id``: eBay Trading ``Item/ItemID`` = REST ``legacyItemId``;
    * ``transaction_id``: eBay Trading ``TransactionID`` (REST has none);
    * ``variation_id``: eBay REST ``legacyVariationId`` (Trading has none);
    * ``sku``, ``quantity`` (units bought), ``title``.

    Fields the marketplace does not report are empty (``quantity`` None).
    """

    line_item_id: str = ""
    order_line_item_id: str = ""
    item_id: str = ""
    transaction_id: str = ""
    variation_id: str = ""
    sku: str = ""
    quantity: int | None = None
    title: str = ""


MATCH_NONE = "none"
MATCH_AMBIGUOUS = "ambiguous"


def match_order_line(
    lines,
    *,
    order_line_item_id="",
    line_item_id="",
    item_id="",
    variation_id="",
    sku="",
):
    """Find the one :class:`OrderLine` of ``lines`` that the given ids name.

    Returns ``(line, "")`` for exactly one match, else ``(None, reason)`` with
    reason :data:`MATCH_NONE` or :data:`MATCH_AMBIGUOUS`.

    1. An exact ``order_line_item_id`` (Trading) or ``line_item_id`` (REST)
       found on the lines decides on its own.
    2. Otherwise the line is looked up by listing: the ItemID part of a
       Trading id ``ItemID-TransactionID`` (or ``item_id``, e.g. a REST
       ``legacyItemId``) against the lines' ``item_id``; a Trading id's
       TransactionID must match too where the lines report one.
    3. The candidates are then narrowed by ``variation_id``, then by ``sku``.

    A criterion narrows only when some candidate reports that field (Trading
    reports no variation id, REST no transaction id); candidates that report
    another value, or none while others do, drop out. With no criterion that
    could be applied there is no match.
    """
    lines = list(lines)
    exact = [
        line
        for line in lines
        if (order_line_item_id and line.order_line_item_id == order_line_item_id)
        or (line_item_id and line.line_item_id == line_item_id)
    ]
    if exact:
        return _one(exact)
    listing, transaction = item_id, ""
    trading_parts = (order_line_item_id or "").split("-")
    if len(trading_parts) == 2 and all(trading_parts):
        if item_id and item_id != trading_parts[0]:
            return None, MATCH_NONE  # the two ids name different listings
        listing, transaction = trading_parts
    candidates, applied = lines, False
    for field, value in (
        ("item_id", listing),
        ("transaction_id", transaction),
        ("variation_id", variation_id),
        ("sku", sku),
    ):
        if not value or not any(getattr(line, field) for line in candidates):
            continue
        candidates = [line for line in candidates if getattr(line, field) == value]
        applied = True
    if not applied:
        return None, MATCH_NONE
    return _one(candidates)


def _one(candidates):
    if len(candidates) == 1:
        return candidates[0], ""
    return None, MATCH_AMBIGUOUS if candidates else MATCH_NONE


# Order statuses meaning "shipped, in part or in full": Amazon
# FulfillmentStatus, eBay REST orderFulfillmentStatus /
# lineItemFulfillmentStatus, eBay Trading OrderStatus.
SHIPPED_STATUSES = frozenset(
    {"SHIPPED", "PARTIALLY_SHIPPED", "FULFILLED", "IN_PROGRESS", "Shipped"}
)


@dataclasses.dataclass
class OrderView:
    """The marketplace's own view of an order, as read back."""

    order_ref: str
    status: str = ""  # marketplace's status code, e.g. SHIPPED / Completed / FULFILLED
    status_label: str = ""  # human text, e.g. "Shipped", "Checkout Complete"
    checkout_status: str = ""  # eBay Trading CheckoutStatus/Status
    shipped_time: str = ""
    cancelled: bool = False
    # The buyer was refunded (eBay REST orderPaymentStatus FULLY_REFUNDED /
    # PARTIALLY_REFUNDED; eBay Trading MonetaryDetails/Refunds/Refund).
    # Amazon's Orders API (orders_2026-01-01.json) has no refund field: it
    # shows cancellations only.
    refunded: bool = False
    # When the marketplace last changed the order, as it reports it (ISO
    # 8601; Amazon lastUpdatedTime, eBay LastModifiedTime / lastModifiedDate).
    last_updated: str = ""
    packages: list = dataclasses.field(default_factory=list)  # [PackageView]
    # item_ref -> the marketplace's status of that line, where it reports one
    # (eBay REST lineItemFulfillmentStatus: NOT_STARTED/IN_PROGRESS/FULFILLED)
    line_status: dict = dataclasses.field(default_factory=dict)
    # The order's lines with every id the marketplace reports ([OrderLine]);
    # see match_order_line.
    lines: list = dataclasses.field(default_factory=list)
    # The marketplace the order was placed on, where the API says (Amazon
    # getOrder salesChannel.marketplaceId); "" when it does not.
    marketplace_id: str = ""

    @property
    def tracking_numbers(self):
        return {
            normalize_tracking(p.tracking_number)
            for p in self.packages
            if p.tracking_number
        }

    def has_tracking(self, number):
        return normalize_tracking(number) in self.tracking_numbers

    @property
    def shows_shipped(self):
        """Whether the marketplace shows the order (or part of it) shipped:
        a package with a tracking number, a ship time, or a shipped status."""
        if self.cancelled:
            return False
        return bool(
            self.tracking_numbers
            or self.shipped_time
            or self.status in SHIPPED_STATUSES
            or any(s in SHIPPED_STATUSES for s in self.line_status.values())
        )

    def as_dict(self):
        return dataclasses.asdict(self)


@dataclasses.dataclass
class ChangedOrders:
    """What one :meth:`~.contract.MarketplaceClient.changed_orders` call read
    of the orders changed within ``[since, until]``.

    ``complete``: the whole window was read; else ``resume`` (opaque: a
    page token, page number or offset; "" = the window's first page) is
    where the next call for the same window goes on. The window the client
    chose may end before the one asked for (an API's longest window, the
    latest time it accepts): ``until`` says where it ended."""

    orders: list  # [OrderView]
    since: datetime.datetime  # aware UTC
    until: datetime.datetime  # aware UTC
    complete: bool = True
    resume: str = ""
    pages: int = 0  # requests made for the window by this call


@dataclasses.dataclass
class CallRecord:
    """One HTTP exchange with a marketplace, for the journal. Never holds
    secrets or bodies."""

    api: str  # one of the API_* keys
    operation: str  # e.g. "token", "confirmShipment", "getOrder", "CompleteSale"
    started_at: datetime.datetime  # naive UTC
    duration_ms: int
    outcome: str  # "success" or an error class's ``outcome``
    http_status: int | None = None
    error_code: str = ""
    error_message: str = ""
    order_ref: str = ""
    rate_limit: float | None = None  # x-amzn-RateLimit-Limit when present
    access_token_expires_at: datetime.datetime | None = None  # token calls only
    refresh_token_expires_at: datetime.datetime | None = None  # token calls only


CallObserver = Callable[[CallRecord], None]
