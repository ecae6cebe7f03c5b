"""eBay Sell Fulfillment API (REST) client: shipping fulfillments and order
read-back.

Contract: ``shared/specs/ebay/sell_fulfillment_v1_oas3.json`` (v1.20.7).
Same OAuth user token as the Trading client, sent as ``Authorization:
Bearer``.
"""

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
    parse_retry_after,
)

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

# errorIds (shared/notes/ebay-api.md §2.2, §2.4): 1001 "Invalid access
# token"; 30500 "System error" (HTTP 500, retryable). Every other 4xx, e.g.
# the 32xxx/34xxx request errors of createShippingFulfillment, is a data
# error.
INVALID_TOKEN_ERROR_ID = 1001
SYSTEM_ERROR_ID = 30500
# Statuses the contract uses for refused data (400, 404, 409).
DATA_ERROR_STATUSES = (400, 404, 409)

# OrderFulfillmentStatus (sel:OrderFulfillmentStatus).
STATUS_LABELS = {
    "NOT_STARTED": "Not shipped",
    "IN_PROGRESS": "Partially shipped",
    "FULFILLED": "Shipped",
}
CANCELLED_STATE = "CANCELED"  # sel:CancelStateEnum


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

    def __init__(self, **kwargs):
        """Same arguments as :class:`~.ebay_oauth.EbayClient`."""
        super().__init__(**kwargs)
        self.fulfillment_url = self.api_base_url + BASE_PATH

    # -- operations --------------------------------------------------------

    def confirm_shipment(self, shipment):
        """One ``createShippingFulfillment`` per package (HTTP 201).

        Duplicate guard: the order's existing fulfillments are read first and
        a package whose (normalised) tracking number is already there is not
        sent again, so a retry after a crash never posts twice. Returns a
        :class:`~.base.ConfirmResult` whose ``duplicate`` is true when every
        package was already there and whose ``location`` lists the new
        fulfillments' URIs.
        """
        payloads = fulfillment_payloads(shipment)
        order_ref = shipment.order_ref
        known = {
            base.normalize_tracking(f.get("shipmentTrackingNumber"))
            for f in self._fulfillments(order_ref)
        }
        created, skipped = [], []
        for payload in payloads:
            key = base.normalize_tracking(payload["trackingNumber"])
            if key in known:
                _logger.info("eBay %s already has tracking %s", order_ref, key)
                skipped.append(payload["trackingNumber"])
                continue
            created.append(
                self._rest(
                    CREATE_SHIPPING_FULFILLMENT,
                    "POST",
                    _order_path(order_ref, "/shipping_fulfillment"),
                    parse=_location,
                    order_ref=order_ref,
                    json=payload,
                )
            )
            known.add(key)
        message = f"eBay accepted {len(created)} package(s) for {order_ref}"
        if skipped:
            message += f"; already there: {', '.join(skipped)}"
        return base.ConfirmResult(
            duplicate=not created,
            message=message,
            location=", ".join(loc for loc in created if loc),
        )

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

    def find_fulfillment(self, order_ref, tracking_number):
        """The order's ``ShippingFulfillment`` (eBay's JSON) carrying
        ``tracking_number`` (compared normalised), or ``None``."""
        wanted = base.normalize_tracking(tracking_number)
        for fulfillment in self._fulfillments(order_ref):
            found = base.normalize_tracking(fulfillment.get("shipmentTrackingNumber"))
            if wanted and found == wanted:
                return fulfillment
        return None

    def probe(self):
        """Health check: ``GET /order?limit=1``."""
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
    payloads = []
    for package in shipment.packages:
        number, _changed = rest_tracking_number(package.tracking_number)
        # shippingCarrierCode and trackingNumber are mutually dependent.
        if not number or not shipment.carrier_code:
            raise PermanentError("eBay needs both a carrier and a tracking number")
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
        packages=packages,
        line_status={
            str(line.get("lineItemId")): line.get("lineItemFulfillmentStatus") or ""
            for line in order.get("lineItems") or []
            if isinstance(line, dict) and line.get("lineItemId")
        },
    )


def _package_view(fulfillment):
    return base.PackageView(
        package_ref=str(fulfillment.get("fulfillmentId") or ""),
        carrier=fulfillment.get("shippingCarrierCode") or "",
        tracking_number=fulfillment.get("shipmentTrackingNumber") or "",
        ship_time=fulfillment.get("shippedDate") or "",
        items=[
            (str(line.get("lineItemId") or ""), line.get("quantity"))
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
    body = json_body(response)
    if not isinstance(body, dict):
        raise TransientError(
            "eBay sent an unreadable answer (expected JSON)",
            code="malformed",
            http_status=response.status_code,
        )
    return body


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
