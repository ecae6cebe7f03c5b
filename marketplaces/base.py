"""Marketplace-neutral data shapes and the small interface every client offers."""

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
    completes_order: bool = False  # eBay Trading: send OrderID instead of line ids

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
    items: list = dataclasses.field(default_factory=list)  # [(item_ref, qty)]


@dataclasses.dataclass
class OrderView:
    """The marketplace's own view of an order, as read back."""

    order_ref: str
    status: str = ""  # marketplace's status code, e.g. SHIPPED / Completed / FULFILLED
    status_label: str = ""  # human text, e.g. "Shipped", "Checkout Complete"
    checkout_status: str = ""  # eBay Trading CheckoutStatus/Status
    shipped_time: str = ""
    cancelled: bool = False
    packages: list = dataclasses.field(default_factory=list)  # [PackageView]
    # item_ref -> the marketplace's status of that line, where it reports one
    # (eBay REST lineItemFulfillmentStatus: NOT_STARTED/IN_PROGRESS/FULFILLED)
    line_status: dict = dataclasses.field(default_factory=dict)

    @property
    def tracking_numbers(self):
        return {
            normalize_tracking(p.tracking_number)
            for p in self.packages
            if p.tracking_number
        }

    def has_tracking(self, number):
        return normalize_tracking(number) in self.tracking_numbers

    def as_dict(self):
        return dataclasses.asdict(self)


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
