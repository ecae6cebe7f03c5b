"""eBay Trading API (XML) client: ``CompleteSale`` and ``GetOrders``.

Wire format per eBay "Making a Trading API call" (see
``shared/notes/ebay-api.md`` §1): a POST of ``<{Call}Request>`` in the
``urn:ebay:apis:eBLBaseComponents`` namespace to ``/ws/api.dll``, the call
named again in ``X-EBAY-API-CALL-NAME``, the OAuth user token in
``X-EBAY-API-IAF-TOKEN`` (so no ``RequesterCredentials`` in the body).
Request documents are built with lxml, children in schema order.
"""

import dataclasses
import datetime
import re

from lxml import etree
from lxml.builder import ElementMaker

from . import base
from .ebay_oauth import API_SCOPE, EbayClient
from .errors import AuthError, PermanentError, RateLimitedError, TransientError
from .http import Operation, TokenRejectedError, error_for_unexpected_status
from .tokens import utcnow

NS = "urn:ebay:apis:eBLBaseComponents"
NSMAP = {"e": NS}
_E = ElementMaker(namespace=NS, nsmap={None: NS})
# Answers are data, never instructions: no entities, no network, no DTDs.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)

COMPLETE_SALE = Operation("CompleteSale", base.API_EBAY_TRADING)
GET_ORDERS = Operation("GetOrders", base.API_EBAY_TRADING)

# ErrorCode classes (shared/notes/ebay-api.md §1.3 table and §6.3). Any
# other SeverityCode=Error entry (ErrorClassification RequestError: 2, 37,
# 10012, ...) is a permanent data or setup error; ErrorClassification
# SystemError is transient whatever its code.
TRANSIENT_CODES = frozenset({"10007", "21916803"})  # "eBay is unreachable"
RATE_LIMIT_CODES = frozenset({"518"})  # call usage limit reached
# 930 token missing, 931 token invalid (KB 630: rarely transient, so one
# fresh token is worth it), 21916984 invalid / 21917053 expired IAF token.
TOKEN_CODES = frozenset({"930", "931", "21916984", "21917053"})  # refresh once
HARD_EXPIRED_CODES = frozenset({"932"})  # token revoked/expired: re-consent
# KB 5021: the tracking number is already used on an order of another buyer,
# or by another seller. A refusal: the number is wrong or belongs to someone
# else, and sending it again cannot succeed.
TRACKING_IN_USE_CODES = frozenset({"21916964"})
# "Tracking already uploaded" on a combined order: counted as accepted; the
# verify step then checks the number really is on this order.
DUPLICATE_CODES = frozenset({"21919089"})

# OrderLineItemID = ItemID-TransactionID (eBay KB 1971). CompleteSale names
# a line by it; a REST lineItemId there names no Trading line.
ORDER_LINE_ITEM_ID = re.compile(r"^\d+-\d+$")

# GetOrders: at most 100 OrderID in OrderIDArray, and 100 entries a page
# (Pagination.EntriesPerPage; the default is 25).
MAX_ORDER_IDS = 100
MAX_ENTRIES_PER_PAGE = 100
# Pages of one batch read followed at most: 100 OrderIDs fit one page of
# 100; more pages than that would be an answer gone wrong.
MAX_BATCH_PAGES = 5

# Reconciliation (changed_orders): GetOrders by ModTimeFrom / ModTimeTo in
# windows of at most 30 days (shared/notes/ebay-api.md §1.4), 100 orders a
# page, and at most this many pages a call (the rest on the next call).
MOD_TIME_WINDOW = datetime.timedelta(days=30)
MAX_CHANGED_PAGES = 50

ACCEPTED_ACKS = ("Success", "Warning")
# CancelStatusCodeType values meaning the cancellation went through.
CANCELLED_STATES = frozenset(
    {
        "CancelComplete",
        "CancelClosedForCommitment",
        "CancelClosedNoRefund",
        "CancelClosedUnknownRefund",
        "CancelClosedWithRefund",
    }
)


@dataclasses.dataclass(frozen=True)
class TradingError:
    """One ``Errors`` element of a Trading answer."""

    code: str
    severity: str
    classification: str
    short_message: str
    long_message: str

    @property
    def text(self):
        return self.long_message or self.short_message or "eBay error"


class EbayTradingClient(EbayClient):
    """One eBay seller account on the Trading API, authorized by OAuth.

    Every method raises one of :mod:`.errors` or returns its documented
    result; every HTTP exchange (token ones included) is journaled under
    :data:`~.base.API_EBAY_TRADING`.
    """

    #: CompleteSale and GetOrders need the base scope only; a seller who
    #: consented to Trading alone has no other (ebay_oauth).
    scopes = (API_SCOPE,)
    read_batch_size = MAX_ORDER_IDS

    def __init__(self, *, dev_id, **kwargs):
        """Same arguments as :class:`~.ebay_oauth.EbayClient`; the Trading
        API also needs the keyset's ``dev_id`` (X-EBAY-API-DEV-NAME)."""
        super().__init__(dev_id=dev_id, **kwargs)
        self.endpoint = self.api_base_url + "/ws/api.dll"

    # -- operations --------------------------------------------------------

    def confirm_shipment(self, shipment):
        """Mark the order (or its shipped lines) shipped with its tracking,
        one ``CompleteSale`` per document of :func:`complete_sale_requests`.

        Returns a :class:`~.base.ConfirmResult`; ``duplicate`` is true when
        eBay answered every call carrying tracking with "tracking already
        uploaded" (21919089).
        """
        requests = complete_sale_requests(shipment)
        results = [
            (
                self._trading(
                    COMPLETE_SALE, request, shipment.order_ref, complete_sale_result
                ),
                _carries_tracking(request),
            )
            for request in requests
        ]
        with_tracking = [result for result, tracked in results if tracked]
        return base.ConfirmResult(
            duplicate=bool(with_tracking) and all(r.duplicate for r in with_tracking),
            message="; ".join(r.message for r, _tracked in results if r.message),
        )

    def request_count(self, shipment):
        """How many ``CompleteSale`` requests :meth:`confirm_shipment` sends
        for ``shipment`` (fewer when it stops on an error; none when the
        data is refused before sending). Never raises."""
        return complete_sale_count(shipment)

    def send_delay(self, shipment=None):
        """Seconds before :meth:`confirm_shipment` could start without a
        pacing sleep (0.0: now). eBay meters Trading calls per day, not per
        second, so this is 0.0 unless eBay throttled ``CompleteSale`` with a
        Retry-After still running. Consumes nothing; never raises."""
        return self._pacing_delay(COMPLETE_SALE)

    def sends_within(self, seconds):
        """None: eBay meters Trading calls per day, not per second, so the
        time a send takes is its own (bounded by the account's timeout)."""
        return

    def read_order(self, order_ref):
        """eBay's view of the order (``GetOrders`` by ``OrderID``) as a
        :class:`~.base.OrderView`; PermanentError if eBay returns no such
        order."""
        # Read inside the exchange, so that "no such order" is journaled as
        # the permanent outcome it is.
        return self._trading(
            GET_ORDERS,
            get_orders_request(order_ids=[order_ref]),
            order_ref,
            lambda root: order_view(order_ref, _accepted(root)),
        )

    def read_orders(self, order_refs, since=None, backlog=0, coming=0):
        """eBay's view of several orders, ``{order_ref: OrderView}``: one
        ``GetOrders`` per 100 refs (``OrderIDArray``, 100 entries a page,
        following ``HasMoreOrders``), each order read as :meth:`read_order`
        reads it. Refs eBay does not return are absent (the engine reads
        them singly). ``since`` is not needed. Trading has no per-second
        limit, so nothing is held back; errors raise as for
        :meth:`read_order`, journaled without an order ref."""
        wanted = list(dict.fromkeys(str(ref) for ref in order_refs if ref))
        found = {}
        for start in range(0, len(wanted), MAX_ORDER_IDS):
            chunk = wanted[start : start + MAX_ORDER_IDS]
            for page in range(1, MAX_BATCH_PAGES + 1):
                request = get_orders_request(
                    order_ids=chunk,
                    entries_per_page=MAX_ENTRIES_PER_PAGE,
                    page_number=page,
                )
                root = self._trading(GET_ORDERS, request, "", _accepted)
                for ref in chunk:
                    order = _find_order(root, ref)
                    if order is not None and ref not in found:
                        found[ref] = _order_view(ref, order)
                if not _has_more(root, page) or all(r in found for r in chunk):
                    break
        return found

    def changed_orders(self, since, until=None, resume=""):
        """The seller's orders eBay modified within ``[since, until]``:
        ``GetOrders`` by ``ModTimeFrom`` / ``ModTimeTo`` (a window of at
        most 30 days: a longer one ends 30 days after ``since``), 100 a page
        from page ``resume`` (default 1), at most
        :data:`MAX_CHANGED_PAGES` pages a call. Trading is metered per day,
        not per second: nothing is held back."""
        since = _aware(since)
        until = base.window_end(
            min(_aware(until or _now()), since + MOD_TIME_WINDOW, _now())
        )
        if until <= since:
            return base.ChangedOrders([], since, since)
        page = int(resume) if str(resume or "").isdigit() and int(resume) > 0 else 1
        orders, pages = [], 0
        while pages < MAX_CHANGED_PAGES:
            request = get_orders_request(
                entries_per_page=MAX_ENTRIES_PER_PAGE,
                page_number=page,
                mod_time=(since, until),
            )
            root = self._trading(GET_ORDERS, request, "", _accepted)
            pages += 1
            orders.extend(
                _order_view(_text(order, "e:OrderID"), order)
                for order in root.iterfind("e:OrderArray/e:Order", NSMAP)
                if _text(order, "e:OrderID")
            )
            if not _has_more(root, page):
                return base.ChangedOrders(orders, since, until, pages=pages)
            page += 1
        return base.ChangedOrders(
            orders, since, until, complete=False, resume=str(page), pages=pages
        )

    def probe(self, api=None):
        """Health check: the smallest useful read (``GetOrders`` of the last
        day, one entry; ``api``, this client's own API key, is ignored).
        ``GeteBayOfficialTime`` was decommissioned in 2025."""
        request = get_orders_request(number_of_days=1, entries_per_page=1)
        self._trading(GET_ORDERS, request, "", _accepted)

    # -- plumbing ----------------------------------------------------------

    def _trading(self, operation, request, order_ref, interpret):
        """POST one Trading request; ``interpret(root)`` turns an answer that
        passed the HTTP and XML checks into the result."""
        body = etree.tostring(request, xml_declaration=True, encoding="utf-8")

        def parse(response):
            return interpret(trading_answer(response, operation.name))

        return self._authorized_call(
            operation,
            "POST",
            self.endpoint,
            headers_for=lambda token: self._headers(operation.name, token),
            parse=parse,
            order_ref=order_ref,
            data=body,
        )

    def _headers(self, call_name, access_token):
        return {
            "X-EBAY-API-CALL-NAME": call_name,
            "X-EBAY-API-SITEID": self.site_id,
            "X-EBAY-API-COMPATIBILITY-LEVEL": self.compatibility_level,
            "X-EBAY-API-IAF-TOKEN": access_token,
            "X-EBAY-API-APP-NAME": self.client_id,
            "X-EBAY-API-DEV-NAME": self.dev_id,
            "Content-Type": "text/xml",
        }


# --------------------------------------------------------------------------
# Requests (pure functions)
# --------------------------------------------------------------------------


def _request(call_name, *children):
    """``<{call_name}Request>`` with the AbstractRequestType fields first
    (an extension's base sequence precedes its own)."""
    return _E(
        f"{call_name}Request",
        _E.ErrorLanguage("en_US"),
        _E.WarningLevel("High"),
        *children,
    )


def _sent_by_order_id(shipment):
    """True when one CompleteSale by OrderID carries all the tracking.

    eBay applies tracking sent by OrderID to every line of the order (it
    then shows on every Transaction's ShippingDetails), so this is only
    right when this delivery completes the order, is its only delivery with
    marketplace lines, and is one package: then every line is in that
    package.
    """
    return (
        shipment.completes_order
        and shipment.sole_shipment
        and len(shipment.packages) == 1
    )


def _line_refs(shipment):
    """The shipment's line refs, each once, in order of appearance."""
    return list(
        dict.fromkeys(str(i.item_ref) for p in shipment.packages for i in p.items)
    )


def complete_sale_count(shipment):
    """The number of documents :func:`complete_sale_requests` gives for a
    valid ``shipment``, without validating it."""
    if _sent_by_order_id(shipment):
        return 1
    return len(_line_refs(shipment)) + (1 if shipment.completes_order else 0)


def complete_sale_requests(shipment):
    """The ``CompleteSaleRequest`` documents for ``shipment``, in sending
    order. Raises PermanentError, before anything is sent, for data eBay is
    documented to refuse.

    * Sole, order-completing, one-package shipment: one request by
      ``OrderID`` with the tracking (this also sets the order-level
      ShippedTime, KB 1640).
    * Otherwise one request per line item (``OrderLineItemID``, which must be
      ``ItemID-TransactionID``) with only the packages that hold that line;
      then, when the shipment completes the order, one request by
      ``OrderID`` with ``Shipped`` and a ``Shipment`` holding only
      ``ShippedTime``: the order is marked shipped (KB 1640) without its
      tracking being added to the other lines.
    """
    if not shipment.packages:
        raise PermanentError(f"Shipment for {shipment.order_ref} has no packages")
    for package in shipment.packages:
        # ShippingCarrierUsed and ShipmentTrackingNumber are mutually
        # dependent (ShipmentTrackingDetailsType).
        if not package.tracking_number or not shipment.carrier_code:
            raise PermanentError("eBay needs both a carrier and a tracking number")
    if _sent_by_order_id(shipment):
        return [complete_sale_request(shipment, shipment.packages)]
    line_refs = _line_refs(shipment)
    for package in shipment.packages:
        if not package.items:
            raise PermanentError(
                f"Package {package.tracking_number} of {shipment.order_ref} names "
                "no line item"
            )
    for ref in line_refs:
        if not ORDER_LINE_ITEM_ID.match(ref):
            raise PermanentError(
                f"eBay Trading names a line item by ItemID-TransactionID; "
                f"{ref!r} of order {shipment.order_ref} is not one (a REST "
                "lineItemId?)",
                code="OrderLineItemID",
            )
    requests = [
        complete_sale_request(
            shipment,
            [
                p
                for p in shipment.packages
                if any(str(i.item_ref) == ref for i in p.items)
            ],
            line_item_ref=ref,
        )
        for ref in line_refs
    ]
    if shipment.completes_order:
        requests.append(order_shipped_request(shipment))
    return requests


def complete_sale_request(shipment, packages, *, line_item_ref=""):
    """One ``CompleteSaleRequest``: ``Shipped``, then ``Shipment`` (ShippedTime,
    one ShipmentTrackingDetails per package), then ``OrderLineItemID`` when
    ``line_item_ref`` is given, else ``OrderID`` (CompleteSaleRequestType
    sequence, ebay-api.md §1.2)."""
    tracking = [
        _E.ShipmentTrackingDetails(
            _E.ShippingCarrierUsed(shipment.carrier_code),
            _E.ShipmentTrackingNumber(package.tracking_number),
            *_shipment_line_item(package, line_item_ref),
        )
        for package in packages
    ]
    target = (
        _E.OrderLineItemID(str(line_item_ref))
        if line_item_ref
        else _E.OrderID(shipment.order_ref)
    )
    return _request(
        "CompleteSale",
        _E.Shipped("true"),
        _E.Shipment(_E.ShippedTime(base.utc_iso(shipment.ship_date)), *tracking),
        target,
    )


def _shipment_line_item(package, line_item_ref):
    """``[ShipmentLineItem]`` saying how many units of line ``line_item_ref``
    (``ItemID-TransactionID``) ``package`` holds, or ``[]`` for a request by
    OrderID.

    ShipmentTrackingDetailsType ends with ``ShipmentLineItem`` [0..1]: one
    or more ``LineItem`` ([1..*]), each in LineItemType order ``Quantity``,
    ``CountryOfOrigin``, ``Description``, ``ItemID``, ``TransactionID``
    (ItemID and TransactionID required): "the package can contain multiple
    units of a given order line item" (eBay Trading reference,
    ShipmentLineItemType / LineItemType; JAXB LineItemType of WSDL 1131).
    Without it eBay only knows that the line shipped, not how much of it:
    a line shipped in part (2 of 3) would read as shipped in full.
    """
    if not line_item_ref:
        return []
    quantity = sum(
        int(item.quantity)
        for item in package.items
        if str(item.item_ref) == str(line_item_ref)
    )
    item_id, transaction_id = str(line_item_ref).split("-")
    return [
        _E.ShipmentLineItem(
            _E.LineItem(
                _E.Quantity(str(quantity)),
                _E.ItemID(item_id),
                _E.TransactionID(transaction_id),
            )
        )
    ]


def order_shipped_request(shipment):
    """``CompleteSaleRequest`` by ``OrderID`` marking the whole order shipped
    at the shipment's time, with no ``ShipmentTrackingDetails`` (those would
    go to every line of the order)."""
    return _request(
        "CompleteSale",
        _E.Shipped("true"),
        _E.Shipment(_E.ShippedTime(base.utc_iso(shipment.ship_date))),
        _E.OrderID(shipment.order_ref),
    )


def _carries_tracking(request):
    return request.find("e:Shipment/e:ShipmentTrackingDetails", NSMAP) is not None


def _now():
    return _aware(utcnow())


def _aware(value):
    """A datetime as aware UTC (naive = UTC, as Odoo stores them)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=datetime.UTC)
    return value.astimezone(datetime.UTC)


def get_orders_request(
    order_ids=(),
    number_of_days=None,
    entries_per_page=None,
    page_number=1,
    mod_time=None,
):
    """A ``GetOrdersRequest`` (GetOrdersRequestType sequence: OrderIDArray,
    …, Pagination, ModTimeFrom, ModTimeTo, NumberOfDays). ``mod_time``:
    ``(from, to)`` datetimes."""
    children = []
    if order_ids:
        children.append(_E.OrderIDArray(*(_E.OrderID(str(i)) for i in order_ids)))
    if entries_per_page:
        children.append(
            _E.Pagination(
                _E.EntriesPerPage(str(entries_per_page)),
                _E.PageNumber(str(page_number)),
            )
        )
    if mod_time:
        children.append(_E.ModTimeFrom(base.utc_iso(mod_time[0])))
        children.append(_E.ModTimeTo(base.utc_iso(mod_time[1])))
    if number_of_days:
        children.append(_E.NumberOfDays(str(number_of_days)))
    return _request("GetOrders", *children)


# --------------------------------------------------------------------------
# Answers (pure functions)
# --------------------------------------------------------------------------


def trading_answer(response, call_name):
    """The root of a well-formed Trading answer (``<…Response>`` in the
    eBL namespace, with an ``Ack``).

    HTTP 429 and 5xx, and any answer that is not such a document, raise; a
    well-formed error document is returned for the caller to classify (eBay
    reports most errors with HTTP 200 and ``Ack`` Failure).
    """
    status = response.status_code
    if status == 429 or status >= 500:
        raise error_for_unexpected_status("eBay", call_name, response)
    try:
        root = etree.fromstring(response.content, _PARSER)
    except etree.XMLSyntaxError:
        root = None
    if (
        root is None
        or not root.tag.startswith(f"{{{NS}}}")
        or not root.tag.endswith("Response")
        or not _text(root, "e:Ack")
    ):
        if 200 <= status < 300:
            raise TransientError(
                f"eBay sent an unreadable {call_name} answer",
                code="malformed",
                http_status=status,
            )
        raise error_for_unexpected_status("eBay", call_name, response)
    return root


def trading_errors(root):
    """The ``Errors`` of an answer, in document order."""
    return [
        TradingError(
            code=_text(error, "e:ErrorCode"),
            severity=_text(error, "e:SeverityCode"),
            classification=_text(error, "e:ErrorClassification"),
            short_message=_text(error, "e:ShortMessage"),
            long_message=_text(error, "e:LongMessage"),
        )
        for error in root.iterfind("e:Errors", NSMAP)
    ]


def trading_failure(errors):
    """The :mod:`.errors` exception a failed answer stands for, or ``None``
    when every error only says "tracking number already uploaded"
    (:data:`DUPLICATE_CODES`).

    Only ``SeverityCode`` Error entries count (warnings ride along with
    successes). Precedence: hard-expired token (re-consent), rejected token
    (refresh once), call limit, system error (transient), then data errors
    (permanent), among them :data:`TRACKING_IN_USE_CODES`.
    """
    failing = [e for e in errors if e.severity == "Error"] or list(errors)
    if not failing:
        return PermanentError("eBay reported a failure without an error message")
    codes = {e.code for e in failing}
    if codes & HARD_EXPIRED_CODES:
        error = _first(failing, HARD_EXPIRED_CODES)
        return AuthError(
            f"{error.text} The eBay authorization has expired or was revoked: "
            "re-authorize the eBay account.",
            code=error.code,
        )
    if codes & TOKEN_CODES:
        error = _first(failing, TOKEN_CODES)
        return TokenRejectedError(error.text, code=error.code)
    if codes & RATE_LIMIT_CODES:
        error = _first(failing, RATE_LIMIT_CODES)
        return RateLimitedError(error.text, code=error.code)
    transient = [
        e
        for e in failing
        if e.classification == "SystemError" or e.code in TRANSIENT_CODES
    ]
    if transient:
        return TransientError(transient[0].text, code=transient[0].code)
    permanent = [e for e in failing if e.code not in DUPLICATE_CODES]
    if not permanent:
        return None
    return PermanentError(
        "; ".join(_permanent_text(e) for e in permanent),
        code=",".join(e.code for e in permanent if e.code) or None,
    )


def _permanent_text(error):
    if error.code in TRACKING_IN_USE_CODES:
        return (
            f"{error.text} (the tracking number is already on an order of "
            "another buyer or another seller: check it)"
        )
    return error.text


def complete_sale_result(root):
    """The :class:`~.base.ConfirmResult` of a ``CompleteSaleResponse``."""
    ack = _text(root, "e:Ack")
    errors = trading_errors(root)
    if ack in ACCEPTED_ACKS:
        warnings = "; ".join(f"{e.text} ({e.code})" for e in errors)
        return base.ConfirmResult(message=warnings)
    failure = trading_failure(errors)
    if failure is not None:
        raise failure
    duplicates = ", ".join(sorted({e.code for e in errors}))
    return base.ConfirmResult(
        duplicate=True,
        message=f"eBay already has this tracking number ({duplicates})",
    )


def _accepted(root):
    """``root`` if its ``Ack`` is Success/Warning, else the failure raised."""
    if _text(root, "e:Ack") in ACCEPTED_ACKS:
        return root
    failure = trading_failure(trading_errors(root))
    raise failure or PermanentError("eBay refused the request")


def order_view(order_ref, root):
    """An :class:`~.base.OrderView` of ``order_ref`` from a GetOrders answer."""
    order = _find_order(root, order_ref)
    if order is None:
        raise PermanentError(
            f"eBay returned no order {order_ref} (order not found)",
            code="OrderNotFound",
        )
    return _order_view(order_ref, order)


def _has_more(root, page):
    """Whether a GetOrders answer says there is a page after ``page``."""
    if _text(root, "e:HasMoreOrders") != "true":
        return False
    pages = _text(root, "e:PaginationResult/e:TotalNumberOfPages")
    return not pages.isdigit() or page < int(pages)


def _order_view(order_ref, order):
    """An :class:`~.base.OrderView` from one ``Order`` element."""
    status = _text(order, "e:OrderStatus")
    checkout = _text(order, "e:CheckoutStatus/e:Status")
    cancelled = (
        status == "Cancelled" or _text(order, "e:CancelStatus") in CANCELLED_STATES
    )
    return base.OrderView(
        order_ref=_text(order, "e:OrderID") or order_ref,
        status=status,
        status_label=_status_label(status, checkout, cancelled),
        checkout_status=checkout,
        shipped_time=_text(order, "e:ShippedTime"),
        cancelled=cancelled,
        refunded=_refunded(order),
        last_updated=_text(order, "e:CheckoutStatus/e:LastModifiedTime"),
        packages=_packages(order),
        lines=[_order_line(t) for t in _transactions(order)],
    )


def _refunded(order):
    """Whether the buyer was refunded: a ``MonetaryDetails/Refunds/Refund``
    (RefundTransactionInfoType) whose RefundStatus
    (PaymentTransactionStatusCodeType) is Succeeded, or says none."""
    return any(
        _text(refund, "e:RefundStatus") in ("Succeeded", "")
        for refund in order.iterfind("e:MonetaryDetails/e:Refunds/e:Refund", NSMAP)
    )


def _find_order(root, order_ref):
    for order in root.iterfind("e:OrderArray/e:Order", NSMAP):
        if order_ref in (_text(order, "e:OrderID"), _text(order, "e:ExtendedOrderID")):
            return order
    return None


def _status_label(status, checkout, cancelled):
    # "Checkout Complete" is the wording sellers know for a paid order that
    # is ready for post-sale processing (KB 1788).
    if cancelled:
        return "Cancelled"
    if checkout == "Complete":
        return "Checkout Complete"
    if checkout:
        return f"Checkout {checkout}"
    return status


def _transactions(order):
    return order.iterfind("e:TransactionArray/e:Transaction", NSMAP)


def _line_ref(transaction):
    """The Trading id of a Transaction's line: ``ItemID-TransactionID``,
    which is what OrderLineItemID holds (KB 1971) and what CompleteSale is
    sent with; the OrderLineItemID text when the parts are missing."""
    item_id = _text(transaction, "e:Item/e:ItemID")
    transaction_id = _text(transaction, "e:TransactionID")
    if item_id and transaction_id:
        return f"{item_id}-{transaction_id}"
    return _text(transaction, "e:OrderLineItemID")


def _quantity(transaction):
    quantity = _text(transaction, "e:QuantityPurchased")
    return int(quantity) if quantity.isdigit() else None


def _order_line(transaction):
    """A :class:`~.base.OrderLine` from a Transaction (TransactionType).
    Trading reports no REST lineItemId and no variation id."""
    return base.OrderLine(
        order_line_item_id=_line_ref(transaction),
        item_id=_text(transaction, "e:Item/e:ItemID"),
        transaction_id=_text(transaction, "e:TransactionID"),
        # A variation's SKU is on Transaction/Variation, the listing's on
        # Item (TransactionType, VariationType).
        sku=_text(transaction, "e:Variation/e:SKU")
        or _text(transaction, "e:Item/e:SKU"),
        quantity=_quantity(transaction),
        title=_text(transaction, "e:Item/e:Title"),
    )


def _packages(order):
    """Tracking details of the order and of each of its line items, one
    :class:`~.base.PackageView` per distinct tracking number, with the lines
    whose ShippingDetails list it as ``(ItemID-TransactionID, quantity)``:
    the units the package's ``ShipmentLineItem`` names for the line where
    eBay returns one, else the line's QuantityPurchased. Tracking sent by
    OrderID shows up on every Transaction, so on every line."""
    packages = {}
    order_shipped = _text(order, "e:ShippedTime")
    for details in order.iterfind("e:ShippingDetails/e:ShipmentTrackingDetails", NSMAP):
        _add_package(packages, details, order_shipped, None)
    for transaction in _transactions(order):
        ref = _line_ref(transaction)
        shipped = _text(transaction, "e:ShippedTime") or order_shipped
        for details in transaction.iterfind(
            "e:ShippingDetails/e:ShipmentTrackingDetails", NSMAP
        ):
            quantity = _package_quantity(details, transaction)
            if quantity is None:
                quantity = _quantity(transaction)
            _add_package(packages, details, shipped, (ref, quantity))
    return list(packages.values())


def _package_quantity(details, transaction):
    """The units of ``transaction``'s line that a ShipmentTrackingDetails
    says its package holds (``ShipmentLineItem/LineItem/Quantity`` of the
    LineItem naming the line's ItemID and TransactionID), or None when it
    does not say."""
    item_id = _text(transaction, "e:Item/e:ItemID")
    transaction_id = _text(transaction, "e:TransactionID")
    for line in details.iterfind("e:ShipmentLineItem/e:LineItem", NSMAP):
        if (_text(line, "e:ItemID"), _text(line, "e:TransactionID")) == (
            item_id,
            transaction_id,
        ):
            quantity = _text(line, "e:Quantity")
            return int(quantity) if quantity.isdigit() else None
    return None


def _add_package(packages, details, ship_time, item):
    number = _text(details, "e:ShipmentTrackingNumber")
    if not number:
        return
    package = packages.setdefault(
        base.normalize_tracking(number),
        base.PackageView(
            carrier=_text(details, "e:ShippingCarrierUsed"),
            tracking_number=number,
            ship_time=ship_time,
        ),
    )
    if item is not None and item not in package.items:
        package.items.append(item)
    if not package.ship_time:
        package.ship_time = ship_time


def _first(errors, codes):
    return next(e for e in errors if e.code in codes)


def _text(element, path):
    return (element.findtext(path, default="", namespaces=NSMAP) or "").strip()
