"""eBay Sell Fulfillment API (REST) client: shipping fulfillments and order
read-back.

Contract: ``shared/specs/ebay/sell_fulfillment_v1_oas3.json`` (v1.20.7).
Same OAuth user token as the Trading client, sent as ``Authorization:
Bearer``.
"""

import collections
import datetime
import logging
import re
import urllib.parse

from . import base
from .ebay_oauth import SELL_FULFILLMENT_SCOPE, EbayClient
from .errors import AuthError, PermanentError, RateLimitedError, TransientError
from .http import (
    Operation,
    TokenRejectedError,
    json_body,
    json_object,
    parse_retry_after,
)
from .tokens import utcnow

_logger = logging.getLogger(__name__)

BASE_PATH = "/sell/fulfillment/v1"
GET_ORDER = Operation("getOrder", base.API_EBAY_FULFILLMENT)
GET_ORDERS = Operation("getOrders", base.API_EBAY_FULFILLMENT)
GET_SHIPPING_FULFILLMENTS = Operation(
    "getShippingFulfillments", base.API_EBAY_FULFILLMENT
)
CREATE_SHIPPING_FULFILLMENT = Operation(
    "createShippingFulfillment", base.API_EBAY_FULFILLMENT
)

# errorIds (shared/notes/ebay-api.md §2.2, §2.4, §6.3):
# * 1001 "Invalid access token": refresh the token once;
# * 30500 "System error" (HTTP 500): transient;
# * 34500 "Please use PUT operation for updating shipping fulfillment": the
#   order already has a fulfillment with this tracking number (the
#   fulfillment id is the tracking number, OAS createShippingFulfillment);
#   confirm_shipment reads the order again to tell "already sent" from "this
#   number is on other items";
# * every other 4xx errorId, e.g. 32100 order id, 32200 line item id, 32210
#   duplicate line item, 32300 tracking number or carrier, 32400 user
#   suspended, 32500 shipped date, 32600 input data, 34100 too many tracking
#   numbers, 34200/34300 Global Shipping Program mixes: permanent.
INVALID_TOKEN_ERROR_ID = 1001
SYSTEM_ERROR_ID = 30500
USE_PUT_ERROR_ID = 34500
# Statuses the contract uses for refused data (400, 404, 409).
DATA_ERROR_STATUSES = (400, 404, 409)

# OrderFulfillmentStatus (sel:OrderFulfillmentStatus).
STATUS_LABELS = {
    "NOT_STARTED": "Not shipped",
    "IN_PROGRESS": "Partially shipped",
    "FULFILLED": "Shipped",
}
CANCELLED_STATE = "CANCELED"  # sel:CancelStateEnum
# getOrders: "A comma-separated list of ... order IDs (maximum 50)".
MAX_ORDER_IDS = 50
# Reconciliation (changed_orders): getOrders "limit ... Maximum: 200", and
# at most this many pages a call (the rest on the next call).
CHANGED_PAGE_SIZE = 200
MAX_CHANGED_PAGES = 25
# OrderPaymentStatusEnum values of a refunded order.
REFUNDED_PAYMENT_STATUSES = frozenset({"FULLY_REFUNDED", "PARTIALLY_REFUNDED"})
# LineItemFulfillmentStatusEnum values of a line some fulfillment covers.
SHIPPED_LINE_STATUSES = frozenset({"IN_PROGRESS", "FULFILLED"})


def rest_tracking_number(number):
    """``(number, changed)``: the tracking number as the Fulfillment API
    accepts it and whether that differs from the input.

    "Only alphanumeric characters are supported for shipment tracking
    numbers. Spaces, hyphens, and all other special characters are not
    supported" (ShippingFulfillmentDetails.trackingNumber). Case is kept.
    """
    normalised = re.sub(r"[^0-9A-Za-z]", "", number or "")
    return normalised, normalised != (number or "")


class EbayFulfillmentClient(EbayClient):
    """One eBay seller account on the Sell Fulfillment API.

    Every method raises one of :mod:`.errors` or returns its documented
    result; every HTTP exchange (token ones included) is journaled under
    :data:`~.base.API_EBAY_FULFILLMENT`.
    """

    #: sell.fulfillment covers createShippingFulfillment and the reads
    #: (sell_fulfillment_v1_oas3.json securitySchemes).
    scopes = (SELL_FULFILLMENT_SCOPE,)
    read_batch_size = MAX_ORDER_IDS

    def __init__(self, **kwargs):
        """Same arguments as :class:`~.ebay_oauth.EbayClient`."""
        super().__init__(**kwargs)
        self.fulfillment_url = self.api_base_url + BASE_PATH

    # -- operations --------------------------------------------------------

    def confirm_shipment(self, shipment):
        """One ``createShippingFulfillment`` per package (HTTP 201).

        Duplicate guard: the order's fulfillments are read first, and a
        package that is already there (:func:`fulfillment_matches`: same
        tracking number and same line items and quantities) is not sent
        again, so a retry after a crash never posts twice. A fulfillment with
        the same tracking number but other lines (a backorder shipped under
        the same number) does not count.

        A POST answered with errorId 34500 means eBay holds a fulfillment with
        this tracking number: the fulfillments are read again; if one now
        matches, the package counts as already there, else PermanentError
        (the number is on other items of the order and must be corrected on
        eBay).

        Returns a :class:`~.base.ConfirmResult` whose ``duplicate`` is true
        when every package was already there and whose ``location`` lists
        the new fulfillments' URIs.
        """
        payloads = fulfillment_payloads(shipment)
        order_ref = shipment.order_ref
        existing = self._fulfillments(order_ref)
        created, skipped = [], []
        for payload in payloads:
            number = payload["trackingNumber"]
            if _already_there(existing, payload):
                _logger.info("eBay %s already has package %s", order_ref, number)
                skipped.append(number)
                continue
            try:
                location = self._rest(
                    CREATE_SHIPPING_FULFILLMENT,
                    "POST",
                    _order_path(order_ref, "/shipping_fulfillment"),
                    parse=_location,
                    order_ref=order_ref,
                    json=payload,
                )
            except PermanentError as err:
                if err.code != str(USE_PUT_ERROR_ID):
                    raise
                existing = self._fulfillments(order_ref)
                if not _already_there(existing, payload):
                    raise tracking_taken_error(order_ref, number, err) from None
                _logger.info("eBay %s already had package %s", order_ref, number)
                skipped.append(number)
                continue
            created.append(location)
            existing.append(payload_as_fulfillment(payload))
        message = f"eBay accepted {len(created)} package(s) for {order_ref}"
        if skipped:
            message += f"; already there: {', '.join(skipped)}"
        return base.ConfirmResult(
            duplicate=not created,
            message=message,
            location=", ".join(loc for loc in created if loc),
        )

    def request_count(self, shipment):
        """Requests :meth:`confirm_shipment` sends for ``shipment``: one read
        of the fulfillments and one POST per package. A POST answered 34500
        adds one read; packages already there save their POST. Never
        raises."""
        return 1 + len(shipment.packages)

    def send_delay(self, shipment=None):
        """Seconds before :meth:`confirm_shipment` could start without a
        pacing sleep (0.0: now). eBay documents daily call limits, not
        per-second ones, so this is 0.0 unless eBay answered 429 with a
        Retry-After still running. Consumes nothing; never raises."""
        return max(
            self._pacing_delay(GET_SHIPPING_FULFILLMENTS),
            self._pacing_delay(CREATE_SHIPPING_FULFILLMENT),
        )

    def sends_within(self, seconds):
        """None: eBay documents daily call limits, not per-second ones."""
        return

    def read_order(self, order_ref):
        """eBay's view of the order (``getOrder`` plus
        ``getShippingFulfillments``) as a :class:`~.base.OrderView`."""
        order = self._rest(
            GET_ORDER,
            "GET",
            _order_path(order_ref),
            parse=_json_object,
            order_ref=order_ref,
        )
        return order_view(order_ref, order, self._fulfillments(order_ref))

    def read_orders(self, order_refs, since=None, backlog=0, coming=0):
        """eBay's view of several orders, ``{order_ref: OrderView}``.

        One ``getOrders`` (``GET /order?orderIds=…``) per 50 refs, then
        ``getShippingFulfillments`` only for the orders that show some
        fulfillment (``fulfillmentHrefs``, or a line IN_PROGRESS or
        FULFILLED): the Order carries no tracking number. An order without
        any has no package, as :meth:`read_order` would find. Calls for n
        refs: ceil(n / 50) + the shipped ones among them (read_order: 2 n).

        Refs eBay does not return (it lists them in ``warnings``) are
        absent, and so is an order whose fulfillments eBay refuses to list
        (a PermanentError, journaled under that order): the engine reads
        those singly, where the error belongs to its order. ``since`` is not
        needed. eBay meters per day, so nothing is held back; other errors
        raise, the getOrders calls journaled without an order ref."""
        wanted = list(dict.fromkeys(str(ref) for ref in order_refs if ref))
        found = {}
        for start in range(0, len(wanted), MAX_ORDER_IDS):
            chunk = wanted[start : start + MAX_ORDER_IDS]
            query = ",".join(urllib.parse.quote(ref, safe="") for ref in chunk)
            collection = self._rest(
                GET_ORDERS, "GET", "/order?orderIds=" + query, parse=_json_object
            )
            orders = collection.get("orders")
            for order in orders if isinstance(orders, list) else []:
                ref = str(order.get("orderId") or "") if isinstance(order, dict) else ""
                if ref not in chunk or ref in found:
                    continue
                fulfillments = []
                if shows_fulfillment(order):
                    try:
                        fulfillments = self._fulfillments(ref)
                    except PermanentError:
                        continue  # read singly: the error is that order's
                found[ref] = order_view(ref, order, fulfillments)
        return found

    def changed_orders(self, since, until=None, resume=""):
        """The seller's orders eBay modified within ``[since, until]``:
        ``getOrders`` with ``filter=lastmodifieddate:[since..until]``, 200 a
        page (``limit``/``offset``, from offset ``resume``), at most
        :data:`MAX_CHANGED_PAGES` pages a call; then, as :meth:`read_orders`
        does, ``getShippingFulfillments`` for each order that shows a
        fulfillment (the Order carries no tracking number). An order whose
        fulfillments eBay refuses to list is left out. Metered per day:
        nothing is held back."""
        now = _aware(utcnow())
        since = _aware(since)
        until = base.window_end(min(_aware(until or now), now))
        if until <= since:
            return base.ChangedOrders([], since, since)
        offset = int(resume) if str(resume or "").isdigit() else 0
        window = f"lastmodifieddate:[{base.utc_iso(since)}..{base.utc_iso(until)}]"
        orders, pages = [], 0
        while pages < MAX_CHANGED_PAGES:
            collection = self._rest(
                GET_ORDERS,
                "GET",
                "/order",
                parse=_json_object,
                params={
                    "filter": window,
                    "limit": CHANGED_PAGE_SIZE,
                    "offset": offset,
                },
            )
            pages += 1
            page = collection.get("orders")
            page = (
                [o for o in page if isinstance(o, dict)]
                if isinstance(page, list)
                else []
            )
            for order in page:
                ref = str(order.get("orderId") or "")
                if not ref:
                    continue
                fulfillments = []
                if shows_fulfillment(order):
                    try:
                        fulfillments = self._fulfillments(ref)
                    except PermanentError:
                        continue
                orders.append(order_view(ref, order, fulfillments))
            offset += len(page)
            total = collection.get("total")
            if (
                not page
                or not collection.get("next")
                or (isinstance(total, int) and offset >= total)
            ):
                return base.ChangedOrders(orders, since, until, pages=pages)
        return base.ChangedOrders(
            orders, since, until, complete=False, resume=str(offset), pages=pages
        )

    def find_fulfillment(self, order_ref, tracking_number):
        """The order's ``ShippingFulfillment`` (eBay's JSON) carrying
        ``tracking_number`` (compared normalised), or ``None``."""
        wanted = base.normalize_tracking(tracking_number)
        for fulfillment in self._fulfillments(order_ref):
            found = base.normalize_tracking(fulfillment.get("shipmentTrackingNumber"))
            if wanted and found == wanted:
                return fulfillment
        return None

    def probe(self, api=None):
        """Health check: ``GET /order?limit=1`` (``api``, this client's own
        API key, is ignored)."""
        self._rest(GET_ORDERS, "GET", "/order", parse=_json_object, params={"limit": 1})

    # -- plumbing ----------------------------------------------------------

    def _fulfillments(self, order_ref):
        """The order's ``ShippingFulfillment`` objects (getShippingFulfillments)."""
        return self._rest(
            GET_SHIPPING_FULFILLMENTS,
            "GET",
            _order_path(order_ref, "/shipping_fulfillment"),
            parse=_fulfillment_list,
            order_ref=order_ref,
        )

    def _rest(self, operation, method, path, *, parse, order_ref="", **kwargs):
        """One Fulfillment API exchange: authorized, journaled, with the
        refresh-once rule of :meth:`HttpClient._with_token`."""
        url = self.fulfillment_url + path

        def check_and_parse(response):
            raise_for_rest_error(response, operation, order_ref)
            return parse(response)

        def headers_for(access_token):
            headers = {
                "Authorization": f"Bearer {access_token}",
                "Accept": "application/json",
            }
            if "json" in kwargs:
                headers["Content-Type"] = "application/json"
            return headers

        return self._authorized_call(
            operation,
            method,
            url,
            headers_for=headers_for,
            parse=check_and_parse,
            order_ref=order_ref,
            **kwargs,
        )


# --------------------------------------------------------------------------
# Payloads and answers (pure functions)
# --------------------------------------------------------------------------


def fulfillment_payloads(shipment):
    """One ``ShippingFulfillmentDetails`` per package. Raises PermanentError
    for data eBay is documented to refuse, before anything is sent."""
    if not shipment.packages:
        raise PermanentError(f"Shipment for {shipment.order_ref} has no packages")
    payloads, numbers = [], set()
    for package in shipment.packages:
        number, _changed = rest_tracking_number(package.tracking_number)
        # shippingCarrierCode and trackingNumber are mutually dependent.
        if not number or not shipment.carrier_code:
            raise PermanentError("eBay needs both a carrier and a tracking number")
        if base.normalize_tracking(number) in numbers:
            # The fulfillment id is the tracking number: a second package
            # with it would be answered 34500 (OAS createShippingFulfillment).
            raise PermanentError(
                f"Two packages of {shipment.order_ref} have tracking number "
                f"{package.tracking_number}; eBay keeps one fulfillment per "
                "tracking number"
            )
        numbers.add(base.normalize_tracking(number))
        if not package.items or any(int(i.quantity) <= 0 for i in package.items):
            raise PermanentError(
                f"Package {package.tracking_number} needs line items with a "
                "quantity above zero"
            )
        payloads.append(
            {
                "lineItems": [
                    {"lineItemId": str(i.item_ref), "quantity": int(i.quantity)}
                    for i in package.items
                ],
                "shippedDate": base.utc_iso(shipment.ship_date),
                "shippingCarrierCode": shipment.carrier_code,
                "trackingNumber": number,
            }
        )
    return payloads


def _line_multiset(line_items):
    """The ``(lineItemId, quantity)`` multiset of a fulfillment's or a
    payload's ``lineItems``; a missing quantity is 1 (LineItemReference
    "Default: 1")."""
    counter = collections.Counter()
    for line in line_items or []:
        if not isinstance(line, dict):
            continue
        quantity = line.get("quantity")
        try:
            quantity = 1 if quantity is None else int(quantity)
        except (TypeError, ValueError):
            quantity = None
        counter[(str(line.get("lineItemId") or ""), quantity)] += 1
    return counter


def fulfillment_matches(fulfillment, payload):
    """True when an existing ``ShippingFulfillment`` is the package of
    ``payload`` (a ``ShippingFulfillmentDetails``): the same tracking number,
    compared normalised, and the same line items with the same quantities.
    The tracking number alone is not enough: a backorder may ship other
    items of the order under the same number."""
    wanted = base.normalize_tracking(payload.get("trackingNumber"))
    found = base.normalize_tracking(fulfillment.get("shipmentTrackingNumber"))
    return (
        bool(wanted)
        and found == wanted
        and _line_multiset(fulfillment.get("lineItems"))
        == _line_multiset(payload.get("lineItems"))
    )


def _already_there(fulfillments, payload):
    return any(fulfillment_matches(f, payload) for f in fulfillments)


def payload_as_fulfillment(payload):
    """The ``ShippingFulfillment`` eBay records for an accepted payload."""
    return {
        "fulfillmentId": payload["trackingNumber"],
        "shipmentTrackingNumber": payload["trackingNumber"],
        "shippingCarrierCode": payload["shippingCarrierCode"],
        "shippedDate": payload["shippedDate"],
        "lineItems": [dict(line) for line in payload["lineItems"]],
    }


def tracking_taken_error(order_ref, tracking_number, error):
    """The PermanentError for a 34500 answer when no fulfillment of the
    order matches the package: eBay holds the number for other items."""
    return PermanentError(
        f"eBay already holds tracking number {tracking_number} for other items "
        f"of order {order_ref}; correct the tracking on eBay (eBay: "
        f"{error.message})",
        code=error.code,
        http_status=error.http_status,
    )


def raise_for_rest_error(response, operation, order_ref=""):
    """Map a Fulfillment API error answer onto :mod:`.errors`.

    Error bodies are ``{"errors": [{"errorId", "domain", "category",
    "message", "longMessage", ...}]}`` (``Error`` schema).
    """
    status = response.status_code
    if 200 <= status < 300:
        return
    errors = _rest_errors(response)
    first = errors[0] if errors else {}
    error_ids = {_error_id(e) for e in errors}
    message = str(first.get("longMessage") or first.get("message") or "")
    code = None if _error_id(first) is None else str(_error_id(first))
    if status == 401 or INVALID_TOKEN_ERROR_ID in error_ids:
        raise TokenRejectedError(
            message or "eBay rejected the access token",
            code=code,
            http_status=status,
        )
    if status == 429:
        # eBay's 429 body says domain ACCESS too (errorId 2001), so this
        # comes before the ACCESS rule below.
        raise RateLimitedError(
            message or f"eBay is throttling {operation.name}",
            code=code,
            http_status=status,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
    if status >= 500 or SYSTEM_ERROR_ID in error_ids:
        raise TransientError(
            message or f"eBay failed on {operation.name} (HTTP {status})",
            code=code,
            http_status=status,
        )
    if status == 403 or (
        status not in DATA_ERROR_STATUSES
        and any(e.get("domain") == "ACCESS" for e in errors)
    ):
        # A missing scope or a revoked consent: a new token will not help.
        raise AuthError(
            f"{message.rstrip('.') or 'eBay denied access'}. Check the app's "
            "scopes and re-authorize the eBay account.",
            code=code,
            http_status=status,
        )
    if status == 404 and not message:
        message = f"eBay has no order {order_ref} (order not found)"
    raise PermanentError(
        message or f"eBay refused {operation.name} (HTTP {status})",
        code=code,
        http_status=status,
    )


def _aware(value):
    """A datetime as aware UTC (naive = UTC, as Odoo stores them)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=datetime.UTC)
    return value.astimezone(datetime.UTC)


def shows_fulfillment(order):
    """Whether an ``Order`` shows any shipping fulfillment: a
    ``fulfillmentHrefs`` entry, or a line some fulfillment covers ("Any
    quantity of a line item assigned to a fulfillment marks that line
    FULFILLED", OrderFulfillmentStatus)."""
    if order.get("fulfillmentHrefs") or (
        order.get("orderFulfillmentStatus") in SHIPPED_LINE_STATUSES
    ):
        return True
    return any(
        isinstance(line, dict)
        and line.get("lineItemFulfillmentStatus") in SHIPPED_LINE_STATUSES
        for line in order.get("lineItems") or []
    )


def order_view(order_ref, order, fulfillments):
    """An :class:`~.base.OrderView` from an ``Order`` and its
    ``ShippingFulfillment`` list."""
    status = order.get("orderFulfillmentStatus") or ""
    cancel_state = (order.get("cancelStatus") or {}).get("cancelState") or ""
    cancelled = cancel_state == CANCELLED_STATE
    packages = [_package_view(f) for f in fulfillments]
    ship_times = [p.ship_time for p in packages if p.ship_time]
    return base.OrderView(
        order_ref=order.get("orderId") or order_ref,
        status=status,
        status_label="Cancelled" if cancelled else STATUS_LABELS.get(status, status),
        shipped_time=max(ship_times) if ship_times else "",
        cancelled=cancelled,
        refunded=order.get("orderPaymentStatus") in REFUNDED_PAYMENT_STATUSES,
        last_updated=str(order.get("lastModifiedDate") or ""),
        packages=packages,
        line_status={
            str(line.get("lineItemId")): line.get("lineItemFulfillmentStatus") or ""
            for line in order.get("lineItems") or []
            if isinstance(line, dict) and line.get("lineItemId")
        },
        lines=[
            _order_line(line)
            for line in order.get("lineItems") or []
            if isinstance(line, dict)
        ],
    )


def _order_line(line):
    """A :class:`~.base.OrderLine` from a ``LineItem``. REST reports no
    Trading OrderLineItemID and no TransactionID (v1.20.7)."""
    quantity = line.get("quantity")
    return base.OrderLine(
        line_item_id=str(line.get("lineItemId") or ""),
        item_id=str(line.get("legacyItemId") or ""),
        variation_id=str(line.get("legacyVariationId") or ""),
        sku=str(line.get("sku") or ""),
        quantity=quantity if isinstance(quantity, int) else None,
        title=str(line.get("title") or ""),
    )


def _package_view(fulfillment):
    return base.PackageView(
        package_ref=str(fulfillment.get("fulfillmentId") or ""),
        carrier=fulfillment.get("shippingCarrierCode") or "",
        tracking_number=fulfillment.get("shipmentTrackingNumber") or "",
        ship_time=fulfillment.get("shippedDate") or "",
        # (lineItemId, quantity); quantity "Default: 1" (LineItemReference).
        items=[
            (
                str(line.get("lineItemId") or ""),
                1 if line.get("quantity") is None else line.get("quantity"),
            )
            for line in fulfillment.get("lineItems") or []
            if isinstance(line, dict)
        ],
    )


def _rest_errors(response):
    body = json_body(response)
    errors = body.get("errors") if isinstance(body, dict) else None
    return (
        [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []
    )


def _error_id(error):
    try:
        return int(error.get("errorId"))
    except (TypeError, ValueError):
        return None


def _json_object(response):
    return json_object(response, "eBay")


def _fulfillment_list(response):
    fulfillments = _json_object(response).get("fulfillments") or []
    if not isinstance(fulfillments, list):
        raise TransientError(
            "eBay sent an unreadable fulfillment list",
            code="malformed",
            http_status=response.status_code,
        )
    return [f for f in fulfillments if isinstance(f, dict)]


def _location(response):
    return response.headers.get("Location", "")


def _order_path(order_ref, suffix=""):
    return "/order/" + urllib.parse.quote(str(order_ref), safe="") + suffix
