"""Amazon: Login with Amazon tokens and the SP-API operations the addon uses
(confirmShipment v0, getOrder and searchOrders 2026-01-01, getCatalogItem
2022-04-01).

Contracts: shared/specs/amazon/ordersV0.json, orders_2026-01-01.json,
catalogItems_2022-04-01.json. Behaviour beyond the models is cited inline
(see shared/notes/amazon-sp-api.md for the sources).

The SP-API operations answer for the region of the host they were called on
(``request.amazon_region``; :mod:`.regions`): orders of another region are
not found, marketplaces of another region are refused. carrierCode must be
one of :data:`.carriers.AMAZON_CARRIER_CODES`; the tracking number must pass
:func:`.wire.tracking_number_problem`. LWA is global.
"""

import dataclasses
import datetime
import re
import secrets
import uuid

from .api import Api, reason_phrase
from .carriers import AMAZON_CARRIER_CODES, AMAZON_OTHER
from .regions import MARKETPLACES, REGION_HOSTS, region_of
from .store import AMAZON_ORDER_ID, AmazonPackage
from .wire import (
    BodyError,
    Response,
    is_rfc3339,
    iso_seconds,
    parse_datetime,
    tracking_number_problem,
)

# 403 body for a bad or expired token, as the live API sends it (notes §6).
UNAUTHORIZED = {
    "code": "Unauthorized",
    "message": "Access to requested resource is denied.",
    "details": "The access token you provided is revoked, malformed or invalid.",
}
# 429 body seen in practice (selling-partner-api-models #418, #1176).
QUOTA_EXCEEDED = {
    "code": "QuotaExceeded",
    "message": "You exceeded your quota for the requested resource.",
    "details": "",
}
# The models' own description of a 400.
CANNOT_BE_PARSED = "Request has missing or invalid parameters and cannot be parsed."

# 403 of the SP-API gateway for marketplaces of another region, as Amazon's
# endpoint answered it (amzn/selling-partner-api-models#5126, 2026-02: a
# FE marketplace on the EU host).
MARKETPLACES_NOT_IN_REGION = {
    "code": "Unauthorized",
    "message": "Access to requested resource is denied.",
    "details": "The marketplaces you provided are not valid for region.",
}

ORDER_INCLUDED_DATA = (
    "BUYER", "RECIPIENT", "PROCEEDS", "EXPENSE", "PROMOTION", "CANCELLATION",
    "FULFILLMENT", "PACKAGES", "TAX", "PAYMENT", "FULFILLMENT_ORDERS",
)  # fmt: skip
FULFILLMENT_STATUSES = (
    "PENDING_AVAILABILITY", "PENDING", "UNSHIPPED", "PARTIALLY_SHIPPED",
    "SHIPPED", "CANCELLED", "UNFULFILLABLE",
)  # fmt: skip
FULFILLED_BY = ("MERCHANT", "AMAZON")
CATALOG_INCLUDED_DATA = (
    "attributes", "classifications", "dimensions", "identifiers", "images",
    "productTypes", "relationships", "salesRanks", "summaries", "vendorDetails",
)  # fmt: skip


def errors(code, message, details=None):
    """An SP-API ``ErrorList`` body."""
    error = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"errors": [error]}


def _bad_request(message, details=None, code="InvalidInput"):
    return Response.json(400, errors(code, message, details))


# ------------------------------------------------------------------ API families


class LoginWithAmazon(Api):
    """``POST /auth/o2/token`` on api.amazon.com."""

    name = "amazon.lwa"

    def authenticate(self, sandbox, request, operation):
        # Client credentials travel in the form; the handler checks them.
        try:
            return "lwa:" + request.form().get("client_id", "")
        except BodyError:
            return "lwa:"

    def error_body(self, status):
        if status >= 500:
            return {"error": "server_error", "error_description": "Internal error"}
        return {"error": "invalid_request", "error_description": f"HTTP {status}"}

    def finish(self, sandbox, request, operation, response):
        response.headers.setdefault("x-amzn-RequestId", str(uuid.uuid4()))
        return response


class SellingPartnerApi(Api):
    """Behaviour common to SP-API operations (auth header, error shapes,
    ``x-amzn-RequestId`` / ``x-amzn-RateLimit-Limit`` headers)."""

    name = "amazon.sp-api"

    def authenticate(self, sandbox, request, operation):
        state, record = sandbox.state.tokens.check(
            request.header("x-amz-access-token"), "amazon", sandbox.clock.now()
        )
        if state != "valid":
            # The same answer for a missing, unknown or expired token (notes §6).
            return Response.json(403, {"errors": [dict(UNAUTHORIZED)]})
        return record.identity

    def throttled(self, sandbox, request, operation):
        return Response.json(429, {"errors": [dict(QUOTA_EXCEEDED)]})

    def error_body(self, status):
        if status == 403:
            return {"errors": [dict(UNAUTHORIZED)]}
        if status == 429:
            return {"errors": [dict(QUOTA_EXCEEDED)]}
        if status == 503:
            return errors("ServiceUnavailable", "Service temporarily unavailable.")
        if status >= 500:
            return errors("InternalFailure", "We encountered an internal error.")
        phrase = reason_phrase(status)
        return errors(phrase.replace(" ", ""), phrase)

    def finish(self, sandbox, request, operation, response):
        response.headers.setdefault("x-amzn-RequestId", str(uuid.uuid4()))
        # "x-amzn-RateLimit-Limit ... for HTTP status codes 20x, 400 and 404
        # only" (Usage Plans and Rate Limits); the models declare the same.
        limit = sandbox.limiter.limit_for(operation)
        if limit and (200 <= response.status < 300 or response.status in (400, 404)):
            response.headers.setdefault("x-amzn-RateLimit-Limit", limit.header_value)
        return response


# ------------------------------------------------------------------------ LWA


def _oauth_error(error, description, status=400):
    return Response.json(status, {"error": error, "error_description": description})


def lwa_token(sandbox, request, params):
    """Exchange a refresh token for an access token (refresh_token grant).

    Any non-empty client credentials are accepted. Error texts follow LWA's
    ``"The request is missing a required parameter : name"`` style.
    """
    if request.media_type != "application/x-www-form-urlencoded":
        return _oauth_error(
            "invalid_request", "Content-Type must be application/x-www-form-urlencoded"
        )
    try:
        form = request.form()
    except BodyError:
        return _oauth_error("invalid_request", "The request body cannot be decoded")
    grant_type = form.get("grant_type", "")
    if grant_type and grant_type != "refresh_token":
        return _oauth_error(
            "unsupported_grant_type", "The authorization grant type is not supported"
        )
    for name in ("grant_type", "refresh_token", "client_id", "client_secret"):
        if not form.get(name):
            return _oauth_error(
                "invalid_request",
                f"The request is missing a required parameter : {name}",
            )
    refresh_token = form["refresh_token"]
    if refresh_token in sandbox.state.tokens.revoked:
        return _oauth_error(
            "invalid_grant",
            "The request has an invalid grant parameter : refresh_token",
        )
    ttl = sandbox.token_ttl("amazon")
    token = sandbox.state.tokens.issue(
        "amazon",
        identity=f"amazon:{form['client_id']}:{refresh_token}",
        grant=refresh_token,
        ttl=ttl,
        now=sandbox.clock.now(),
    )
    return Response.json(
        200,
        {
            "access_token": token,
            "refresh_token": refresh_token,
            "token_type": "bearer",
            "expires_in": int(ttl),
        },
    )


# ------------------------------------------------------------ confirmShipment

# The request schema of ordersV0.json (ConfirmShipmentRequest, PackageDetail,
# ConfirmShipmentOrderItem), reduced to what a validator needs.
_ORDER_ITEM = {
    "type": "object",
    "required": ["orderItemId", "quantity"],
    "properties": {
        "orderItemId": {"type": "string"},
        "quantity": {"type": "integer"},
        "transparencyCodes": {"type": "array", "items": {"type": "string"}},
    },
}
_PACKAGE_DETAIL = {
    "type": "object",
    "required": [
        "packageReferenceId",
        "carrierCode",
        "trackingNumber",
        "shipDate",
        "orderItems",
    ],
    "properties": {
        "packageReferenceId": {"type": "string"},
        "carrierCode": {"type": "string"},
        "carrierName": {"type": "string"},
        "shippingMethod": {"type": "string"},
        "trackingNumber": {"type": "string"},
        "shipDate": {"type": "string"},
        "shipFromSupplySourceId": {"type": "string"},
        "orderItems": {"type": "array", "items": _ORDER_ITEM},
    },
}
CONFIRM_SHIPMENT_REQUEST = {
    "type": "object",
    "required": ["marketplaceId", "packageDetail"],
    "properties": {
        "packageDetail": _PACKAGE_DETAIL,
        "codCollectionMethod": {"type": "string", "enum": ["DirectPayment"]},
        "marketplaceId": {"type": "string"},
    },
}

_JSON_TYPES = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def schema_problems(schema, value, path=""):
    """(kind, path) pairs where ``value`` breaks ``schema``; kind is "type",
    "missing" or "enum". Paths look like ``packageDetail.orderItems[0].quantity``."""
    if not _JSON_TYPES[schema["type"]](value):
        return [("type", path or "body")]
    if "enum" in schema and value not in schema["enum"]:
        return [("enum", path)]
    problems = []
    if schema["type"] == "object":
        for name in schema.get("required", ()):
            if name not in value or value[name] is None:
                problems.append(("missing", _join(path, name)))
        for name, sub in schema.get("properties", {}).items():
            if value.get(name) is not None:
                problems += schema_problems(sub, value[name], _join(path, name))
    elif schema["type"] == "array":
        for index, element in enumerate(value):
            problems += schema_problems(schema["items"], element, f"{path}[{index}]")
    return problems


def _join(path, name):
    return f"{path}.{name}" if path else name


def _schema_error(problems):
    """The 400 for the first class of schema problems found."""
    by_kind = {}
    for kind, path in problems:
        by_kind.setdefault(kind, []).append(path)
    if "type" in by_kind:
        # Verbatim from selling-partner-api-models #5094 (2026-01).
        return _bad_request(
            "The input you have submitted is not valid. Please check the fields "
            f"with invalid type [{', '.join(by_kind['type'])}]."
        )
    if "missing" in by_kind:
        return _bad_request(
            "The input you have submitted is not valid. Please check the missing "
            f"required fields [{', '.join(by_kind['missing'])}]."
        )
    return _bad_request(
        "The input you have submitted is not valid. Please check the fields with "
        f"invalid values [{', '.join(by_kind['enum'])}]."
    )


def _package_problem(detail):
    """A 400 for a PackageDetail that is well-typed but invalid, or None."""
    reference = detail["packageReferenceId"]
    if not re.fullmatch(r"\d+", reference) or int(reference) < 1:
        # Model: "Only positive numeric values are supported"; text from
        # jlevers/selling-partner-api #489.
        return _bad_request(
            "PackageReferenceId: is invalid, must be a positive numeric value."
        )
    if not is_rfc3339(detail["shipDate"]):
        # The model's static sandbox example for shipDate "02/21/2022" answers
        # exactly this body (code with a space, no details).
        return Response.json(400, errors("Invalid Input", "Invalid Input"))
    if tracking_number_problem(detail["trackingNumber"]):
        # Blank, control characters or over-long (wire.MAX_TRACKING_NUMBER).
        return _bad_request(
            "The input you have submitted is not valid. Please check the fields "
            "with invalid values [packageDetail.trackingNumber]."
        )
    if detail["carrierCode"] not in AMAZON_CARRIER_CODES:
        # "must match the options listed in Seller Central exactly"
        # (carriers.py); reported like the model's other invalid values.
        return _bad_request(
            "The input you have submitted is not valid. Please check the fields "
            "with invalid values [packageDetail.carrierCode]."
        )
    if detail["carrierCode"] == AMAZON_OTHER and not detail.get("carrierName"):
        # PackageDetail.carrierName: 'Required when carrierCode is "Other"'.
        return _bad_request(
            "The input you have submitted is not valid. carrierName is required "
            'when carrierCode is "Other".'
        )
    if not detail["orderItems"]:
        return _bad_request(
            "The input you have submitted is not valid. orderItems is empty."
        )
    for line in detail["orderItems"]:
        if line["quantity"] < 1:
            return _bad_request(
                "Quantity: is invalid, must be a positive integer value."
            )
    return None


def _order_problem(order, payload):
    """A 400 when the package does not fit the order, or None."""
    detail = payload["packageDetail"]
    if payload["marketplaceId"] != order.marketplace_id:
        # An order belongs to the marketplace it was placed on (getOrder
        # salesChannel.marketplaceId), even when the seller's account sells on
        # several marketplaces of the region (an Amazon.de account holding an
        # Amazon.fr order): ConfirmShipmentRequest.marketplaceId is "the
        # unobfuscated marketplace identifier" of that order. Amazon's text for
        # another one is not public; the refusal is its InvalidInput 400.
        return _bad_request(
            "The input you have submitted is not valid. Invalid marketplaceId "
            f"{payload['marketplaceId']!r} for this order."
        )
    if order.status != "UNSHIPPED":
        return _bad_request(
            f"Order {order.order_id} cannot be confirmed: its status is {order.status}."
        )
    in_package = {}
    for line in detail["orderItems"]:
        if line["orderItemId"] not in order.items:
            # Text from jlevers/selling-partner-api #528 and
            # selling-partner-api-models #492.
            return _bad_request(
                "OrderItemId is invalid, please obtain the value through the "
                "getOrderItems API or Manage Orders page"
            )
        in_package[line["orderItemId"]] = (
            in_package.get(line["orderItemId"], 0) + line["quantity"]
        )
    reference = detail["packageReferenceId"]
    for item_id, quantity in in_package.items():
        shipped = order.shipped_quantity(item_id, excluding_package=reference)
        ordered = order.items[item_id].quantity
        if shipped + quantity > ordered:
            return package_to_update_not_found()
    return None


# The live answer to a confirmation Amazon cannot apply because the order is
# already fulfilled by other packages (a new packageReferenceId on a shipped
# order): 400, message verbatim from selling-partner-api-models #5037
# (2025-11-11, the only public report; the reporter left the order id out of
# "order ()"). The error's code is not quoted there: InvalidInput, the code of
# every other confirmShipment 400 reported (#5094, #492, jlevers #489), with
# Amazon's own GeneralError / PackageToUpdateNotFound in the message.
PACKAGE_TO_UPDATE_NOT_FOUND = (
    "Failed to create package due to not finding a matching package or order "
    "already fulfilled.  ErrorMessage(errorCode=GeneralError, "
    "errorDescription=Unable to find package to update for order (), "
    "errorMetric=PackageToUpdateNotFound, packageIndex=null)"
)


def package_to_update_not_found():
    return _bad_request(PACKAGE_TO_UPDATE_NOT_FOUND)


def _region_problem(request, marketplace_id):
    """A 400 when the body's marketplaceId is not one this region's host
    serves (sellingpartnerapi-na for CA, US, MX, BR, ...: :mod:`.regions`).

    The gateway does not read the body, so the operation refuses it like any
    other invalid body field: 400 InvalidInput, the model's "missing or
    invalid parameters" (the text is the sandbox's)."""
    region = request.amazon_region
    if region_of(marketplace_id) is None:
        return _bad_request(
            "The input you have submitted is not valid. Invalid marketplaceId "
            f"{marketplace_id!r}."
        )
    if region_of(marketplace_id) != region:
        return _bad_request(
            f"The marketplaceId {marketplace_id} is not served by this region's "
            f"endpoint ({REGION_HOSTS[region]}); it belongs to the "
            f"{region_of(marketplace_id)} region "
            f"({REGION_HOSTS[region_of(marketplace_id)]})."
        )
    return None


def _regional_order(sandbox, request, order_id):
    """The order if it lives in the region of the host asked and belongs to
    the selling partner asking, else None: orders live in their
    marketplace's region ("the endpoint is for the same region as the
    selling partner", Developer Guide), and every call is scoped to the
    selling partner (an order another seller confirmed is not found)."""
    order = sandbox.state.amazon_orders.get(order_id)
    if order is None or region_of(order.marketplace_id) != request.amazon_region:
        return None
    if order.seller not in (None, request.identity):
        return None
    return order


def confirm_shipment(sandbox, request, params):
    """``POST /orders/v0/orders/{orderId}/shipmentConfirmation``.

    Guarantees: 204 only when the package was recorded; re-sending a known
    packageReferenceId replaces that package ("The other shipment details are
    edited upon successful submission", Confirm the shipment status).
    """
    order_id = params["orderId"]
    if not AMAZON_ORDER_ID.match(order_id):
        return _bad_request("Invalid Input", f"Invalid orderId {order_id!r}.")
    try:
        payload = request.json()
    except BodyError:
        return _bad_request(CANNOT_BE_PARSED)
    problems = schema_problems(CONFIRM_SHIPMENT_REQUEST, payload)
    if problems:
        return _schema_error(problems)
    problem = _package_problem(payload["packageDetail"]) or _region_problem(
        request, payload["marketplaceId"]
    )
    if problem:
        return problem
    order = _regional_order(sandbox, request, order_id)
    if order is None:
        return Response.json(
            404,
            errors(
                "NotFound",
                "The specified resource does not exist.",
                f"Order {order_id}",
            ),
        )
    problem = _order_problem(order, payload)
    if problem:
        return problem
    _record_package(sandbox, order, payload["packageDetail"])
    if order.seller is None:
        order.seller = request.identity
    return Response.empty(204)


def _record_package(sandbox, order, detail):
    now = sandbox.clock.utcnow()
    reference = detail["packageReferenceId"]
    previous = order.packages.get(reference)
    order.packages[reference] = AmazonPackage(
        package_reference_id=reference,
        carrier_code=detail["carrierCode"],
        carrier_name=detail.get("carrierName") or "",
        shipping_method=detail.get("shippingMethod") or "",
        tracking_number=detail["trackingNumber"],
        ship_date=parse_datetime(detail["shipDate"]),
        ship_from_supply_source_id=detail.get("shipFromSupplySourceId") or "",
        items=[
            {
                "order_item_id": line["orderItemId"],
                "quantity": line["quantity"],
                "transparency_codes": list(line.get("transparencyCodes") or []),
            }
            for line in detail["orderItems"]
        ],
        created_time=previous.created_time if previous else now,
    )
    order.last_updated_time = now


# ------------------------------------------------------------------- getOrder


def get_order(sandbox, request, params):
    """``GET /orders/2026-01-01/orders/{orderId}`` -> ``GetOrderResponse``.

    ``includedData`` is a Swagger 2.0 array without ``collectionFormat``, so
    it is comma-separated (csv is the default); repeated parameters are
    accepted too.
    """
    order_id = params["orderId"]
    included = request.query_values("includedData")
    unknown = [name for name in included if name not in ORDER_INCLUDED_DATA]
    if unknown:
        return _bad_request(
            "Invalid Input", f"Invalid includedData: {', '.join(unknown)}"
        )
    if not AMAZON_ORDER_ID.match(order_id):
        # Static sandbox example TEST_CASE_400 of the model.
        return Response.json(400, errors("InvalidInput", "Invalid Input"))
    order = _regional_order(sandbox, request, order_id)
    if order is None:
        return Response.json(
            404,
            errors(
                "NotFound",
                "The resource specified does not exist.",
                f"Order {order_id}",
            ),
        )
    return Response.json(200, {"order": order_view(order, set(included))})


def order_view(order, included):
    """An ``Order`` of the 2026-01-01 model with the requested datasets."""
    channel = {"channelName": "AMAZON", "marketplaceId": order.marketplace_id}
    if order.marketplace_id in MARKETPLACES:
        channel["marketplaceName"] = MARKETPLACES[order.marketplace_id][2]
    view = {
        "orderId": order.order_id,
        "createdTime": iso_seconds(order.created_time),
        "lastUpdatedTime": iso_seconds(order.last_updated_time),
        "salesChannel": channel,
    }
    if "FULFILLMENT" in included:
        view["fulfillment"] = {
            "fulfillmentStatus": order.fulfillment_status,
            "fulfilledBy": "MERCHANT",
        }
    view["orderItems"] = [
        _item_view(order, item, included) for item in order.items.values()
    ]
    if "PACKAGES" in included:
        view["packages"] = [
            _package_view(p, order.package_items_shown) for p in order.packages.values()
        ]
    return view


def _item_view(order, item, included):
    product = {"asin": item.asin, "title": item.title, "sellerSku": item.sku}
    view = {
        "orderItemId": item.order_item_id,
        "quantityOrdered": item.quantity,
        "product": {key: value for key, value in product.items() if value},
    }
    if "FULFILLMENT" in included:
        shipped = min(order.shipped_quantity(item.order_item_id), item.quantity)
        view["fulfillment"] = {
            "quantityFulfilled": shipped,
            "quantityUnfulfilled": item.quantity - shipped,
        }
    return view


def _package_view(package, with_items=True):
    """An ``OrderPackage``; only packageReferenceId is required, so
    ``packageItems`` is left out when the order's switch says so
    (``add_amazon_order(package_items=False)``)."""
    view = {
        "packageReferenceId": package.package_reference_id,
        "createdTime": iso_seconds(package.created_time),
        "packageStatus": {"status": "SHIPPED"},
        "carrier": package.carrier,
        "shipTime": iso_seconds(package.ship_date),
        "shippingService": package.shipping_method,
        "trackingNumber": package.tracking_number,
        "packageItems": [],
    }
    for line in package.items:
        item = {"orderItemId": line["order_item_id"], "quantity": line["quantity"]}
        if line["transparency_codes"]:
            item["transparencyCodes"] = list(line["transparency_codes"])
        view["packageItems"].append(item)
    if not view["shippingService"]:
        del view["shippingService"]
    if not with_items:
        del view["packageItems"]
    return view


# --------------------------------------------------------------- searchOrders

# searchOrders query parameters (orders_2026-01-01.json).
SEARCH_DATES = (
    "createdAfter",
    "createdBefore",
    "lastUpdatedAfter",
    "lastUpdatedBefore",
)
# "maxResultsPerPage ... must be between 1 and 100. Default: 100."
SEARCH_MAX_PAGE = 100
# marketplaceIds: "maxItems": 50.
SEARCH_MAX_MARKETPLACES = 50
# createdBefore / lastUpdatedBefore: "at least two minutes before the time
# of the request".
SEARCH_BEFORE_LAG = datetime.timedelta(minutes=2)
# Pagination: "The token will expire after 24 hours."
SEARCH_TOKEN_TTL = datetime.timedelta(hours=24)
# Pagination: "All other parameters must be provided with the same values
# ... with the exception of maxResultsPerPage and includedData".
SEARCH_FREE_ON_PAGES = ("maxResultsPerPage", "includedData", "paginationToken")


@dataclasses.dataclass
class SearchCursor:
    """Where a searchOrders result set stopped, behind its nextToken."""

    criteria: tuple  # the parameters that must come back unchanged
    after: tuple  # (sort time, orderId) of the last order returned
    expires_at: datetime.datetime


def search_orders(sandbox, request, params):
    """``GET /orders/2026-01-01/orders`` -> ``SearchOrdersResponse``.

    Exactly one of ``createdAfter`` / ``lastUpdatedAfter`` (RFC 3339
    date-times; the ``...Before`` bound of the other kind is refused, a
    ``...Before`` must not precede its ``...After`` and must be at least two
    minutes old), ``maxResultsPerPage`` 1..100, at most 50
    ``marketplaceIds`` of the host's region, known enum values, and a
    ``paginationToken`` this search issued (24 hours) with every other
    parameter unchanged but ``maxResultsPerPage`` and ``includedData``.
    Orders come oldest first by the searched time, then by orderId; an
    order's lastUpdatedTime moves when a package is confirmed.
    """
    problem, criteria = _search_criteria(sandbox, request)
    if problem:
        return problem
    size = request.query_one("maxResultsPerPage", str(SEARCH_MAX_PAGE))
    if not re.fullmatch(r"\d{1,3}", size) or not 1 <= int(size) <= SEARCH_MAX_PAGE:
        return _bad_request(
            CANNOT_BE_PARSED,
            f"maxResultsPerPage must be between 1 and {SEARCH_MAX_PAGE}.",
        )
    included = request.query_values("includedData")
    unknown = [name for name in included if name not in ORDER_INCLUDED_DATA]
    if unknown:
        return _bad_request(
            "Invalid Input", f"Invalid includedData: {', '.join(unknown)}"
        )
    after = None
    token = request.query_one("paginationToken")
    if token is not None:
        cursor = sandbox.state.amazon_search_cursors.get(token)
        if cursor is None or cursor.expires_at <= sandbox.clock.utcnow():
            return _bad_request(CANNOT_BE_PARSED, "Invalid paginationToken.")
        if cursor.criteria != criteria:
            return _bad_request(
                CANNOT_BE_PARSED,
                "paginationToken was issued for other search parameters.",
            )
        after = cursor.after
    field, matches = _search_matches(sandbox, request, dict(criteria))
    rows = sorted(
        (getattr(order, field), order.order_id, order)
        for order in sandbox.state.amazon_orders.values()
        if matches(order)
    )
    if after is not None:
        rows = [row for row in rows if row[:2] > after]
    page = rows[: int(size)]
    body = {"orders": [order_view(order, set(included)) for *_key, order in page]}
    if len(rows) > len(page):
        next_token = secrets.token_urlsafe(24)
        sandbox.state.amazon_search_cursors[next_token] = SearchCursor(
            criteria=criteria,
            after=page[-1][:2],
            expires_at=sandbox.clock.utcnow() + SEARCH_TOKEN_TTL,
        )
        body["pagination"] = {"nextToken": next_token}
    for name in ("lastUpdatedBefore", "createdBefore"):
        if dict(criteria).get(name):
            body[name] = dict(criteria)[name][0]
    return Response.json(200, body)


def _search_criteria(sandbox, request):
    """``(problem Response or None, criteria)``: the parameters that define
    the result set, checked, as a hashable tuple of (name, values)."""
    criteria = {}
    for name in request.query:
        if name not in SEARCH_FREE_ON_PAGES:
            criteria[name] = tuple(request.query_values(name))
    dates = {}
    for name in SEARCH_DATES:
        values = criteria.get(name, ())
        if len(values) > 1 or (name in criteria and not values):
            return _bad_request(CANNOT_BE_PARSED, f"Invalid {name}."), None
        if values:
            if not is_rfc3339(values[0]):
                return _bad_request(
                    CANNOT_BE_PARSED,
                    f"{name} must be a date-time in ISO 8601 format.",
                ), None
            dates[name] = parse_datetime(values[0])
    created = "createdAfter" in dates
    if created == ("lastUpdatedAfter" in dates):
        return _bad_request(
            CANNOT_BE_PARSED,
            "Exactly one of createdAfter and lastUpdatedAfter must be provided.",
        ), None
    kind, other = ("created", "lastUpdated") if created else ("lastUpdated", "created")
    if f"{other}Before" in dates:
        return _bad_request(
            CANNOT_BE_PARSED,
            f"{other}Before cannot be provided with {kind}After.",
        ), None
    before = dates.get(f"{kind}Before")
    if before is not None and (
        before < dates[f"{kind}After"]
        or before > sandbox.clock.utcnow() - SEARCH_BEFORE_LAG
    ):
        return _bad_request(
            CANNOT_BE_PARSED,
            f"{kind}Before must be equal to or after {kind}After and at least "
            "two minutes before the time of the request.",
        ), None
    for name, allowed in (
        ("fulfillmentStatuses", FULFILLMENT_STATUSES),
        ("fulfilledBy", FULFILLED_BY),
    ):
        wrong = [v for v in criteria.get(name, ()) if v not in allowed]
        if wrong:
            return _bad_request(
                CANNOT_BE_PARSED, f"Invalid {name}: {', '.join(wrong)}"
            ), None
    marketplaces = criteria.get("marketplaceIds", ())
    if len(marketplaces) > SEARCH_MAX_MARKETPLACES:
        return _bad_request(
            CANNOT_BE_PARSED,
            f"marketplaceIds takes at most {SEARCH_MAX_MARKETPLACES} values.",
        ), None
    unknown = [mk for mk in marketplaces if region_of(mk) is None]
    if unknown:
        return _bad_request(
            CANNOT_BE_PARSED, f"Invalid marketplaceIds: {', '.join(unknown)}"
        ), None
    if any(region_of(mk) != request.amazon_region for mk in marketplaces):
        # As getCatalogItem: the gateway refuses another region's
        # marketplaces (MARKETPLACES_NOT_IN_REGION).
        return Response.json(403, {"errors": [dict(MARKETPLACES_NOT_IN_REGION)]}), None
    return None, tuple(sorted(criteria.items()))


def _search_matches(sandbox, request, criteria):
    """``(sort field, predicate)`` of the orders a checked search selects."""
    created = "createdAfter" in criteria
    field = "created_time" if created else "last_updated_time"
    kind = "created" if created else "lastUpdated"
    start = parse_datetime(criteria[f"{kind}After"][0])
    end = criteria.get(f"{kind}Before")
    end = parse_datetime(end[0]) if end else None
    marketplaces = set(criteria.get("marketplaceIds", ()))
    statuses = set(criteria.get("fulfillmentStatuses", ()))
    fulfilled_by = set(criteria.get("fulfilledBy", ()))

    def matches(order):
        moment = getattr(order, field)
        return (
            region_of(order.marketplace_id) == request.amazon_region
            and moment >= start
            and (end is None or moment <= end)
            and (not marketplaces or order.marketplace_id in marketplaces)
            and (not statuses or order.fulfillment_status in statuses)
            # the requesting seller's orders only (AmazonOrder.seller)
            and order.seller in (None, request.identity)
            # Every sandbox order is merchant-fulfilled (order_view).
            and (not fulfilled_by or "MERCHANT" in fulfilled_by)
        )

    return field, matches


# ------------------------------------------------------------- getCatalogItem


def get_catalog_item(sandbox, request, params):
    """``GET /catalog/2022-04-01/items/{asin}`` -> ``Item``."""
    asin = params["asin"]
    if not asin:
        # Static sandbox example of the model: asin "" -> this exact body.
        return Response.json(400, errors("400", CANNOT_BE_PARSED))
    marketplaces = request.query_values("marketplaceIds")
    if not marketplaces:
        return _bad_request(
            CANNOT_BE_PARSED, "Missing required parameter: marketplaceIds"
        )
    elsewhere = [mk for mk in marketplaces if region_of(mk) != request.amazon_region]
    if elsewhere:
        # The gateway checks the query's marketplaces against the host's
        # region before the operation runs: 403 (see MARKETPLACES_NOT_IN_REGION).
        return Response.json(403, {"errors": [dict(MARKETPLACES_NOT_IN_REGION)]})
    included = request.query_values("includedData") or ["summaries"]  # model default
    unknown = [name for name in included if name not in CATALOG_INCLUDED_DATA]
    if unknown:
        return _bad_request(
            CANNOT_BE_PARSED, f"Invalid includedData: {', '.join(unknown)}"
        )
    entries = sandbox.state.catalog.get(asin, {})
    found = [(mk, entries[mk]) for mk in marketplaces if mk in entries]
    if not found:
        # Live wording and code (jlevers/selling-partner-api #451).
        return Response.json(
            404,
            errors(
                "NOT_FOUND",
                f"Requested item, {asin}, not found in marketplace(s) "
                f"{', '.join(marketplaces)}.",
            ),
        )
    item = {"asin": asin}
    for dataset in CATALOG_INCLUDED_DATA:
        if dataset in included:
            item[dataset] = _CATALOG_BUILDERS[dataset](sandbox, asin, found)
    return Response.json(200, item)


def image_link(sandbox, asin, variant, width, height):
    """A link to a PNG of that size served by the sandbox itself."""
    return f"{sandbox.url}/_sandbox/images/{asin}-{variant}-{width}x{height}.png"


def _attributes(sandbox, asin, found):
    attributes = {}

    def add(name, **value):
        attributes.setdefault(name, []).append(value)

    for marketplace, entry in found:
        if entry.title:
            add(
                "item_name",
                language_tag="en_US",
                value=entry.title,
                marketplace_id=marketplace,
            )
        if entry.brand:
            add(
                "brand",
                language_tag="en_US",
                value=entry.brand,
                marketplace_id=marketplace,
            )
        if entry.item_weight:
            value, unit = entry.item_weight
            add("item_weight", unit=unit, value=value, marketplace_id=marketplace)
        if entry.package_weight:
            value, unit = entry.package_weight
            add(
                "item_package_weight",
                unit=unit,
                value=value,
                marketplace_id=marketplace,
            )
    return attributes


def _dimensions(sandbox, asin, found):
    result = []
    for marketplace, entry in found:
        row = {"marketplaceId": marketplace}
        if entry.item_weight:
            row["item"] = {
                "weight": {"unit": entry.item_weight[1], "value": entry.item_weight[0]}
            }
        if entry.package_weight:
            value, unit = entry.package_weight
            row["package"] = {"weight": {"unit": unit, "value": value}}
        result.append(row)
    return result


def _identifiers(sandbox, asin, found):
    return [
        {
            "marketplaceId": marketplace,
            "identifiers": [
                {"identifierType": kind, "identifier": value}
                for kind, value in entry.identifiers
            ],
        }
        for marketplace, entry in found
    ]


def _images(sandbox, asin, found):
    return [
        {
            "marketplaceId": marketplace,
            "images": [
                {
                    "variant": variant,
                    "link": image_link(sandbox, asin, variant, width, height),
                    "height": height,
                    "width": width,
                }
                for variant, width, height in entry.images
            ],
        }
        for marketplace, entry in found
    ]


def _summaries(sandbox, asin, found):
    result = []
    for marketplace, entry in found:
        summary = {
            "marketplaceId": marketplace,
            "brand": entry.brand,
            "itemClassification": "BASE_PRODUCT",
            "itemName": entry.title,
            "manufacturer": entry.manufacturer,
            "modelNumber": entry.model_number,
        }
        result.append({key: value for key, value in summary.items() if value})
    return result


def _per_marketplace(**fields):
    def build(sandbox, asin, found):
        return [
            {"marketplaceId": marketplace, **fields} for marketplace, _entry in found
        ]

    return build


def _product_types(sandbox, asin, found):
    return [
        {"marketplaceId": marketplace, "productType": entry.product_type}
        for marketplace, entry in found
    ]


_CATALOG_BUILDERS = {
    "attributes": _attributes,
    "classifications": _per_marketplace(classifications=[]),
    "dimensions": _dimensions,
    "identifiers": _identifiers,
    "images": _images,
    "productTypes": _product_types,
    "relationships": _per_marketplace(relationships=[]),
    "salesRanks": _per_marketplace(classificationRanks=[], displayGroupRanks=[]),
    "summaries": _summaries,
    # "Vendor details are only available to vendors" (model); sellers get none.
    "vendorDetails": lambda sandbox, asin, found: [],
}
