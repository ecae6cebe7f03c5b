"""eBay REST: the OAuth token endpoint and the Sell Fulfillment API v1.

Contract: shared/specs/ebay/sell_fulfillment_v1_oas3.json (v1.20.7); the
errorId values and texts are the ``x-response-codes`` of that file.

Tokens come from a refresh token's consent (its scopes) and carry the scopes
granted; each operation checks the scope the OAS names. A line is known by
its REST ``lineItemId`` only; carrier codes are eBay's
(:data:`.carriers.EBAY_CARRIER_CODES`); a tracking number the order already
has is 34500.
"""

import base64
import binascii
import datetime
import re
from urllib.parse import urlencode

from .api import Api
from .carriers import EBAY_CARRIER_CODES
from .store import (
    EBAY_SCOPE_BASE,
    EBAY_SCOPE_FULFILLMENT,
    EBAY_SCOPE_FULFILLMENT_READ,
    EbayFulfillment,
)
from .wire import (
    MAX_TRACKING_NUMBER,
    BodyError,
    Response,
    iso_millis,
    parse_datetime,
    tracking_number_problem,
)

SCOPE_BASE = EBAY_SCOPE_BASE
SCOPE_FULFILLMENT = EBAY_SCOPE_FULFILLMENT
SCOPE_FULFILLMENT_READ = EBAY_SCOPE_FULFILLMENT_READ
WRITE_OPERATIONS = ("ebay.createShippingFulfillment",)

# errorId -> (category, message) from the OAS x-response-codes.
ERRORS = {
    30500: ("APPLICATION", "System error"),
    30700: ("REQUEST", "Invalid filter name: {}"),
    30800: ("REQUEST", "Invalid filter value {}"),
    30810: ("REQUEST", "Invalid date format"),
    30820: ("REQUEST", "Start date is missing"),
    30900: (
        "REQUEST",
        "Exceeded maximum number of order IDs (the current limit is 50)",
    ),
    31000: ("REQUEST", "Invalid offset: {}"),
    31100: ("REQUEST", "Invalid limit: {}"),
    32100: ("REQUEST", "Invalid order ID: {}"),
    32110: ("REQUEST", "Invalid shipping fulfillment ID: {}"),
    32200: ("REQUEST", "Invalid line item id: {}"),
    32210: ("REQUEST", "Duplicate line item in the request"),
    32300: ("REQUEST", "Invalid shipment tracking number or carrier"),
    32500: ("REQUEST", "Invalid shipped date"),
    32600: ("REQUEST", "Invalid input data"),
    32800: ("REQUEST", "Invalid field group: {}"),
    34500: ("REQUEST", "Please use PUT operation for updating shipping fulfillment"),
}
# shippedDate: "ISO 8601 ... Format: [YYYY]-[MM]-[DD]T[hh]:[mm]:[ss].[sss]Z".
_SHIPPED_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$")
_ORDER_ID = re.compile(r"^\d+(-\d+)*$")
# How far ahead of the sandbox clock a shippedDate may be (clock difference
# between the seller's machine and eBay's; the sandbox's choice).
SHIPPED_DATE_SKEW = datetime.timedelta(minutes=5)


def fulfillment_error(error_id, *args, status=400, long_message=None):
    """A Sell Fulfillment error response for one of :data:`ERRORS`."""
    category, message = ERRORS[error_id]
    error = {
        "errorId": error_id,
        "domain": "API_FULFILLMENT",
        "category": category,
        "message": message.format(*args),
    }
    if long_message:
        error["longMessage"] = long_message
    return Response.json(status, {"errors": [error]})


# ------------------------------------------------------------------ API families


class EbayIdentity(Api):
    """``POST /identity/v1/oauth2/token``."""

    name = "ebay.identity"

    def authenticate(self, sandbox, request, operation):
        return "identity:" + (basic_client_id(request) or "")

    def error_body(self, status):
        if status >= 500:
            return {"error": "server_error", "error_description": "Internal error"}
        return {"error": "invalid_request", "error_description": f"HTTP {status}"}


class SellFulfillment(Api):
    """Behaviour common to ``/sell/fulfillment/v1`` operations."""

    name = "ebay.fulfillment"

    def authenticate(self, sandbox, request, operation):
        scheme, _, token = request.header("authorization").partition(" ")
        state, record = sandbox.state.tokens.check(
            token.strip() if scheme.lower() == "bearer" else "",
            "ebay",
            sandbox.clock.now(),
        )
        if state != "valid":
            # eBay answers an expired token like an unknown one.
            return Response.json(
                401,
                {
                    "errors": [
                        {
                            "errorId": 1001,
                            "domain": "OAuth",
                            "category": "REQUEST",
                            "message": "Invalid access token",
                            "longMessage": "Invalid access token. Check the value of "
                            "the Authorization HTTP request header.",
                        }
                    ]
                },
            )
        # OAS security: createShippingFulfillment needs sell.fulfillment; the
        # reads list sell.fulfillment and sell.fulfillment.readonly.
        needed = {SCOPE_FULFILLMENT}
        if operation not in WRITE_OPERATIONS:
            needed.add(SCOPE_FULFILLMENT_READ)
        if record.scopes is not None and not needed & record.scopes:
            return Response.json(
                403,
                {
                    "errors": [
                        {
                            "errorId": 1100,
                            "domain": "ACCESS",
                            "category": "REQUEST",
                            "message": "Access denied",
                            "longMessage": (
                                "Insufficient permissions to fulfill the request."
                            ),
                        }
                    ]
                },
            )
        return record.identity

    def throttled(self, sandbox, request, operation):
        return Response.json(
            429,
            {
                "errors": [
                    {
                        "errorId": 2001,
                        "domain": "ACCESS",
                        "category": "REQUEST",
                        "message": "Too many requests",
                        "longMessage": (
                            "The request limit has been reached for the resource."
                        ),
                    }
                ]
            },
        )

    def error_body(self, status):
        if status >= 500:
            return {
                "errors": [
                    {
                        "errorId": 30500,
                        "domain": "API_FULFILLMENT",
                        "category": "APPLICATION",
                        "message": "System error",
                    }
                ]
            }
        return {
            "errors": [
                {
                    "errorId": 2004,
                    "domain": "ACCESS",
                    "category": "REQUEST",
                    "message": "Invalid request",
                }
            ]
        }

    def rest_error(self, sandbox, request, operation, error):
        error = dict(error)
        status = error.pop("status", 500)
        error_id = int(error.get("errorId", 30500))
        category, message = ERRORS.get(error_id, ("REQUEST", "Error"))
        body = {
            "errorId": error_id,
            "domain": error.pop("domain", "API_FULFILLMENT"),
            "category": error.pop("category", category),
            "message": error.pop("message", message.format("")),
        }
        body.update(error)
        return Response.json(status, {"errors": [body]})


# ----------------------------------------------------------------------- token


def basic_client_id(request):
    """The client id of an ``Authorization: Basic`` header with a non-empty
    id and secret, or None."""
    scheme, _, credentials = request.header("authorization").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, _, client_secret = decoded.partition(":")
    return client_id if client_id and client_secret else None


def _oauth_error(error, description, status=400):
    return Response.json(status, {"error": error, "error_description": description})


def ebay_token(sandbox, request, params):
    """Refresh-token grant: a User access token for the same consent.

    "an access token that contains the same authorization properties as the
    original" (eBay, Refreshing a User access token): each refresh token has
    a consent (:meth:`SandboxServer.set_ebay_consent`; default: every scope
    the sandbox knows). Without ``scope`` the token gets the whole consent;
    with ``scope`` exactly those, and asking for one outside the consent is
    400 ``invalid_scope`` (RFC 6749 §6: the requested scope "MUST NOT
    include any scope not originally granted").
    """
    client_id = basic_client_id(request)
    if client_id is None:
        return _oauth_error("invalid_client", "client authentication failed", 401)
    if request.media_type != "application/x-www-form-urlencoded":
        return _oauth_error(
            "invalid_request", "request is missing a required parameter or malformed."
        )
    try:
        form = request.form()
    except BodyError:
        return _oauth_error("invalid_request", "request body cannot be decoded.")
    if form.get("grant_type") != "refresh_token":
        if not form.get("grant_type"):
            return _oauth_error("invalid_request", "grant_type is required.")
        return _oauth_error(
            "unsupported_grant_type",
            "grant type in request is not supported by the authorization server",
        )
    refresh_token = form.get("refresh_token", "")
    if not refresh_token:
        return _oauth_error("invalid_request", "refresh_token is required.")
    if refresh_token in sandbox.state.tokens.revoked:
        # eBay's answer, word for word (KB 5218, "Why is the seller OAuth
        # refresh token invalidated unexpectedly?"): HTTP 400.
        return _oauth_error(
            "invalid_grant",
            "the provided authorization grant code is invalid or was issued to "
            "another client",
        )
    consent = sandbox.state.tokens.consent(refresh_token)
    scopes = consent
    if form.get("scope", "").strip():
        scopes = frozenset(form["scope"].split())
        if not scopes <= consent:
            return _oauth_error(
                "invalid_scope",
                "The requested scope is invalid, unknown, malformed, or exceeds the "
                "scope granted to the client",
            )
    ttl = sandbox.token_ttl("ebay")
    token = sandbox.state.tokens.issue(
        "ebay",
        identity=f"ebay:{client_id}:{refresh_token}",
        grant=refresh_token,
        ttl=ttl,
        now=sandbox.clock.now(),
        scopes=scopes,
    )
    return Response.json(
        200,
        {
            "access_token": token,
            "expires_in": int(ttl),
            "token_type": "User Access Token",
        },
    )


# ---------------------------------------------------------------------- views


def fulfillment_href(sandbox, order_id, fulfillment_id):
    return (
        f"{sandbox.url}/sell/fulfillment/v1/order/{order_id}"
        f"/shipping_fulfillment/{fulfillment_id}"
    )


def order_view(sandbox, order):
    """An ``Order`` of the OAS with the fields the addon reads."""
    return {
        "orderId": order.order_id,
        "creationDate": iso_millis(order.created_time),
        "lastModifiedDate": iso_millis(order.last_modified_time),
        "orderFulfillmentStatus": order.fulfillment_status,
        "orderPaymentStatus": (
            "FULLY_REFUNDED"
            if order.refunded
            else "PAID"
            if order.paid_time
            else "PENDING"
        ),
        "sellerId": "sandbox_seller",
        # "always returned ... NONE_REQUESTED if no cancel request" (OAS)
        "cancelStatus": _cancel_status(order),
        "fulfillmentHrefs": [
            fulfillment_href(sandbox, order.order_id, fid) for fid in order.fulfillments
        ],
        "buyer": {"username": order.buyer},
        "lineItems": [_line_view(order, line) for line in order.lines.values()],
    }


def _cancel_status(order):
    """``CancelStatus``: cancelState "always returned ... NONE_REQUESTED if
    there are no cancellation requests" (OAS), cancelledDate "the date and
    time the order was cancelled, if applicable"."""
    status = {"cancelState": order.cancel_state, "cancelRequests": []}
    if order.cancelled_time:
        status["cancelledDate"] = iso_millis(order.cancelled_time)
    return status


def _line_view(order, line):
    """A ``LineItem``: the REST lineItemId and the legacy ids a client needs
    to find the line in Trading (legacyItemId; legacyVariationId "only
    returned if the line item purchased was from a multiple-variation
    listing", OAS LineItem)."""
    view = {"lineItemId": line.line_item_id, "legacyItemId": line.item_id}
    if line.variation_id:
        view["legacyVariationId"] = line.variation_id
    view.update(
        {
            "sku": line.sku,
            "title": line.title,
            "quantity": line.quantity,
            "lineItemFulfillmentStatus": order.line_status(line),
        }
    )
    return view


def fulfillment_view(fulfillment):
    """A ``ShippingFulfillment`` of the OAS."""
    view = {
        "fulfillmentId": fulfillment.fulfillment_id,
        "lineItems": [
            {"lineItemId": line_id, "quantity": quantity}
            for line_id, quantity in fulfillment.line_items
        ],
        "shippedDate": iso_millis(fulfillment.shipped_date),
    }
    if fulfillment.tracking_number:
        view["shipmentTrackingNumber"] = fulfillment.tracking_number
        view["shippingCarrierCode"] = fulfillment.carrier_code
    return view


# ---------------------------------------------------------------- read orders


def get_order(sandbox, request, params):
    """``GET /order/{orderId}``."""
    field_groups = request.query_one("fieldGroups")
    if field_groups not in (None, "TAX_BREAKDOWN"):
        return fulfillment_error(32800, field_groups)
    order_id = params["orderId"]
    if not _ORDER_ID.match(order_id):
        return fulfillment_error(32100, order_id)
    order = sandbox.state.ebay_orders.get(order_id)
    if order is None:
        return fulfillment_error(32100, order_id, status=404)
    return Response.json(200, order_view(sandbox, order))


def get_orders(sandbox, request, params):
    """``GET /order``: by ``orderIds`` (at most 50; other parameters then
    ignored), or a page of the orders matching ``filter``, newest first."""
    field_groups = request.query_one("fieldGroups")
    if field_groups not in (None, "TAX_BREAKDOWN"):
        return fulfillment_error(32800, field_groups)
    href = f"{sandbox.url}{request.path}"
    if request.query:
        href += "?" + urlencode(request.query, doseq=True)
    order_ids = request.query_values("orderIds")
    if order_ids:
        if len(order_ids) > 50:
            return fulfillment_error(30900)
        orders = [
            sandbox.state.ebay_orders[i]
            for i in order_ids
            if i in sandbox.state.ebay_orders
        ]
        # An unknown id fails nothing: it is left out of ``orders`` and
        # reported in ``warnings`` ("returned if one or more errors or
        # warnings occur", OrderSearchPagedCollection), with getOrder's
        # 32100 "Invalid order ID" (the OAS names no getOrders code for it).
        warnings = [
            _warning(32100, order_id)
            for order_id in dict.fromkeys(order_ids)
            if order_id not in sandbox.state.ebay_orders
        ]
        return _page(
            sandbox, href, orders, limit=50, offset=0, paged=False, warnings=warnings
        )
    limit, offset = request.query_one("limit", "50"), request.query_one("offset", "0")
    if not limit.isdigit() or not 1 <= int(limit) <= 200:
        return fulfillment_error(31100, limit)
    if not offset.isdigit():
        return fulfillment_error(31000, offset)
    selected = _filtered_orders(sandbox, request.query_one("filter", ""))
    if isinstance(selected, Response):
        return selected
    return _page(sandbox, href, selected, limit=int(limit), offset=int(offset))


def _warning(error_id, *args):
    """One ``Error`` of :data:`ERRORS` as a ``warnings`` entry."""
    category, message = ERRORS[error_id]
    warning = {
        "errorId": error_id,
        "domain": "API_FULFILLMENT",
        "category": category,
        "message": message.format(*args),
    }
    if args:
        warning["parameters"] = [{"name": "orderId", "value": str(args[0])}]
    return warning


def _page(sandbox, href, orders, *, limit, offset, paged=True, warnings=()):
    page = orders[offset : offset + limit] if paged else orders
    collection = {
        "href": href,
        "total": len(orders),
        "limit": limit,
        "offset": offset,
        "orders": [order_view(sandbox, order) for order in page],
    }
    base = href.split("?")[0]
    if paged and offset + limit < len(orders):
        collection["next"] = f"{base}?limit={limit}&offset={offset + limit}"
    if paged and offset > 0:
        collection["prev"] = f"{base}?limit={limit}&offset={max(0, offset - limit)}"
    if warnings:
        collection["warnings"] = list(warnings)
    return Response.json(200, collection)


def _filtered_orders(sandbox, text):
    """Orders matching a getOrders ``filter``, newest first, or an error.

    Without a date criterion, "this call returns all orders created within
    the last 90 days" (OAS); creationdate wins over lastmodifieddate.
    """
    now = sandbox.clock.utcnow()
    criteria = {}
    for criterion in filter(None, text.split(",")):
        name, _, value = criterion.partition(":")
        if name not in ("creationdate", "lastmodifieddate", "orderfulfillmentstatus"):
            return fulfillment_error(30700, name)
        criteria[name] = value
    statuses = None
    if "orderfulfillmentstatus" in criteria:
        value = criteria["orderfulfillmentstatus"]
        statuses = set(value.strip("{}").split("|"))
        # "only the combinations shown here are currently supported" (OAS)
        if statuses not in (
            {"NOT_STARTED", "IN_PROGRESS"},
            {"FULFILLED", "IN_PROGRESS"},
        ):
            return fulfillment_error(
                30800, f"{value} for filter orderfulfillmentstatus"
            )
    field = "creationdate" if "creationdate" in criteria else "lastmodifieddate"
    if field in criteria:
        window = _date_range(criteria[field])
        if isinstance(window, Response):
            return window
    else:
        field, window = "creationdate", (now - datetime.timedelta(days=90), None)
    start, end = window
    selected = []
    for order in sandbox.state.ebay_orders.values():
        moment = (
            order.created_time if field == "creationdate" else order.last_modified_time
        )
        if moment < start or (end is not None and moment > end):
            continue
        if statuses is not None and order.fulfillment_status not in statuses:
            continue
        selected.append(order)
    return sorted(selected, key=lambda order: order.created_time, reverse=True)


def _date_range(value):
    """(start, end or None) from ``[start..end]`` / ``[start..]``, or an error."""
    match = re.fullmatch(r"\[(.*)\.\.(.*)\]", value)
    if not match:
        return fulfillment_error(30810)
    if not match[1]:
        return fulfillment_error(30820)
    start = parse_datetime(match[1])
    end = parse_datetime(match[2]) if match[2] else None
    if start is None or (match[2] and end is None):
        return fulfillment_error(30810)
    return start, end


# ------------------------------------------------------------ fulfillments


class Refused(Exception):
    """A request the operation turns down; carries the error Response."""

    def __init__(self, response):
        super().__init__(response.status)
        self.response = response


def create_shipping_fulfillment(sandbox, request, params):
    """``POST /order/{orderId}/shipping_fulfillment``: one package.

    Guarantees: 201 only when the fulfillment was recorded; its id is the
    tracking number when one is given (OAS: "FULFILLMENTID ... for example,
    9405509699937003457459"), else a generated number. A tracking number the
    order already has (whoever recorded it) is 400 / 34500, nothing created.
    """
    order = sandbox.state.ebay_orders.get(params["orderId"])
    if order is None:
        return fulfillment_error(32100, params["orderId"])
    try:
        payload = _json_object(request)
        lines = _requested_lines(order, payload.get("lineItems"))
        shipped = _shipped_date(sandbox, order, payload.get("shippedDate"))
        carrier, tracking = _carrier_and_tracking(payload)
        _check_quantities(order, lines)
    except Refused as refusal:
        return refusal.response
    if tracking and order.fulfillment_with_tracking(tracking) is not None:
        # The order already has a package with this number (from REST or
        # Trading): 34500 "Please use PUT operation for updating shipping
        # fulfillment". The OAS lists 34500 among the errors of the 400
        # response (its 409 Conflict has no errorId), so 400 it is.
        return fulfillment_error(34500)
    fulfillment_id = tracking or _next_fulfillment_id(sandbox, order)
    if fulfillment_id in order.fulfillments:
        # Only an untracked package can hold this id (the tracking check above
        # ran): a tracked package's id must be its number (OAS), so the
        # untracked one moves to a fresh arbitrary id.
        moved = order.fulfillments.pop(fulfillment_id)
        moved.fulfillment_id = _next_fulfillment_id(sandbox, order)
        order.fulfillments[moved.fulfillment_id] = moved
    _record_fulfillment(
        sandbox,
        order,
        EbayFulfillment(
            fulfillment_id=fulfillment_id,
            tracking_number=tracking,
            carrier_code=carrier,
            shipped_date=shipped,
            line_items=lines,
            source="rest",
        ),
    )
    location = fulfillment_href(sandbox, order.order_id, fulfillment_id)
    return Response.empty(201, {"Location": location})


def _json_object(request):
    if request.media_type != "application/json":  # header "required" in the OAS
        raise Refused(
            Response.json(
                415,
                {
                    "errors": [
                        {
                            "errorId": 2004,
                            "domain": "ACCESS",
                            "category": "REQUEST",
                            "message": "Invalid request",
                            "longMessage": "Content-Type must be application/json.",
                        }
                    ]
                },
            )
        )
    try:
        payload = request.json()
    except BodyError:
        raise Refused(fulfillment_error(32600)) from None
    if not isinstance(payload, dict):
        raise Refused(fulfillment_error(32600))
    return payload


def _requested_lines(order, line_items):
    """[(lineItemId, quantity)] from the request body."""
    if not isinstance(line_items, list) or not line_items:
        raise Refused(fulfillment_error(32600, long_message="lineItems is required."))
    lines = []
    for entry in line_items:
        line_id = entry.get("lineItemId") if isinstance(entry, dict) else None
        if not isinstance(line_id, str) or line_id not in order.lines:
            raise Refused(fulfillment_error(32200, line_id))
        if any(line_id == seen for seen, _ in lines):
            raise Refused(fulfillment_error(32210))
        quantity = entry.get("quantity", 1)  # "Default: 1"
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            # "This must be a whole number greater than zero (0)."
            raise Refused(
                fulfillment_error(
                    32600, long_message="quantity must be greater than 0."
                )
            )
        lines.append((line_id, quantity))
    return lines


def _shipped_date(sandbox, order, value):
    """The shipped date; now when the body has none.

    32500 "Invalid shipped date" (createShippingFulfillment's 400 errors in
    the OAS) for one that is not in the documented format, lies in the
    future, or comes before the order was created: shippedDate is "the
    actual date and time that the fulfillment package was shipped"
    (ShippingFulfillmentDetails), which is neither. eBay does not publish its
    bounds; the sandbox allows :data:`SHIPPED_DATE_SKEW` of clock difference
    ahead and compares the creation time to the second (Odoo stores seconds).
    """
    now = sandbox.clock.utcnow()
    if value is None:
        return now
    if not isinstance(value, str) or not _SHIPPED_DATE.match(value):
        raise Refused(fulfillment_error(32500))
    shipped = parse_datetime(value)
    if shipped > now + SHIPPED_DATE_SKEW:
        raise Refused(
            fulfillment_error(
                32500,
                long_message=f"The shipped date {value} is in the future.",
            )
        )
    if shipped < order.created_time.replace(microsecond=0):
        raise Refused(
            fulfillment_error(
                32500,
                long_message=f"The shipped date {value} is before the order was "
                f"created ({iso_millis(order.created_time)}).",
            )
        )
    return shipped


def _carrier_and_tracking(payload):
    carrier = payload.get("shippingCarrierCode") or ""
    tracking = payload.get("trackingNumber") or ""
    if not isinstance(carrier, str) or not isinstance(tracking, str):
        raise Refused(fulfillment_error(32300))
    if bool(carrier) != bool(tracking):
        # "This field and the shippingCarrierCode field are mutually
        # dependent" (OAS trackingNumber).
        raise Refused(
            fulfillment_error(
                32300,
                long_message="trackingNumber and shippingCarrierCode go together.",
            )
        )
    if carrier and carrier not in EBAY_CARRIER_CODES:
        # Not a ShippingCarrierDetails code (OAS shippingCarrierCode; carriers.py)
        raise Refused(
            fulfillment_error(
                32300,
                long_message=f"The shipping carrier code {carrier!r} is not valid.",
            )
        )
    if tracking and not re.fullmatch(r"[0-9A-Za-z]+", tracking):
        # "Only alphanumeric characters are supported for shipment tracking
        # numbers. Spaces, hyphens, and all other special characters are not
        # supported" (OAS trackingNumber): control characters included.
        raise Refused(
            fulfillment_error(
                32300,
                long_message="The tracking number may contain only letters and digits.",
            )
        )
    if tracking and tracking_number_problem(tracking):
        raise Refused(
            fulfillment_error(
                32300,
                long_message=f"The tracking number is longer than "
                f"{MAX_TRACKING_NUMBER} characters.",
            )
        )
    return carrier, tracking


def _check_quantities(order, lines):
    """A line cannot ship more units, over all packages, than were bought."""
    for line_id, quantity in lines:
        line = order.lines[line_id]
        if order.assigned_quantity(line_id) + quantity > line.quantity:
            raise Refused(
                fulfillment_error(
                    32600,
                    long_message=f"Quantity for line item {line_id} exceeds the "
                    f"{line.quantity} purchased.",
                )
            )


def _next_fulfillment_id(sandbox, order):
    """An arbitrary id for a package without tracking ("an arbitrary number
    such as 999", OAS trackingNumber), unused on the order."""
    while True:
        number = str(sandbox.state.next_fulfillment_id)
        sandbox.state.next_fulfillment_id += 1
        if number not in order.fulfillments:
            return number


def _record_fulfillment(sandbox, order, fulfillment):
    """Store the package; its lines count as shipped from now on."""
    order.fulfillments[fulfillment.fulfillment_id] = fulfillment
    for line_id, _quantity in fulfillment.line_items:
        line = order.lines[line_id]
        line.shipped_time = line.shipped_time or fulfillment.shipped_date
    order.last_modified_time = sandbox.clock.utcnow()


def get_shipping_fulfillments(sandbox, request, params):
    """``GET /order/{orderId}/shipping_fulfillment``."""
    order = sandbox.state.ebay_orders.get(params["orderId"])
    if order is None:
        return fulfillment_error(32100, params["orderId"])
    fulfillments = [fulfillment_view(f) for f in order.fulfillments.values()]
    return Response.json(
        200, {"fulfillments": fulfillments, "total": len(fulfillments)}
    )


def get_shipping_fulfillment(sandbox, request, params):
    """``GET /order/{orderId}/shipping_fulfillment/{fulfillmentId}``."""
    order = sandbox.state.ebay_orders.get(params["orderId"])
    if order is None:
        return fulfillment_error(32100, params["orderId"])
    fulfillment = order.fulfillments.get(params["fulfillmentId"])
    if fulfillment is None:
        return fulfillment_error(32110, params["fulfillmentId"], status=404)
    return Response.json(200, fulfillment_view(fulfillment))
