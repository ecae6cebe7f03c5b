"""What the sandbox remembers: orders, catalog items and issued tokens.

The records hold marketplace facts only; how they are shown on the wire is
the business of the API modules, so Amazon's and eBay's views of the same
record never drift apart (Trading and REST read the same eBay orders).
"""

import copy
import dataclasses
import datetime
import hashlib
import re
import secrets

from .wire import UTC, iso_millis, iso_seconds, parse_datetime

AMAZON_ORDER_ID = re.compile(r"^\d{3}-\d{7}-\d{7}$")  # "3-7-7 format" (ordersV0)
# Orders 2026-01-01 FulfillmentStatus values the sandbox can hold as a base
# status; shipping state is derived from the recorded packages.
AMAZON_BASE_STATUSES = ("PENDING", "UNSHIPPED", "CANCELLED")
EBAY_CHECKOUT_STATUSES = ("Complete", "Incomplete", "Pending")
EBAY_CANCEL_STATES = ("NONE_REQUESTED", "IN_PROGRESS", "CANCELED")


def as_moment(value, default):
    """An aware UTC datetime from a datetime, ISO text, or None (= default)."""
    if value is None:
        return default
    if isinstance(value, datetime.datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value
    moment = parse_datetime(value)
    if moment is None:
        raise ValueError(f"not an ISO 8601 date-time: {value!r}")
    return moment


def _positive_int(value, what):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return value


# --------------------------------------------------------------------- Amazon


@dataclasses.dataclass
class AmazonItem:
    order_item_id: str
    quantity: int
    asin: str = ""
    sku: str = ""
    title: str = ""


@dataclasses.dataclass
class AmazonPackage:
    """One confirmShipment PackageDetail as accepted."""

    package_reference_id: str
    carrier_code: str
    carrier_name: str
    shipping_method: str
    tracking_number: str
    ship_date: datetime.datetime
    ship_from_supply_source_id: str
    items: list  # [{"order_item_id", "quantity", "transparency_codes"}]
    created_time: datetime.datetime

    @property
    def carrier(self):
        """The carrier as buyers see it: the name when the code is "Other"."""
        if self.carrier_code == "Other" and self.carrier_name:
            return self.carrier_name
        return self.carrier_code


@dataclasses.dataclass
class AmazonOrder:
    order_id: str
    marketplace_id: str
    status: str  # one of AMAZON_BASE_STATUSES
    created_time: datetime.datetime
    last_updated_time: datetime.datetime
    items: dict  # order_item_id -> AmazonItem, in order
    packages: dict = dataclasses.field(default_factory=dict)  # ref -> package
    # getOrder shows each package's packageItems. OrderPackage requires only
    # packageReferenceId (orders_2026-01-01.json), so Amazon may leave them
    # out: False reproduces that answer for this order.
    package_items_shown: bool = True
    # The selling partner (token identity) whose confirmation first recorded
    # a package: Amazon scopes every call to the selling partner, so a
    # seller's searchOrders shows its own orders (and those no seller
    # confirmed yet), never another seller's.
    seller: str | None = None

    def shipped_quantity(self, order_item_id, excluding_package=None):
        """Units of an item in recorded packages (one package may be left out,
        for an edit that is about to replace it)."""
        return sum(
            line["quantity"]
            for ref, package in self.packages.items()
            if ref != excluding_package
            for line in package.items
            if line["order_item_id"] == order_item_id
        )

    @property
    def fulfillment_status(self):
        """Orders 2026-01-01 FulfillmentStatus, derived from the packages."""
        if self.status != "UNSHIPPED":
            return self.status
        shipped = [self.shipped_quantity(i) for i in self.items]
        if not any(shipped):
            return "UNSHIPPED"
        ordered = [item.quantity for item in self.items.values()]
        if all(s >= o for s, o in zip(shipped, ordered, strict=True)):
            return "SHIPPED"
        return "PARTIALLY_SHIPPED"

    def as_dict(self):
        return {
            "order_id": self.order_id,
            "marketplace_id": self.marketplace_id,
            "status": self.fulfillment_status,
            "package_items_shown": self.package_items_shown,
            "created_time": iso_seconds(self.created_time),
            "last_updated_time": iso_seconds(self.last_updated_time),
            "items": [
                {
                    **dataclasses.asdict(item),
                    "quantity_shipped": self.shipped_quantity(item.order_item_id),
                }
                for item in self.items.values()
            ],
            "packages": [
                {
                    **dataclasses.asdict(package),
                    "ship_date": iso_seconds(package.ship_date),
                    "created_time": iso_seconds(package.created_time),
                }
                for package in self.packages.values()
            ],
        }


def amazon_base_status(status):
    """A status ``add_amazon_order`` accepts, in 2026-01-01 spelling."""
    status = (status or "UNSHIPPED").upper()
    if status == "CANCELED":  # Orders v0 spelling
        status = "CANCELLED"
    if status not in AMAZON_BASE_STATUSES:
        raise ValueError(f"status must be one of {AMAZON_BASE_STATUSES}")
    return status


def new_amazon_order(
    order_id,
    *,
    marketplace_id,
    items,
    status,
    created_time,
    now,
    package_items_shown=True,
):
    """Validate the arguments of ``add_amazon_order`` and build the record."""
    if not AMAZON_ORDER_ID.match(order_id or ""):
        raise ValueError(f"Amazon order ids are 3-7-7 digits, got {order_id!r}")
    status = amazon_base_status(status)
    if not items:
        raise ValueError("an Amazon order needs at least one item")
    records = {}
    for item in items:
        record = AmazonItem(
            order_item_id=str(item["order_item_id"]),
            quantity=_positive_int(item.get("quantity", 1), "quantity"),
            asin=item.get("asin", ""),
            sku=item.get("sku", ""),
            title=item.get("title", ""),
        )
        records[record.order_item_id] = record
    created = as_moment(created_time, now)
    return AmazonOrder(
        order_id=order_id,
        marketplace_id=marketplace_id,
        status=status,
        created_time=created,
        last_updated_time=max(created, now),
        items=records,
        package_items_shown=bool(package_items_shown),
    )


@dataclasses.dataclass
class CatalogEntry:
    """An item's data in one marketplace."""

    title: str
    brand: str
    manufacturer: str
    model_number: str
    product_type: str
    item_weight: tuple | None  # (value, unit)
    package_weight: tuple | None
    images: list  # [(variant, width, height)]
    identifiers: list  # [(identifierType, identifier)]


def new_catalog_entry(
    *,
    title="",
    brand="",
    manufacturer="",
    model_number="",
    product_type="PRODUCT",
    item_weight=None,
    package_weight=None,
    images=(),
    identifiers=(),
):
    """Validate the arguments of ``add_catalog_item`` (lists welcome, as in
    JSON) and build the entry."""

    def weight(value):
        if value is None:
            return None
        amount, unit = value
        return (float(amount), str(unit))

    pictures = []
    for variant, width, height in images:
        pictures.append(
            (
                str(variant),
                _positive_int(width, "width"),
                _positive_int(height, "height"),
            )
        )
    return CatalogEntry(
        title=title,
        brand=brand,
        manufacturer=manufacturer,
        model_number=model_number,
        product_type=product_type,
        item_weight=weight(item_weight),
        package_weight=weight(package_weight),
        images=pictures,
        identifiers=[(str(kind), str(value)) for kind, value in identifiers],
    )


# ----------------------------------------------------------------------- eBay


@dataclasses.dataclass
class EbayLine:
    """One order line item, as both eBay APIs name it.

    REST calls it by ``lineItemId`` (``line_item_id``) and shows
    ``legacyItemId`` / ``legacyVariationId``; Trading calls it by
    ``OrderLineItemID``, which is ``ItemID-TransactionID`` (eBay KB 1640,
    CompleteSaleRequestType), and shows ``Item/ItemID``, ``TransactionID`` and
    ``Variation/SKU`` (or ``Item/SKU`` outside variation listings).
    """

    line_item_id: str  # REST lineItemId
    quantity: int
    item_id: str  # legacyItemId, Trading Item/ItemID
    transaction_id: str  # Trading TransactionID
    sku: str = ""
    title: str = ""
    variation_id: str = ""  # legacyVariationId; "" = not a variation listing
    shipped_time: datetime.datetime | None = None

    @property
    def order_line_item_id(self):
        """Trading's OrderLineItemID: ``ItemID-TransactionID``."""
        return f"{self.item_id}-{self.transaction_id}"

    @property
    def trading_ids(self):
        """The ids Trading accepts for this line in OrderLineItemID: only
        ``ItemID-TransactionID``. The REST lineItemId is another identifier
        and Trading does not know it."""
        return {self.order_line_item_id}


def tracking_key(number):
    """A tracking number as carriers read it: letters and digits only, upper
    case ("1z 999-aa1" is "1Z999AA1"); eBay REST wants exactly that form
    (OAS trackingNumber: "Only alphanumeric characters are supported")."""
    return re.sub(r"[^0-9A-Za-z]", "", number or "").upper()


@dataclasses.dataclass
class EbayFulfillment:
    """A package: REST ShippingFulfillment, or Trading ShipmentTrackingDetails."""

    fulfillment_id: str
    tracking_number: str
    carrier_code: str
    shipped_date: datetime.datetime
    line_items: list  # [(line_item_id, quantity)]
    source: str  # "rest" or "trading"
    # Trading: CompleteSale said how many units of each line the package
    # holds (ShipmentLineItem), which GetOrders then shows back.
    line_units: bool = False


@dataclasses.dataclass
class EbayOrder:
    order_id: str
    checkout_status: str
    cancel_state: str
    created_time: datetime.datetime
    last_modified_time: datetime.datetime
    paid_time: datetime.datetime | None
    lines: dict  # line_item_id -> EbayLine, in order
    buyer: str = ""  # the buyer's eBay user id (Trading BuyerUserID)
    shipped_time: datetime.datetime | None = None  # order level (KB 1640)
    refunded: bool = False  # the seller refunded the buyer (REST payment status)
    cancelled_time: datetime.datetime | None = None  # REST cancelledDate
    fulfillments: dict = dataclasses.field(default_factory=dict)  # id -> record

    def find_line(self, trading_id):
        """The line whose Trading OrderLineItemID is ``trading_id``."""
        for line in self.lines.values():
            if trading_id in line.trading_ids:
                return line
        return None

    def assigned_quantity(self, line_item_id):
        return sum(
            quantity
            for fulfillment in self.fulfillments.values()
            for line_id, quantity in fulfillment.line_items
            if line_id == line_item_id
        )

    def line_status(self, line):
        """LineItemFulfillmentStatusEnum: any quantity assigned to a shipment
        marks the line FULFILLED (eBay OrderFulfillmentStatus type doc)."""
        return "FULFILLED" if line.shipped_time else "NOT_STARTED"

    @property
    def fulfillment_status(self):
        statuses = {self.line_status(line) for line in self.lines.values()}
        if statuses == {"FULFILLED"}:
            return "FULFILLED"
        if "FULFILLED" in statuses:
            return "IN_PROGRESS"
        return "NOT_STARTED"

    def fulfillment_with_tracking(self, number):
        """The package already carrying tracking ``number`` (compared as
        :func:`tracking_key`), or None."""
        key = tracking_key(number)
        for fulfillment in self.fulfillments.values():
            if (
                fulfillment.tracking_number
                and tracking_key(fulfillment.tracking_number) == key
            ):
                return fulfillment
        return None

    def tracking_for(self, line_item_id=None):
        """Fulfillments with a tracking number, optionally for one line."""
        return [
            f
            for f in self.fulfillments.values()
            if f.tracking_number
            and (
                line_item_id is None
                or any(lid == line_item_id for lid, _ in f.line_items)
            )
        ]

    def as_dict(self):
        def when(moment):
            return iso_millis(moment) if moment else None

        return {
            "order_id": self.order_id,
            "buyer": self.buyer,
            "checkout_status": self.checkout_status,
            "cancel_state": self.cancel_state,
            "cancelled_time": when(self.cancelled_time),
            "fulfillment_status": self.fulfillment_status,
            "created_time": when(self.created_time),
            "last_modified_time": when(self.last_modified_time),
            "paid_time": when(self.paid_time),
            "shipped_time": when(self.shipped_time),
            "line_items": [
                {
                    **dataclasses.asdict(line),
                    "order_line_item_id": line.order_line_item_id,
                    "shipped_time": when(line.shipped_time),
                    "fulfillment_status": self.line_status(line),
                }
                for line in self.lines.values()
            ],
            "fulfillments": [
                {
                    "fulfillment_id": f.fulfillment_id,
                    "tracking_number": f.tracking_number,
                    "carrier_code": f.carrier_code,
                    "shipped_date": when(f.shipped_date),
                    "line_items": [
                        {"line_item_id": lid, "quantity": qty}
                        for lid, qty in f.line_items
                    ],
                    "source": f.source,
                }
                for f in self.fulfillments.values()
            ],
        }


def _digits(seed, count):
    """``count`` decimal digits derived from ``seed`` (stable across runs)."""
    number = int.from_bytes(hashlib.sha256(seed.encode("utf-8")).digest(), "big")
    return f"{number % 10**count:0{count}d}"


def default_line_item_id(order_id, number, salt=0):
    """A REST lineItemId as eBay makes them: 14 digits, no dash, so it never
    looks like a Trading ``ItemID-TransactionID``."""
    return "1" + _digits(f"line:{order_id}:{number}:{salt}", 13)


def default_item_id(order_id, number):
    """A 12-digit legacy ItemID (listing id), e.g. ``110551234567``."""
    return "11" + _digits(f"item:{order_id}:{number}", 10)


def check_ebay_cancel_state(cancel_state):
    """Raise ValueError unless ``cancel_state`` is a CancelStateEnum value
    the sandbox holds."""
    if cancel_state not in EBAY_CANCEL_STATES:
        raise ValueError(f"cancel_state must be one of {EBAY_CANCEL_STATES}")
    return cancel_state


def new_ebay_order(
    order_id,
    *,
    line_items,
    checkout_status,
    cancel_state,
    created_time,
    now,
    buyer=None,
):
    """Validate the arguments of ``add_ebay_order`` and build the record.

    A line without ``line_item_id`` gets a generated digits-only REST id; one
    without ``item_id`` a generated ItemID; ``transaction_id`` defaults to
    "0" (auction and single-quantity listings, KB 1640)."""
    if not re.match(r"^\d+(-\d+)*$", order_id or ""):
        raise ValueError(f"eBay order ids are digits and dashes, got {order_id!r}")
    if checkout_status not in EBAY_CHECKOUT_STATUSES:
        raise ValueError(f"checkout_status must be one of {EBAY_CHECKOUT_STATUSES}")
    check_ebay_cancel_state(cancel_state)
    if not line_items:
        raise ValueError("an eBay order needs at least one line item")
    explicit = {str(line.get("line_item_id") or "") for line in line_items}
    lines, trading_ids = {}, set()
    for number, line in enumerate(line_items):
        line_item_id = line.get("line_item_id")
        salt = 0
        while not line_item_id:
            candidate = default_line_item_id(order_id, number, salt)
            if candidate not in explicit and candidate not in lines:
                line_item_id = candidate
            salt += 1
        record = EbayLine(
            line_item_id=str(line_item_id),
            quantity=_positive_int(line.get("quantity", 1), "quantity"),
            item_id=str(line.get("item_id") or default_item_id(order_id, number)),
            transaction_id=str(line.get("transaction_id", "0")),
            sku=line.get("sku", ""),
            title=line.get("title", ""),
            variation_id=str(line.get("variation_id") or ""),
        )
        if record.line_item_id in lines:
            raise ValueError(f"line_item_id {record.line_item_id!r} appears twice")
        if record.order_line_item_id in trading_ids:
            raise ValueError(
                f"ItemID-TransactionID {record.order_line_item_id!r} appears twice"
            )
        lines[record.line_item_id] = record
        trading_ids.add(record.order_line_item_id)
    created = as_moment(created_time, now)
    cancelled = max(created, now) if cancel_state == "CANCELED" else None
    return EbayOrder(
        order_id=order_id,
        checkout_status=checkout_status,
        cancel_state=cancel_state,
        created_time=created,
        last_modified_time=max(created, now),
        paid_time=created if checkout_status == "Complete" else None,
        lines=lines,
        buyer=buyer or f"buyer_{order_id.replace('-', '')}",
        cancelled_time=cancelled,
    )


# --------------------------------------------------------------------- tokens

TOKEN_PREFIX = {"amazon": "Atza|", "ebay": "v^1.1#i^1#"}  # look like the real ones

# The eBay OAuth scopes the sandbox knows: the base scope the Trading API
# needs, and the two Sell Fulfillment scopes (OAS securitySchemes).
EBAY_SCOPE_BASE = "https://api.ebay.com/oauth/api_scope"
EBAY_SCOPE_FULFILLMENT = EBAY_SCOPE_BASE + "/sell.fulfillment"
EBAY_SCOPE_FULFILLMENT_READ = EBAY_SCOPE_FULFILLMENT + ".readonly"
EBAY_SCOPES = frozenset(
    (EBAY_SCOPE_BASE, EBAY_SCOPE_FULFILLMENT, EBAY_SCOPE_FULFILLMENT_READ)
)


@dataclasses.dataclass
class AccessToken:
    marketplace: str  # "amazon" or "ebay"
    identity: str  # who the rate limits count against
    expires_at: float
    scopes: frozenset | None = None  # None = everything the grant allows
    grant: str = ""  # the refresh token it was minted from


class TokenStore:
    """Issued access tokens, revoked refresh tokens, and what each eBay
    refresh token was consented to (its scopes)."""

    def __init__(self):
        self.tokens = {}
        self.revoked = set()
        self.consents = {}  # eBay refresh token -> frozenset of scopes

    def consent(self, refresh_token):
        """The scopes an eBay refresh token was granted (default: all the
        sandbox knows)."""
        return self.consents.get(refresh_token, EBAY_SCOPES)

    def issue(self, marketplace, identity, ttl, now, scopes=None, grant=""):
        token = TOKEN_PREFIX[marketplace] + secrets.token_urlsafe(32)
        self.tokens[token] = AccessToken(
            marketplace, identity, now + ttl, scopes, grant
        )
        return token

    def check(self, token, marketplace, now):
        """("valid", record), ("expired", record), ("revoked", record) or
        ("unknown", None). A revoked consent ends the access tokens minted
        from it too, not only the refresh grant: eBay's KB 5218 lists the
        seller revoking the app from My eBay among the reasons a refresh
        token is refused, and Amazon's 403 reads "The access token you
        provided is revoked"; a token cached by a client meets it on its
        next call."""
        record = self.tokens.get(token or "")
        if record is None or record.marketplace != marketplace:
            return "unknown", None
        if record.grant and record.grant in self.revoked:
            return "revoked", record
        if now >= record.expires_at:
            return "expired", record
        return "valid", record

    def expire_all(self):
        for record in self.tokens.values():
            record.expires_at = float("-inf")


# ---------------------------------------------------------------------- state


class State:
    """Everything :meth:`SandboxServer.reset` forgets, except the request log."""

    def __init__(self):
        self.amazon_orders = {}
        self.ebay_orders = {}
        self.catalog = {}  # asin -> {marketplace_id: CatalogEntry}
        self.tokens = TokenStore()
        self.next_fulfillment_id = 1000000001
        # Amazon searchOrders nextToken -> amazon.SearchCursor
        self.amazon_search_cursors = {}

    def snapshot(self):
        return copy.deepcopy(self.__dict__)

    def restore(self, snapshot):
        self.__dict__.update(snapshot)

    def ebay_order_of_line(self, trading_id):
        """The eBay order holding the line whose Trading OrderLineItemID
        (``ItemID-TransactionID``) is ``trading_id``."""
        for order in self.ebay_orders.values():
            if order.find_line(trading_id):
                return order
        return None

    def ebay_order_of_item(self, item_id, transaction_id):
        return self.ebay_order_of_line(f"{item_id}-{transaction_id}")
