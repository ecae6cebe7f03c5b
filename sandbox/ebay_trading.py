"""eBay Trading API (XML over ``POST /ws/api.dll``): CompleteSale, GetOrders.

Element names and their order come from eBay's schema (JAXB classes of WSDL
1131 in linus87/ebaysdk, see shared/notes/ebay-api.md §1 and §3): an element
out of sequence or unknown to the schema is refused like a schema violation.
Errors are HTTP 200 with ``<Ack>Failure</Ack>`` (AbstractResponseType).

A line is known as OrderLineItemID ``ItemID-TransactionID`` or by the ItemID
+ TransactionID pair, never by the REST lineItemId. OrderID applies to every
line and sets the order-level ShippedTime (KB 1640). Calls need a token with
the base scope; ShippingCarrierUsed must be an eBay carrier code
(:mod:`.carriers`); a tracking number holds letters and digits only
(:data:`TRACKING_CHARACTERS`); a tracking number of another buyer's order is
21916964.
"""

import dataclasses
import datetime
import re

from lxml.builder import ElementMaker

from .api import Api
from .carriers import EBAY_CARRIER_CODES
from .store import EBAY_SCOPE_BASE, EbayFulfillment, tracking_key
from .wire import (
    BodyError,
    Response,
    is_xs_datetime,
    iso_millis,
    parse_datetime,
    tracking_number_problem,
)

NS = "urn:ebay:apis:eBLBaseComponents"
E = ElementMaker(namespace=NS, nsmap={None: NS})
SCHEMA_VERSION = "1451"  # "Version 1451/1455" heads the current doc pages
BUILD = "E1451_CORE_APISELLING_SANDBOX"
SUPPORTED_CALLS = ("CompleteSale", "GetOrders")


def _sequence(names):
    """[(element, maxOccurs)] in schema order from "A B* C" (``*`` = unbounded)."""
    return [
        (name.rstrip("*"), None if name.endswith("*") else 1) for name in names.split()
    ]


# RequesterCredentials is the XML API's first child when Auth'n'Auth is used;
# the rest is AbstractRequestType.
_ABSTRACT_REQUEST = _sequence(
    "RequesterCredentials DetailLevel* ErrorLanguage MessageID Version EndUserIP "
    "ErrorHandling InvocationID OutputSelector* WarningLevel BotBlock"
)
COMPLETE_SALE_REQUEST = _ABSTRACT_REQUEST + _sequence(
    "ItemID TransactionID FeedbackInfo Shipped Paid ListingType Shipment OrderID "
    "OrderLineItemID"
)
SHIPMENT = _sequence(
    "EstimatedDeliveryDate InsuredValue PackageDepth PackageLength PackageWidth "
    "PayPalShipmentID ShipmentID PostageTotal PrintedTime ShipFromAddress "
    "ShippingAddress ShippingCarrierUsed ShippingFeature* ShippingPackage "
    "ShippingServiceUsed ShipmentTrackingNumber WeightMajor WeightMinor "
    "ItemTransactionID* DeliveryDate DeliveryStatus RefundGrantedTime "
    "RefundRequestedTime Status ShippedTime Notes ShipmentTrackingDetails* "
    "ShipmentLineItem"
)
SHIPMENT_TRACKING_DETAILS = _sequence(
    "ShippingCarrierUsed ShipmentTrackingNumber ShipmentLineItem"
)
# ShipmentLineItemType: LineItem [1..*]; LineItemType: Quantity?,
# CountryOfOrigin?, Description?, ItemID, TransactionID (JAXB classes of
# WSDL 1131; eBay's LineItemType page: "one order line item in a package.
# The package can contain multiple units of a given order line item").
SHIPMENT_LINE_ITEM = _sequence("LineItem*")
LINE_ITEM = _sequence("Quantity CountryOfOrigin Description ItemID TransactionID")
GET_ORDERS_REQUEST = _ABSTRACT_REQUEST + _sequence(
    "OrderIDArray CreateTimeFrom CreateTimeTo OrderRole OrderStatus ListingType "
    "Pagination ModTimeFrom ModTimeTo NumberOfDays IncludeFinalValueFee SortingOrder"
)
ORDER_ID_ARRAY = _sequence("OrderID*")
PAGINATION = _sequence("EntriesPerPage PageNumber")

# GetOrders takes at most 100 OrderID in OrderIDArray (eBay's GetOrders
# reference). The error eBay answers beyond that is not in the stored
# material; the sandbox refuses the request as eBay refuses any invalid
# input value (error 37 on the tag), nothing of it answered.
MAX_ORDER_IDS = 100

# "The Trading API only supports alphanumeric characters for shipment
# tracking numbers, and any other characters are not supported, including
# spaces, hyphens, and all other special characters. Users should not enter
# spaces even if spaces are shown for the tracking number on the shipping
# label." (ShipmentTrackingDetailsType, ShipmentTrackingNumber, Trading API
# reference: developer.ebay.com/Devzone/XML/docs/Reference/eBay/types/
# ShipmentTrackingDetailsType.html). eBay documents no error code of its own
# for it: the sandbox answers error 37, eBay's answer to an invalid input
# value, on the tag.
TRACKING_CHARACTERS = re.compile(r"^[0-9A-Za-z]+$")

# ShippedTime "may be set up to 3 calendar days in the future" (ShipmentType).
MAX_SHIPPED_AHEAD = datetime.timedelta(days=3)


class TradingError(Exception):
    """One ``Errors`` entry; raised by the validators, answered as Failure."""

    def __init__(
        self, code, short, long, classification="RequestError", parameter=None
    ):
        super().__init__(f"{code} {long}")
        self.code = str(code)
        self.short = short
        self.long = long
        self.classification = classification
        self.parameter = parameter


def invalid_tag(tag):
    """Error 37, eBay's generic answer to a missing or invalid input field."""
    return TradingError(
        37,
        "Input data is invalid.",
        f"Input data for tag <{tag}> is invalid or missing. "
        "Please check API documentation.",
        parameter=tag,
    )


# --------------------------------------------------------------- the envelope


def _local(tag):
    return tag.split("}", 1)[1] if tag.startswith("{") else tag


def _namespace(tag):
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def call_name(request):
    return request.header("x-ebay-api-call-name").strip()


def operation_of(request):
    """The sandbox operation name for a Trading request."""
    name = call_name(request)
    return f"ebay.{name}" if name in SUPPORTED_CALLS else "ebay.Trading"


def response_root(sandbox, call, errors=(), request_root=None):
    """``{Call}Response`` with the AbstractResponseType head filled in."""
    ack = "Failure" if errors else "Success"
    root = E(
        f"{call}Response", E.Timestamp(iso_millis(sandbox.clock.utcnow())), E.Ack(ack)
    )
    message_id = _text(request_root, "MessageID") if request_root is not None else ""
    if message_id:  # MessageID comes back as CorrelationID
        root.append(E.CorrelationID(message_id))
    for error in errors:
        root.append(_error_element(error))
    root.append(E.Version(SCHEMA_VERSION))
    root.append(E.Build(BUILD))
    return root


def _error_element(error):
    element = E.Errors(
        E.ShortMessage(error.short),
        E.LongMessage(error.long),
        E.ErrorCode(error.code),
        E.SeverityCode("Error"),
    )
    if error.parameter:
        element.append(E.ErrorParameters(E.Value(error.parameter), ParamID="0"))
    element.append(E.ErrorClassification(error.classification))
    return element


def failure(sandbox, call, error, request_root=None):
    return Response.xml(response_root(sandbox, call, [error], request_root))


class TradingApi(Api):
    """Header checks, IAF token checks and Failure answers for ``/ws/api.dll``."""

    name = "ebay.trading"

    def authenticate(self, sandbox, request, operation):
        try:
            _check_headers(request)
            return _check_token(sandbox, request)
        except TradingError as error:
            return failure(sandbox, _response_call(request), error)

    def throttled(self, sandbox, request, operation):
        return failure(
            sandbox,
            _response_call(request),
            TradingError(
                518,
                "Call usage limit has been reached.",
                "Your application has exceeded usage limit on this call, please make "
                "call to Developer Analytics API to check your call usage.",
            ),
        )

    def malformed(self, sandbox, request, operation):
        call = _response_call(request)
        text = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<{call}Response xmlns="{NS}">'
            f"<Timestamp>{iso_millis(sandbox.clock.utcnow())}</Timestamp><Ack>Succ"
        )
        return Response.raw(200, text, "text/xml;charset=utf-8")

    def trading_error(self, sandbox, request, operation, error):
        return failure(
            sandbox,
            _response_call(request),
            TradingError(
                error.get("code", "10007"),
                error.get("short", "Internal error to the application."),
                error.get("long", "System error. Unable to process your request."),
                error.get("classification", "SystemError"),
            ),
        )

    def error_body(self, status):
        return f"<html><body><h1>{status}</h1></body></html>"

    def status_answer(self, status, body, headers):
        headers = dict(headers or {})
        if body is None:
            headers.setdefault("Content-Type", "text/html")
        return super().status_answer(status, body, headers)


def _response_call(request):
    name = call_name(request)
    return name if re.fullmatch(r"[A-Za-z]+", name) else "Generic"


def _check_headers(request):
    """Raise for the header problems eBay reports before reading the body."""
    for header in ("X-EBAY-API-SITEID", "X-EBAY-API-COMPATIBILITY-LEVEL"):
        value = request.header(header).strip()
        if not value.isdigit():
            # KB 852: a non-numeric value such as "US" gives 10012.
            raise TradingError(
                10012,
                f'Invalid value for header "{header}".',
                f'Header "{header}" has an invalid value "{value}".',
            )
    name = call_name(request)
    if name not in SUPPORTED_CALLS:
        raise _unsupported_call(name)


def _unsupported_call(name):
    # KB 877: call-name header and root element must agree.
    return TradingError(
        2,
        "Unsupported API call.",
        f'The API call "{name}" is invalid or not supported in this release.',
    )


def _check_token(sandbox, request):
    """The caller's identity, from the OAuth user token in the IAF header."""
    token = request.header("x-ebay-api-iaf-token").strip()
    if not token:
        if b"eBayAuthToken" in request.body:
            # An Auth'n'Auth token: this sandbox never issues those.
            raise TradingError(
                931,
                "Auth token is invalid.",
                "Validation of the authentication token in API request failed.",
            )
        raise TradingError(
            930,
            "No Password and no token.",
            "No XML <RequestPassword> or <RequestToken> was found in XML Request.",
        )
    state, record = sandbox.state.tokens.check(token, "ebay", sandbox.clock.now())
    if state == "expired":
        raise TradingError(
            21917053, "Expired IAF token.", "IAF token supplied is expired."
        )
    if state != "valid" or (
        record.scopes is not None and EBAY_SCOPE_BASE not in record.scopes
    ):
        # Trading calls need the base scope https://api.ebay.com/oauth/api_scope
        # (sandbox rule: which scope Trading checks is an open point in
        # shared/notes/ebay-api.md §1.1). A token without it is answered as
        # any IAF token Trading will not take: 21916984.
        raise TradingError(
            21916984, "Invalid IAF token.", "IAF token supplied is invalid."
        )
    return record.identity


# ----------------------------------------------------------- body validation


def parse_call(request, call):
    """The request root element, checked against the call name and schema."""
    try:
        root = request.xml()
    except BodyError as exc:
        raise TradingError(5, "XML Parse error.", f'XML Error Text: "{exc}".') from exc
    if _namespace(root.tag) != NS:
        raise TradingError(
            5,
            "XML Parse error.",
            f'XML Error Text: "unexpected element (uri:"{_namespace(root.tag)}", '
            f'local:"{_local(root.tag)}"). Expected elements are '
            f'<{{{NS}}}{call}Request>".',
        )
    if _local(root.tag) != f"{call}Request":
        raise _unsupported_call(_local(root.tag).removesuffix("Request"))
    return root


def check_sequence(element, spec, path):
    """Raise error 37 for a child that is unknown, out of order or repeated
    beyond its maxOccurs. Elements of other namespaces match the schema's
    trailing ``<xs:any namespace="##other">`` and are ignored."""
    position, counts = 0, {}
    for child in _children(element, any_namespace=True):
        if _namespace(child.tag) != NS:
            continue
        name = _local(child.tag)
        while position < len(spec) and spec[position][0] != name:
            position += 1
        if position == len(spec):
            raise invalid_tag(f"{path}.{name}")
        counts[name] = counts.get(name, 0) + 1
        if spec[position][1] is not None and counts[name] > spec[position][1]:
            raise invalid_tag(f"{path}.{name}")


def _children(element, name=None, any_namespace=False):
    for child in element:
        if not isinstance(child.tag, str):
            continue
        if not any_namespace and _namespace(child.tag) != NS:
            continue
        if name is None or _local(child.tag) == name:
            yield child


def _child(element, name):
    return next(_children(element, name), None)


def _text(element, name):
    child = _child(element, name)
    return (child.text or "").strip() if child is not None else ""


def _boolean(element, name, path):
    """xs:boolean value of a child, or None when absent."""
    child = _child(element, name)
    if child is None:
        return None
    value = (child.text or "").strip()
    if value not in ("true", "false", "1", "0"):
        raise invalid_tag(f"{path}.{name}")
    return value in ("true", "1")


def _datetime(element, name, path):
    """xs:dateTime value of a child as aware UTC datetime, or None."""
    child = _child(element, name)
    if child is None:
        return None
    value = (child.text or "").strip()
    if not is_xs_datetime(value):
        raise invalid_tag(f"{path}.{name}")
    return parse_datetime(value)


# -------------------------------------------------------------- CompleteSale


@dataclasses.dataclass
class Sale:
    """A validated CompleteSale request."""

    order: object  # store.EbayOrder
    lines: list  # the store.EbayLine records it is about
    whole_order: bool  # named by OrderID
    shipped: bool | None  # <Shipped>, None when absent
    paid: bool | None  # <Paid>, None when absent
    shipped_time: datetime.datetime | None  # Shipment/ShippedTime
    tracking: list  # [(ShippingCarrierUsed, ShipmentTrackingNumber)]
    # ShipmentTrackingNumber -> {line_item_id: units in that package}, for
    # the packages whose ShipmentLineItem says so
    units: dict = dataclasses.field(default_factory=dict)


def complete_sale(sandbox, request, params):
    """Mark an order or one line shipped/paid and record its tracking.

    Guarantees: ``Ack`` Success only when the change was recorded. OrderID
    marks every line and sets the order-level ShippedTime; a line id marks
    that line only (KB 1640).
    """
    root = None
    try:
        root = parse_call(request, "CompleteSale")
        sale = _parse_sale(sandbox, root)
        _check_tracking_is_ours(sandbox, sale.order, sale.tracking)
    except TradingError as error:
        return failure(sandbox, "CompleteSale", error, root)
    _apply_sale(sandbox, sale)
    return Response.xml(response_root(sandbox, "CompleteSale", request_root=root))


def _parse_sale(sandbox, root):
    check_sequence(root, COMPLETE_SALE_REQUEST, "CompleteSaleRequest")
    order, lines, whole_order = _sale_target(sandbox, root)
    shipment = _child(root, "Shipment")
    shipped_time, tracking = _shipment(sandbox, shipment)
    return Sale(
        order=order,
        lines=lines,
        whole_order=whole_order,
        shipped=_boolean(root, "Shipped", "CompleteSaleRequest"),
        paid=_boolean(root, "Paid", "CompleteSaleRequest"),
        shipped_time=shipped_time,
        tracking=tracking,
        units=_package_units(order, lines, shipment),
    )


def _package_units(order, lines, shipment):
    """``{tracking number: {line_item_id: units}}`` from the
    ``ShipmentLineItem`` of each ShipmentTrackingDetails.

    As strict as the schema and the order allow, each an error 37 on the
    tag (eBay's answer to an invalid input value; it documents no code of
    its own for these): a LineItem out of LineItemType order or without
    ItemID / TransactionID; one naming a line the call is not about (the
    line of OrderLineItemID, or a line of the order by OrderID); a Quantity
    that is not a whole number from 1 to the units bought; more units of a
    line in its packages (this one and the others eBay holds under other
    tracking numbers) than were bought. A LineItem without Quantity holds
    the whole line."""
    units = {}
    if shipment is None:
        return units
    path = "CompleteSaleRequest.Shipment.ShipmentTrackingDetails.ShipmentLineItem"
    by_trading_id = {line.order_line_item_id: line for line in lines}
    for details in _children(shipment, "ShipmentTrackingDetails"):
        holder = _child(details, "ShipmentLineItem")
        if holder is None:
            continue
        check_sequence(holder, SHIPMENT_LINE_ITEM, path)
        items = list(_children(holder, "LineItem"))
        if not items:
            raise invalid_tag(f"{path}.LineItem")
        number = _text(details, "ShipmentTrackingNumber")
        package = units.setdefault(number, {})
        for item in items:
            check_sequence(item, LINE_ITEM, f"{path}.LineItem")
            item_id = _text(item, "ItemID")
            transaction_id = _text(item, "TransactionID")
            if not item_id or not transaction_id:
                missing = "TransactionID" if item_id else "ItemID"
                raise invalid_tag(f"{path}.LineItem.{missing}")
            line = by_trading_id.get(f"{item_id}-{transaction_id}")
            if line is None:
                raise invalid_tag(f"{path}.LineItem.ItemID")
            raw = _text(item, "Quantity")
            quantity = int(raw) if raw.isdigit() else None
            if _child(item, "Quantity") is None:
                quantity = line.quantity
            if quantity is None or not 1 <= quantity <= line.quantity:
                raise invalid_tag(f"{path}.LineItem.Quantity")
            package[line.line_item_id] = package.get(line.line_item_id, 0) + quantity
    for number, package in units.items():
        for line_id, quantity in package.items():
            elsewhere = sum(
                held
                for fulfillment in order.tracking_for(line_id)
                if tracking_key(fulfillment.tracking_number) != tracking_key(number)
                for held_id, held in fulfillment.line_items
                if held_id == line_id
            )
            if elsewhere + quantity > order.lines[line_id].quantity:
                raise invalid_tag(f"{path}.LineItem.Quantity")
    return units


def _sale_target(sandbox, root):
    """(order, lines, whole_order) named by exactly one of OrderID,
    OrderLineItemID, or ItemID + TransactionID."""
    order_id = _text(root, "OrderID")
    line_id = _text(root, "OrderLineItemID")
    item_id, transaction_id = _text(root, "ItemID"), _text(root, "TransactionID")
    ways = [bool(order_id), bool(line_id), bool(item_id or transaction_id)]
    if sum(ways) != 1:
        raise TradingError(
            37,
            "Input data is invalid.",
            "Identify the order with exactly one of OrderID, OrderLineItemID, or "
            "ItemID and TransactionID.",
        )
    if order_id:
        order = sandbox.state.ebay_orders.get(order_id)
        if order is None:
            raise invalid_tag("CompleteSaleRequest.OrderID")
        return order, list(order.lines.values()), True
    if line_id:
        trading_id, tag = line_id, "OrderLineItemID"
    else:
        if not (item_id and transaction_id):
            missing = "TransactionID" if item_id else "ItemID"
            raise invalid_tag(f"CompleteSaleRequest.{missing}")
        trading_id, tag = f"{item_id}-{transaction_id}", "ItemID"
    # Trading knows a line only as ItemID-TransactionID (OrderLineItemID is
    # "ItemID-TransactionID", KB 1640 / CompleteSaleRequestType); a REST
    # lineItemId is as unknown to it as a made-up id. Error 20822 "Invalid
    # ItemID or TransactionID" is eBay's Trading error for an item/transaction
    # pair it cannot find (Trading error table, ErrorMessages.html, as
    # reported for CompleteSale); no CompleteSale-specific code is documented
    # in shared/notes/ebay-api.md §1.3.
    order = sandbox.state.ebay_order_of_line(trading_id)
    if order is None:
        raise TradingError(
            20822,
            "Invalid ItemID or TransactionID",
            "Invalid ItemID or TransactionID.",
            parameter=tag,
        )
    return order, [order.find_line(trading_id)], False


def _shipment(sandbox, element):
    """(ShippedTime or None, [(carrier, number)]) of a Shipment element."""
    if element is None:
        return None, []
    path = "CompleteSaleRequest.Shipment"
    check_sequence(element, SHIPMENT, path)
    shipped_time = _datetime(element, "ShippedTime", path)
    if shipped_time and shipped_time > sandbox.clock.utcnow() + MAX_SHIPPED_AHEAD:
        raise invalid_tag(f"{path}.ShippedTime")
    # The flat Shipment/ShippingCarrierUsed + ShipmentTrackingNumber pair is
    # deprecated but still in the schema.
    holders = [(element, path)] + [
        (details, f"{path}.ShipmentTrackingDetails")
        for details in _children(element, "ShipmentTrackingDetails")
    ]
    tracking = []
    for holder, holder_path in holders:
        if holder is not element:
            check_sequence(holder, SHIPMENT_TRACKING_DETAILS, holder_path)
        carrier = _text(holder, "ShippingCarrierUsed")
        number = _text(holder, "ShipmentTrackingNumber")
        if number and (
            tracking_number_problem(number) or not TRACKING_CHARACTERS.match(number)
        ):
            # Control characters XML lets through (tab, CR, LF inside the
            # number, DEL, C1), over-long, or any character but letters and
            # digits (TRACKING_CHARACTERS): an invalid input value, error 37.
            raise invalid_tag(f"{holder_path}.ShipmentTrackingNumber")
        if bool(carrier) != bool(number):
            # "mutually dependent" (ShipmentTrackingDetailsType).
            missing = "ShipmentTrackingNumber" if carrier else "ShippingCarrierUsed"
            raise invalid_tag(f"{holder_path}.{missing}")
        if carrier and carrier not in EBAY_CARRIER_CODES:
            # ShippingCarrierUsed takes a ShippingCarrierDetails code
            # (carriers.py; the CompleteSale prototype types it
            # ShippingCarrierCodeType): anything else is error 37, eBay's
            # answer to an invalid input value.
            raise invalid_tag(f"{holder_path}.ShippingCarrierUsed")
        if number:
            tracking.append((carrier, number))
    return shipped_time, tracking


def _check_tracking_is_ours(sandbox, order, tracking):
    """KB 5021: a tracking number already used on an order of another buyer
    fails with 21916964 and nothing of the call is recorded; orders of the
    same buyer may share one (a combined shipment). The texts are those of a
    live answer quoted in davidtsadler/ebay-sdk-php#7. The same number again
    on the same order is no error (handled as an update, Ack Success)."""
    wanted = {tracking_key(number) for _carrier, number in tracking}
    for other in sandbox.state.ebay_orders.values():
        if other is order or other.buyer == order.buyer:
            continue
        for fulfillment in other.tracking_for():
            if tracking_key(fulfillment.tracking_number) in wanted:
                raise TradingError(
                    21916964,
                    "Tracking number(s) already exists.",
                    "One (or more) tracking number(s) in the request already "
                    "exists either for a different buyer or for a different "
                    "seller.",
                )


def _apply_sale(sandbox, sale):
    now = sandbox.clock.utcnow()
    shipped = sale.shipped
    if shipped is None and sale.tracking:
        # Sandbox choice: tracking without <Shipped> marks the lines shipped,
        # since a package with a tracking number has been handed over.
        shipped = True
    shipped_time = sale.shipped_time or now  # "If omitted ... call time" (D-ShipT)
    if shipped is not None:
        for line in sale.lines:
            line.shipped_time = shipped_time if shipped else None
        if sale.whole_order:
            sale.order.shipped_time = shipped_time if shipped else None
    if sale.paid is not None and sale.whole_order:
        sale.order.paid_time = (sale.order.paid_time or now) if sale.paid else None
    for carrier, number in sale.tracking:
        _record_tracking(
            sale.order,
            sale.lines,
            carrier,
            number,
            shipped_time,
            sale.units.get(number),
        )
    sale.order.last_modified_time = now


def _record_tracking(order, lines, carrier, number, shipped_time, units=None):
    """Store one package; the same number again (as carriers read it) only
    adds lines to it. ``units`` (``{line_item_id: units}``, from the
    package's ShipmentLineItem) says which lines it holds and how much of
    each, and replaces what the same package held of them; without it the
    package holds every line of the call, whole."""
    if units is None:
        held = [(line.line_item_id, line.quantity) for line in lines]
    else:
        held = list(units.items())
    existing = order.fulfillment_with_tracking(number)
    if existing is None:
        order.fulfillments[number] = EbayFulfillment(
            fulfillment_id=number,
            tracking_number=number,
            carrier_code=carrier,
            shipped_date=shipped_time,
            line_items=held,
            source="trading",
            line_units=units is not None,
        )
        return
    existing.carrier_code = carrier
    if units is not None:
        existing.line_units = True
    replaced = {line_id for line_id, _ in held if units is not None}
    existing.line_items = [
        (line_id, quantity)
        for line_id, quantity in existing.line_items
        if line_id not in replaced
    ]
    covered = {line_id for line_id, _ in existing.line_items}
    existing.line_items += [
        (line_id, quantity) for line_id, quantity in held if line_id not in covered
    ]


# ----------------------------------------------------------------- GetOrders


def get_orders(sandbox, request, params):
    """Orders by OrderIDArray, or modified within NumberOfDays / ModTime
    range / created within CreateTime range, paginated."""
    root = None
    try:
        root = parse_call(request, "GetOrders")
        check_sequence(root, GET_ORDERS_REQUEST, "GetOrdersRequest")
        orders = _selected_orders(sandbox, root)
        per_page, page = _pagination(root)
    except TradingError as error:
        return failure(sandbox, "GetOrders", error, root)
    pages = max(1, -(-len(orders) // per_page))
    shown = orders[(page - 1) * per_page : page * per_page]
    response = response_root(sandbox, "GetOrders", request_root=root)
    response.extend(
        [
            E.PaginationResult(
                E.TotalNumberOfPages(str(pages)),
                E.TotalNumberOfEntries(str(len(orders))),
            ),
            E.HasMoreOrders("true" if page < pages else "false"),
            E.OrderArray(*[order_element(order) for order in shown]),
            E.OrdersPerPage(str(per_page)),
            E.PageNumber(str(page)),
            E.ReturnedOrderCountActual(str(len(shown))),
        ]
    )
    return Response.xml(response)


def _selected_orders(sandbox, root):
    path = "GetOrdersRequest"
    id_array = _child(root, "OrderIDArray")
    if id_array is not None:
        check_sequence(id_array, ORDER_ID_ARRAY, f"{path}.OrderIDArray")
        wanted = [(e.text or "").strip() for e in _children(id_array, "OrderID")]
        if len(wanted) > MAX_ORDER_IDS:
            raise TradingError(
                37,
                "Input data is invalid.",
                f"Input data for tag <{path}.OrderIDArray.OrderID> is invalid or "
                f"missing: at most {MAX_ORDER_IDS} OrderID may be given.",
                parameter=f"{path}.OrderIDArray.OrderID",
            )
        # Unknown ids are simply not in OrderArray.
        return [
            sandbox.state.ebay_orders[i]
            for i in wanted
            if i in sandbox.state.ebay_orders
        ]
    now = sandbox.clock.utcnow()
    days = _text(root, "NumberOfDays")
    if days:
        if not days.isdigit() or not 1 <= int(days) <= 30:
            raise invalid_tag(f"{path}.NumberOfDays")
        window, field = (now - datetime.timedelta(days=int(days)), now), "modified"
    elif _child(root, "ModTimeFrom") is not None:
        window, field = _time_range(root, "ModTimeFrom", "ModTimeTo"), "modified"
    elif _child(root, "CreateTimeFrom") is not None:
        window, field = _time_range(root, "CreateTimeFrom", "CreateTimeTo"), "created"
    else:
        raise TradingError(
            37,
            "Input data is invalid.",
            "Specify OrderIDArray, NumberOfDays, ModTimeFrom and ModTimeTo, or "
            "CreateTimeFrom and CreateTimeTo.",
        )
    status = _text(root, "OrderStatus") or "All"
    selected = [
        order
        for order in sandbox.state.ebay_orders.values()
        if window[0]
        <= (order.last_modified_time if field == "modified" else order.created_time)
        <= window[1]
        and status in ("All", trading_order_status(order))
    ]
    descending = _text(root, "SortingOrder") == "Descending"
    return sorted(selected, key=lambda order: order.created_time, reverse=descending)


# ModTimeFrom / ModTimeTo: a window of at most 30 days (shared/notes/
# ebay-api.md §1.4, where Odoo's connector pages GetOrders in such windows).
MOD_TIME_MAX_WINDOW = datetime.timedelta(days=30)


def _time_range(root, start_name, end_name):
    start = _datetime(root, start_name, "GetOrdersRequest")
    end = _datetime(root, end_name, "GetOrdersRequest")
    if start is None or end is None:
        raise invalid_tag(f"GetOrdersRequest.{end_name if start else start_name}")
    if end < start:
        raise invalid_tag(f"GetOrdersRequest.{end_name}")
    if start_name == "ModTimeFrom" and end - start > MOD_TIME_MAX_WINDOW:
        raise TradingError(
            37,
            "Input data is invalid.",
            "The ModTimeFrom - ModTimeTo range may not exceed 30 days.",
            parameter="GetOrdersRequest.ModTimeTo",
        )
    return start, end


def _pagination(root):
    """(EntriesPerPage, PageNumber): default 25 and 1, at most 100 per page."""
    element = _child(root, "Pagination")
    if element is None:
        return 25, 1
    path = "GetOrdersRequest.Pagination"
    check_sequence(element, PAGINATION, path)
    per_page, page = (
        _text(element, "EntriesPerPage") or "25",
        _text(element, "PageNumber") or "1",
    )
    if not per_page.isdigit() or not 1 <= int(per_page) <= 100:
        raise invalid_tag(f"{path}.EntriesPerPage")
    if not page.isdigit() or int(page) < 1:
        raise invalid_tag(f"{path}.PageNumber")
    return int(per_page), int(page)


# ---------------------------------------------------------------- OrderType


def trading_order_status(order):
    """OrderStatusCodeType: Completed once checkout is complete (paid),
    Active before; cancellations win."""
    if order.cancel_state == "CANCELED":
        return "Cancelled"
    if order.cancel_state == "IN_PROGRESS":
        return "CancelPending"
    return "Completed" if order.checkout_status == "Complete" else "Active"


_CANCEL_STATUS = {
    "NONE_REQUESTED": "NotApplicable",
    "IN_PROGRESS": "CancelPending",
    "CANCELED": "CancelComplete",
}


def _tracking_details(fulfillments, line=None):
    """``ShippingDetails`` with one ShipmentTrackingDetails per package; on
    a Transaction (``line``), a package CompleteSale described with a
    ShipmentLineItem shows it back with the units of that line it holds
    (eBay returns ShipmentLineItem in GetOrders' ShipmentTrackingDetails:
    ShipmentTrackingDetailsType, "Required or returned if ... PBI"; the
    sandbox returns what it was given, whatever the carrier)."""
    details = []
    for f in fulfillments:
        element = E.ShipmentTrackingDetails(
            E.ShippingCarrierUsed(f.carrier_code),
            E.ShipmentTrackingNumber(f.tracking_number),
        )
        units = [q for lid, q in f.line_items if line and lid == line.line_item_id]
        if line is not None and f.line_units and units:
            element.append(
                E.ShipmentLineItem(
                    E.LineItem(
                        E.Quantity(str(sum(units))),
                        E.ItemID(line.item_id),
                        E.TransactionID(line.transaction_id),
                    )
                )
            )
        details.append(element)
    return E.ShippingDetails(*details)


def order_element(order):
    """An ``Order`` in OrderType element order, with the fields the addon reads."""
    element = E.Order(
        E.OrderID(order.order_id),
        E.OrderStatus(trading_order_status(order)),
        E.CheckoutStatus(
            E.eBayPaymentStatus("NoPaymentFailure"),
            E.LastModifiedTime(iso_millis(order.last_modified_time)),
            E.Status(order.checkout_status),
        ),
        _tracking_details(order.tracking_for()),
        E.CreatedTime(iso_millis(order.created_time)),
        E.TransactionArray(
            *[_transaction(order, line) for line in order.lines.values()]
        ),
        E.BuyerUserID(order.buyer),  # OrderType: right after TransactionArray
    )
    if order.paid_time:
        element.append(E.PaidTime(iso_millis(order.paid_time)))
    if order.shipped_time:
        element.append(E.ShippedTime(iso_millis(order.shipped_time)))
    if order.refunded:
        # OrderType: MonetaryDetails (PaymentsInformationType: Payments?,
        # Refunds?) between ShippedTime and SellerUserID; Refunds holds one
        # Refund (RefundTransactionInfoType: RefundStatus, RefundType,
        # RefundTo, RefundTime, RefundAmount...) per refund (JAXB classes
        # of WSDL 1131). The sandbox keeps no prices: no RefundAmount.
        element.append(
            E.MonetaryDetails(
                E.Refunds(
                    E.Refund(
                        E.RefundStatus("Succeeded"),
                        E.RefundTime(iso_millis(order.last_modified_time)),
                    )
                )
            )
        )
    element.append(E.SellerUserID("sandbox_seller"))
    element.append(E.CancelStatus(_CANCEL_STATUS[order.cancel_state]))
    element.append(E.OrderLineItemCount(str(len(order.lines))))
    return element


def _transaction(order, line):
    """A ``Transaction`` in TransactionType element order (Variation comes
    after ShippedTime and before OrderLineItemID, VariationType starts with
    SKU: JAXB TransactionType / VariationType of R-JAXB).

    The line's ids as Trading shows them: ``Item/ItemID``, ``TransactionID``
    and ``OrderLineItemID`` = ``ItemID-TransactionID``; its SKU under
    ``Variation/SKU`` for a multi-variation listing, else ``Item/SKU``.
    """
    item = E.Item(E.ItemID(line.item_id))
    if line.title:
        item.append(E.Title(line.title))
    if line.sku and not line.variation_id:
        item.append(E.SKU(line.sku))
    element = E.Transaction(
        _tracking_details(order.tracking_for(line.line_item_id), line),
        E.CreatedDate(iso_millis(order.created_time)),
        item,
        E.QuantityPurchased(str(line.quantity)),
        E.TransactionID(line.transaction_id),
    )
    if order.paid_time:
        element.append(E.PaidTime(iso_millis(order.paid_time)))
    if line.shipped_time:
        element.append(E.ShippedTime(iso_millis(line.shipped_time)))
    if line.variation_id:
        variation = E.Variation()
        if line.sku:
            variation.append(E.SKU(line.sku))
        element.append(variation)
    element.append(E.OrderLineItemID(line.order_line_item_id))
    return element


# ------------------------------------------------------------ fault targeting


def order_refs(sandbox, request, params):
    """The order ids a Trading request is about (for fault ``order_ref``)."""
    try:
        root = request.xml()
    except BodyError:
        return set()
    refs = {(e.text or "").strip() for e in root.iter(f"{{{NS}}}OrderID")}
    line_id = _text(root, "OrderLineItemID")
    item_id, transaction_id = _text(root, "ItemID"), _text(root, "TransactionID")
    for trading_id in (line_id, f"{item_id}-{transaction_id}" if item_id else ""):
        order = sandbox.state.ebay_order_of_line(trading_id) if trading_id else None
        if order is not None:
            refs.add(order.order_id)
    return refs - {""}


def handle_call(sandbox, request, params):
    """Route a ``/ws/api.dll`` request to its call (the header was checked
    against :data:`SUPPORTED_CALLS` during authentication)."""
    handlers = {"CompleteSale": complete_sale, "GetOrders": get_orders}
    return handlers[call_name(request)](sandbox, request, params)
